/**
 * Health propagation, checked as Traefik checks it when it builds services
 * (`pkg/server/service/service.go`, `RegisterStatusUpdater`): a service made of
 * services follows its children's health only when it has `healthCheck`, and
 * then every child must report health, which only a loadBalancer with
 * `healthCheck` or a service made of services with `healthCheck` does. A
 * failover always follows its main service (unless `errors.status` decides
 * instead), and its fallback when it has `healthCheck`. Traefik refuses the
 * service otherwise; so does Gatehouse, at compile time so `check` says it.
 */
import type { RuntimeService, Snapshot } from '../runtime.js';
import { providerOf, qualify } from './qualify.js';
import type { RefNode } from './resolve.js';
import type { StatusBook } from './status.js';

const KEY: Partial<Record<RuntimeService['type'], string>> = {
  loadbalancer: 'loadBalancer',
  weighted: 'weighted',
  highestrandomweight: 'highestRandomWeight',
  mirroring: 'mirroring',
  failover: 'failover',
};

function kindConfig(s: RuntimeService): Record<string, unknown> | undefined {
  const key = KEY[s.type];
  const v = key === undefined ? undefined : (s.config as Record<string, unknown>)[key];
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}

/** Whether a parent may follow this service's health. */
export function reportsHealth(s: RuntimeService): boolean {
  return kindConfig(s)?.healthCheck !== undefined;
}

function why(child: RuntimeService): string {
  return child.type === 'loadbalancer'
    ? 'give it a healthCheck'
    : child.type === 'internal'
      ? 'an internal service reports none'
      : 'give it healthCheck: {}';
}

export function checkHealthPropagation(snap: Snapshot, nodes: readonly RefNode[], book: StatusBook): void {
  for (const node of nodes) {
    if (node.label !== 'service') continue;
    const svc = node.item as RuntimeService;
    const cfg = kindConfig(svc);
    if (cfg === undefined) continue;
    const follows = cfg.healthCheck !== undefined;
    const errorsDecide =
      svc.type === 'failover' && Array.isArray((cfg.errors as { status?: unknown } | undefined)?.status)
        ? (cfg.errors as { status: unknown[] }).status.length > 0
        : false;
    for (const ref of node.declared) {
      if (ref.kind !== 'service') continue;
      const isMain = svc.type === 'failover' && ref.field === 'failover.service';
      const isFallback = svc.type === 'failover' && ref.field === 'failover.fallback';
      const mustReport =
        (follows && (svc.type === 'weighted' || svc.type === 'highestrandomweight')) ||
        (isMain && !errorsDecide) ||
        (isFallback && follows);
      if (!mustReport) continue;
      const child = snap.services[qualify(ref.name, providerOf(svc.name))];
      if (child === undefined || reportsHealth(child)) continue;
      const what = isMain
        ? `the main service "${child.name}" reports no health, which a failover needs to know when to fall back: ${why(child)}, or set errors.status`
        : `the service "${child.name}" reports no health for this service's healthCheck to follow: ${why(child)}, or remove healthCheck here`;
      book.addError(svc, `${what} (Traefik refuses this too)`, true, ref.field, 'GH_CONFIG_REFERENCE');
    }
  }
}
