/**
 * The resolve pass: every reference an item declares (a router's service and
 * middlewares, a service's children and serversTransport, a middleware's
 * services and middlewares) is qualified with the provider of the item that
 * wrote it, looked up, and recorded. Items are visited depth-first, so a
 * reference sees the final status of what it points at: a missing or
 * disabled target disables the item that points at it, with the target's
 * first error; a cycle disables every member. `usedBy` is filled on the way.
 */
import type { ResolvedRef, RuntimeMiddleware, RuntimeRouter, RuntimeService, Snapshot } from '../runtime.js';
import { closest, distance } from '../../util/closest.js';
import { providerOf, qualify } from './qualify.js';
import type { Reference, ReferenceKind } from './registry.js';
import { disabledBecause, type StatusBook, type StatusItem } from './status.js';

/** An item with the references it declares; `resolved` receives them qualified, in order. */
export interface RefNode {
  readonly label: 'router' | 'service' | 'middleware';
  readonly item: RuntimeRouter | RuntimeService | RuntimeMiddleware;
  readonly declared: readonly Reference[];
  readonly resolved: ResolvedRef[];
  /** Called once `resolved` is complete (routers copy their service and middlewares from it). */
  done?(resolved: readonly ResolvedRef[]): void;
}

type Target = StatusItem & { usedBy: string[] };

const key = (kind: string, name: string): string => `${kind}\u0000${name}`;

export function resolveReferences(snap: Snapshot, nodes: readonly RefNode[], book: StatusBook): void {
  const tables: Record<ReferenceKind, Record<string, Target>> = {
    service: snap.services,
    middleware: snap.middlewares,
    serversTransport: snap.serversTransports,
  };
  const byKey = new Map<string, RefNode>();
  for (const n of nodes) if (n.label !== 'router') byKey.set(key(n.label, n.item.name), n);
  const state = new Map<RefNode, 'visiting' | 'done'>();
  const inCycle = new Set<RefNode>();
  const path: RefNode[] = [];

  const visit = (node: RefNode): void => {
    const st = state.get(node);
    if (st === 'done') return;
    if (st === 'visiting') {
      markCycle(book, path.slice(path.indexOf(node)), inCycle);
      return;
    }
    state.set(node, 'visiting');
    path.push(node);
    for (const ref of node.declared) {
      const q = qualify(ref.name, providerOf(node.item.name));
      node.resolved.push({ kind: ref.kind, field: ref.field, ref: ref.name, name: q });
      const table = tables[ref.kind];
      const target = table[q];
      if (target === undefined) {
        book.addError(
          node.item,
          `the ${ref.kind} "${q}" does not exist${suggest(q, Object.keys(table))}`,
          true,
          ref.field,
          'GH_CONFIG_REFERENCE',
        );
        continue;
      }
      target.usedBy.push(node.item.name);
      const child = byKey.get(key(ref.kind, q));
      if (child !== undefined) visit(child);
      // Members of one cycle all carry the cycle error; saying "disabled" about each other adds nothing.
      const sameCycle = child !== undefined && inCycle.has(node) && inCycle.has(child);
      if (target.status === 'disabled' && !sameCycle)
        book.addError(node.item, disabledBecause(ref.kind, target), true, ref.field, 'GH_CONFIG_REFERENCE');
      else if (ref.kind === 'serversTransport' && insecure(target))
        // Shown on the service too: /api/http/services is where its state is seen.
        book.addError(
          node.item,
          `the serversTransport "${q}" has insecureSkipVerify on: backend certificates are not verified`,
          false,
          ref.field,
        );
    }
    path.pop();
    state.set(node, 'done');
    node.done?.(node.resolved);
  };
  for (const n of nodes) visit(n);
  for (const table of Object.values(tables)) for (const t of Object.values(table)) t.usedBy = sortedUnique(t.usedBy);
}

function insecure(t: Target): boolean {
  const config = (t as { config?: unknown }).config;
  return typeof config === 'object' && config !== null && (config as { insecureSkipVerify?: unknown }).insecureSkipVerify === true;
}

/** `members`: the path from the repeated node to the end; each is disabled with the whole loop. */
function markCycle(book: StatusBook, members: readonly RefNode[], inCycle: Set<RefNode>): void {
  const first = members[0];
  if (first === undefined) return;
  const text = `${first.label} reference cycle: ${[...members, first].map((m) => m.item.name).join(' → ')}`;
  for (const m of members) {
    inCycle.add(m);
    book.addError(m.item, text, true, undefined, 'GH_CONFIG_REFERENCE');
  }
}

/** Internal services that exist only when a static section is on, and the flag that turns it on. */
const INTERNAL_SERVICE_FLAGS: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  'api@internal': '--api (or --api.insecure)',
  'dashboard@internal': '--api.dashboard',
  'ping@internal': '--ping',
  'prometheus@internal': '--metrics.prometheus',
  'identity@internal': '--identity (or --identity.insecure)',
});

/** Traefik internal services Gatehouse has no counterpart for (docs/traefik-compatibility.md). */
const UNSUPPORTED_INTERNAL: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  'rest@internal': "Traefik's REST provider is not supported (configuration comes from files, Kubernetes objects or git)",
  'acme-http@internal': 'ACME HTTP-01 challenges are not supported yet',
});

/**
 * " (did you mean …?)" for a qualified name: the closest name of the same
 * provider, compared without the shared `@provider` (which would make any two
 * long names look close), else the same name under a provider spelt almost
 * alike (`app@fiel` → `app@file`).
 */
export function suggest(qualified: string, names: readonly string[]): string {
  // An internal service of a section that is off: name the flag, not a look-alike service.
  const flag = INTERNAL_SERVICE_FLAGS[qualified];
  if (flag !== undefined) return `: enable it with ${flag}`;
  const unsupported = UNSUPPORTED_INTERNAL[qualified];
  if (unsupported !== undefined) return `: ${unsupported}`;
  const provider = providerOf(qualified);
  const local = localOf(qualified);
  const same = names.filter((n) => providerOf(n) === provider);
  const c = closest(local, same.map(localOf));
  const hit =
    c !== undefined
      ? same.find((n) => localOf(n) === c)
      : names.find((n) => localOf(n) === local && distance(providerOf(n), provider) <= 2);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}

function localOf(qualified: string): string {
  const at = qualified.lastIndexOf('@');
  return at < 0 ? qualified : qualified.slice(0, at);
}

/** usedBy is sorted and without repeats, as in Traefik (`runtime.go` PopulateUsedBy). */
function sortedUnique(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}
