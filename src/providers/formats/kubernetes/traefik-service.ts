/**
 * TraefikService (weighted, highestRandomWeight, mirroring and failover
 * services over Kubernetes Services and other TraefikServices) and the
 * weighted service Traefik builds for a route with several services.
 */
import type { FailoverConfig, HighestRandomWeightConfig, MirroringConfig, ServiceConfig, WeightedConfig } from '../../../config/schema.js';
import { makeId } from './naming.js';
import { ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';
import { nameAndService, stickyOf, type NamedService } from './services.js';

/** Add a generated service (a child of a route or TraefikService) to the fragment. */
export function addService(ctx: ConvertContext, owner: K8sObject, path: Path, name: string, service: ServiceConfig): void {
  ctx.fragment.services[name] = { value: service, source: ctx.loc(owner, path) };
}

function addNamed(ctx: ConvertContext, owner: K8sObject, path: Path, named: NamedService): string {
  if (named.service !== undefined) addService(ctx, owner, path, named.name, named.service);
  return named.name;
}

/**
 * A weighted service over `list` (each entry a service reference with an
 * optional `weight`, default 1). Child Kubernetes services are added under
 * their own names (`<ns>-<svc>-<port>`). All-or-nothing: the first failing
 * child fails the whole service, as Traefik.
 */
export function buildWeighted(
  ctx: ConvertContext,
  owner: K8sObject,
  namespace: string,
  list: unknown,
  path: Path,
  sticky: unknown,
): ServiceConfig {
  if (!Array.isArray(list) || list.length === 0) throw new ConvertFailure(path, 'expected a non-empty list of services');
  const children: Array<{ path: Path; named: NamedService; weight: number }> = [];
  list.forEach((entry, i) => {
    const p = [...path, i];
    const named = nameAndService(ctx, owner, namespace, entry, p);
    const w = isRecord(entry) ? entry.weight : undefined;
    if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w) || w < 0))
      throw new ConvertFailure([...p, 'weight'], 'weight must be a non-negative integer');
    children.push({ path: p, named, weight: w ?? 1 });
  });
  const weighted: WeightedConfig = { services: children.map((c) => ({ name: addNamed(ctx, owner, c.path, c.named), weight: c.weight })) };
  const s = stickyOf(sticky);
  if (s !== undefined) weighted.sticky = s;
  return { weighted };
}

/** `highestRandomWeight` (Traefik v3): the child services with their weights (default 1). */
function buildHighestRandomWeight(ctx: ConvertContext, owner: K8sObject, list: unknown, path: Path): ServiceConfig {
  const w = buildWeighted(ctx, owner, owner.namespace, list, path, undefined);
  const services = (w.weighted as WeightedConfig).services;
  const hrw: HighestRandomWeightConfig = { services };
  return { highestRandomWeight: hrw };
}

/** `failover` (Traefik v3): `service`, `fallback` (each a Kubernetes Service or TraefikService reference) and `errors`. */
function buildFailover(ctx: ConvertContext, owner: K8sObject, spec: Record<string, unknown>, path: Path): ServiceConfig {
  if (!isRecord(spec.service)) throw new ConvertFailure([...path, 'service'], 'expected a service reference (name, kind, port)');
  if (!isRecord(spec.fallback)) throw new ConvertFailure([...path, 'fallback'], 'expected a service reference (name, kind, port)');
  const main = nameAndService(ctx, owner, owner.namespace, spec.service, [...path, 'service']);
  const fallback = nameAndService(ctx, owner, owner.namespace, spec.fallback, [...path, 'fallback']);
  const failover: FailoverConfig = {
    service: addNamed(ctx, owner, [...path, 'service'], main),
    fallback: addNamed(ctx, owner, [...path, 'fallback'], fallback),
  };
  const errors = spec.errors;
  if (errors !== undefined) {
    if (!isRecord(errors)) throw new ConvertFailure([...path, 'errors'], 'expected status and maxRequestBodyBytes');
    const status = errors.status;
    if (status !== undefined && !(Array.isArray(status) && status.every((x) => typeof x === 'string')))
      throw new ConvertFailure([...path, 'errors', 'status'], 'expected a list of status ranges such as "500-504"');
    const max = errors.maxRequestBodyBytes;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max)))
      throw new ConvertFailure([...path, 'errors', 'maxRequestBodyBytes'], 'expected an integer (bytes; -1: no limit)');
    failover.errors = {
      ...(status !== undefined ? { status: status as string[] } : {}),
      ...(max !== undefined ? { maxRequestBodyBytes: max } : {}),
    };
  }
  return { failover };
}

function buildMirroring(ctx: ConvertContext, owner: K8sObject, spec: Record<string, unknown>, path: Path): ServiceConfig {
  const main = nameAndService(ctx, owner, owner.namespace, spec, path);
  const mirrors: NonNullable<MirroringConfig['mirrors']> = [];
  const list = Array.isArray(spec.mirrors) ? spec.mirrors : [];
  const resolved = list.map((m, i) => ({ named: nameAndService(ctx, owner, owner.namespace, m, [...path, 'mirrors', i]), m, i }));
  const mirroring: MirroringConfig = { service: addNamed(ctx, owner, path, main) };
  for (const r of resolved) {
    const name = addNamed(ctx, owner, [...path, 'mirrors', r.i], r.named);
    const percent = isRecord(r.m) && typeof r.m.percent === 'number' ? r.m.percent : undefined;
    mirrors.push(percent === undefined ? { name } : { name, percent });
  }
  mirroring.mirrors = mirrors;
  if (typeof spec.mirrorBody === 'boolean') mirroring.mirrorBody = spec.mirrorBody;
  if (typeof spec.maxBodySize === 'number') mirroring.maxBodySize = spec.maxBodySize;
  return { mirroring };
}

/** TraefikService `<ns>/<name>` → service `<ns>-<name>` (weighted, highestRandomWeight, mirroring or failover). */
export function convertTraefikService(ctx: ConvertContext, obj: K8sObject): void {
  const spec = ctx.get(obj, ['spec']);
  const id = makeId(obj.namespace, obj.name);
  try {
    if (!isRecord(spec)) throw new ConvertFailure(['spec'], 'expected spec with weighted, highestRandomWeight, mirroring or failover');
    let service: ServiceConfig;
    if (isRecord(spec.weighted)) {
      service = buildWeighted(ctx, obj, obj.namespace, spec.weighted.services, ['spec', 'weighted', 'services'], spec.weighted.sticky);
    } else if (isRecord(spec.highestRandomWeight)) {
      service = buildHighestRandomWeight(ctx, obj, spec.highestRandomWeight.services, ['spec', 'highestRandomWeight', 'services']);
    } else if (isRecord(spec.mirroring)) {
      service = buildMirroring(ctx, obj, spec.mirroring, ['spec', 'mirroring']);
    } else if (isRecord(spec.failover)) {
      service = buildFailover(ctx, obj, spec.failover, ['spec', 'failover']);
    } else {
      throw new ConvertFailure(
        ['spec'],
        'unspecified service type: expected spec.weighted, spec.highestRandomWeight, spec.mirroring or spec.failover',
      );
    }
    addService(ctx, obj, ['spec'], id, service);
  } catch (e) {
    if (!(e instanceof ConvertFailure)) throw e;
    ctx.error(obj, e.path, `TraefikService not created (service "${id}"): ${e.message}`, e.code);
  }
}
