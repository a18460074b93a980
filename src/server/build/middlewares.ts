/**
 * Builds every middleware the compiler left usable: what it references first
 * (services already built, middlewares here, in the order of the `refs` the
 * compiler resolved), then its factory, once per snapshot. A factory that
 * throws disables the middleware with its error, and everything that needs it.
 */
import type { StatusBook } from '../../config/compile/status.js';
import { providerOf } from '../../config/compile/qualify.js';
import type { RuntimeMiddleware, Snapshot } from '../../config/runtime.js';
import type { Logger } from '../../log.js';
import type { Middleware, MiddlewareDefinition, MiddlewareDeps, RateLimitStore } from '../../middlewares/types.js';
import type { BuiltServices } from './services.js';
import { messageOf, resolvedName, unavailable } from './refs.js';

/** What building middlewares needs (the registry's `get` only). */
export interface MiddlewareBuildContext {
  readonly types: { get(key: string): MiddlewareDefinition | undefined };
  readonly rateLimitStore: RateLimitStore;
  readonly log: Logger;
  readonly dataDir: string;
  onClose(fn: () => void | Promise<void>): void;
}

export interface BuiltMiddlewares {
  /** The built middleware; undefined when it is disabled (at compile or build time) or unknown. */
  get(name: string): Middleware | undefined;
}

export function buildMiddlewares(
  view: Snapshot,
  services: Pick<BuiltServices, 'get'> & Partial<Pick<BuiltServices, 'wireMiddlewares'>>,
  ctx: MiddlewareBuildContext,
  book: StatusBook,
): BuiltMiddlewares {
  const built = new Map<string, Middleware | null>();

  const make = (name: string): Middleware | null => {
    const got = built.get(name);
    if (got !== undefined) return got;
    built.set(name, null);
    const rm = view.middlewares[name];
    const out = rm === undefined || rm.status === 'disabled' || !refsReady(rm) ? null : create(rm);
    built.set(name, out);
    return out;
  };
  const refsReady = (rm: RuntimeMiddleware): boolean => {
    for (const r of rm.refs) {
      const ok = r.kind === 'service' ? services.get(r.name) !== undefined : r.kind === 'middleware' ? make(r.name) !== null : true;
      if (ok) continue;
      const target = r.kind === 'service' ? view.services[r.name] : view.middlewares[r.name];
      book.addError(rm, unavailable(r.kind, r.name, target), true, r.field);
      return false;
    }
    return true;
  };
  const create = (rm: RuntimeMiddleware): Middleware | null => {
    const key = Object.keys(rm.config)[0] ?? '';
    try {
      const def = ctx.types.get(key);
      if (def === undefined) throw new Error(`unknown middleware type "${key}"`);
      return def.create(rm.config[key], depsFor(rm));
    } catch (err) {
      book.addError(rm, messageOf(err), true);
      return null;
    }
  };
  const depsFor = (rm: RuntimeMiddleware): MiddlewareDeps => ({
    name: rm.name,
    provider: providerOf(rm.name),
    service(ref) {
      const q = resolvedName(rm, 'service', ref);
      const s = services.get(q);
      if (s === undefined) throw new Error(unavailable('service', q, view.services[q]));
      return s.handler;
    },
    middleware(ref) {
      const q = resolvedName(rm, 'middleware', ref);
      const m = built.get(q);
      if (m === undefined || m === null) throw new Error(unavailable('middleware', q, view.middlewares[q]));
      return m;
    },
    rateLimitStore: ctx.rateLimitStore,
    log: ctx.log.child({ middleware: rm.name }),
    onClose: (fn) => ctx.onClose(fn),
    dataDir: ctx.dataDir,
  });

  // Middlewares nobody uses are built too, so their errors show.
  for (const name of Object.keys(view.middlewares)) make(name);
  // Services with their own middlewares (Traefik v3) get them now.
  services.wireMiddlewares?.((n) => make(n) ?? undefined);
  return { get: (name) => built.get(name) ?? undefined };
}
