/**
 * The configuration compiler, in passes (`src/config/compile/`): qualify
 * every name (`name@provider`) and validate every item (`items.ts`,
 * `routers.ts`, one schema-error formatter in `validate.ts`), then resolve
 * the references each kind declares (`resolve.ts`), recording Traefik-style
 * runtime status through one helper (`status.ts`). A broken item is disabled
 * with its errors, and so is everything that depends on it; the rest is kept.
 * Pure: no I/O, no handlers built. See docs/configuration-pipeline.md.
 */
import type { ConfigIssue } from '../errors.js';
import type { ConfigFragment } from './model.js';
import type { RuntimeService, ServiceKind, Snapshot } from './runtime.js';
import { collectMiddleware, collectService, collectTransport, type PassContext } from './compile/items.js';
import type { KindRegistry } from './compile/registry.js';
import { resolveReferences } from './compile/resolve.js';
import { checkHealthPropagation } from './compile/health.js';
import { collectRouter } from './compile/routers.js';
import { StatusBook } from './compile/status.js';

export { qualify, providerOf } from './compile/qualify.js';
export type { KindRegistry, Problem, Reference, ReferenceKind } from './compile/registry.js';

/** Internal services always present (`api@internal` and friends). */
export const INTERNAL_SERVICES = [
  'api@internal',
  'dashboard@internal',
  'ping@internal',
  'identity@internal',
  'prometheus@internal',
  'noop@internal',
] as const;

/** `M`, `S`: the definition types of the middleware and service registries (opaque to the compiler). */
export interface CompileOptions<M = unknown, S = unknown> {
  fragments: readonly ConfigFragment[];
  /** Names of the configured entry points. */
  entryPoints: readonly string[];
  /** Entry points a router without `entryPoints` attaches to. */
  defaultEntryPoints: readonly string[];
  defaultRuleSyntax: 'v2' | 'v3';
  /** Middleware types (`builtinRegistry()` in src/middlewares/builtin.ts). */
  registry: KindRegistry<M>;
  /** Service kinds (`builtinServices()` in src/services/builtin.ts). */
  services: KindRegistry<S, ServiceKind>;
  revision: number;
  /** Internal services that are enabled (others answer 404 / are refused). */
  internalServices?: readonly string[];
}

export function compileConfig<M, S>(opts: CompileOptions<M, S>): Snapshot {
  const snap = emptySnapshot(opts.revision);
  for (const frag of opts.fragments) {
    snap.issues.push(...frag.issues);
    snap.resources.push(...frag.resources);
  }
  const ctx: PassContext = { snap, book: new StatusBook(snap.issues), nodes: [] };
  // Qualify and validate, kind by kind (targets before what points at them, so issues read in that order).
  for (const frag of opts.fragments) for (const [n, item] of Object.entries(frag.serversTransports)) collectTransport(ctx, frag, n, item);
  for (const frag of opts.fragments)
    for (const [n, item] of Object.entries(frag.services)) collectService(ctx, opts.services, frag, n, item);
  for (const name of opts.internalServices ?? INTERNAL_SERVICES) snap.services[name] = ctx.book.track('service', internalService(name));
  for (const frag of opts.fragments)
    for (const [n, item] of Object.entries(frag.middlewares)) collectMiddleware(ctx, opts.registry, frag, n, item);
  for (const frag of opts.fragments) for (const [n, item] of Object.entries(frag.routers)) collectRouter(ctx, opts, frag, n, item);
  checkHealthPropagation(snap, ctx.nodes, ctx.book);
  resolveReferences(snap, ctx.nodes, ctx.book);
  return snap;
}

function emptySnapshot(revision: number): Snapshot {
  return {
    revision,
    createdAt: new Date().toISOString(),
    routers: Object.create(null) as Snapshot['routers'],
    middlewares: Object.create(null) as Snapshot['middlewares'],
    services: Object.create(null) as Snapshot['services'],
    serversTransports: Object.create(null) as Snapshot['serversTransports'],
    resources: [],
    issues: [] as ConfigIssue[],
  };
}

function internalService(name: string): RuntimeService {
  return { name, provider: 'internal', type: 'internal', status: 'enabled', errors: [], source: {}, config: {}, usedBy: [], refs: [] };
}
