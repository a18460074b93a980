/**
 * Builds every service that the compiler left usable, children first (in the
 * order of the `refs` it resolved), through the service-kind registry. A kind
 * whose `build` throws is disabled with the error, and so is every service
 * that needs it; nothing is resolved again. A service with `middlewares`
 * (Traefik v3) is handed out as a trampoline that `wireMiddlewares` points at
 * its middleware chain once the middlewares are built (they may use services
 * themselves: errors, forwardAuth).
 */
import type { StatusBook } from '../../config/compile/status.js';
import type { RuntimeService, ServiceKind, Snapshot } from '../../config/runtime.js';
import type { ServersTransportConfig } from '../../config/schema.js';
import { answer } from '../../http/answers.js';
import type { Handler, Middleware } from '../../http/handler.js';
import type { Logger } from '../../log.js';
import type { BuiltService, ServiceBuildDeps, ServiceDefinition } from '../../services/types.js';
import type { PoolSet } from '../../upstream/pools.js';
import { messageOf, resolvedName, unavailable } from './refs.js';

/** What building services needs (the registry's `kind` only: declared here, where it is used). */
export interface ServiceBuildContext {
  readonly kinds: { kind(kind: ServiceKind): ServiceDefinition | undefined };
  readonly internal: Readonly<Record<string, Handler>>;
  readonly pools: PoolSet;
  readonly log: Logger;
  readonly defaultTransport?: ServersTransportConfig | undefined;
  readonly onServerStatus?: ((service: string, url: string, up: boolean) => void) | undefined;
  onClose(fn: () => void | Promise<void>): void;
}

export interface BuiltServices {
  /** The built service; undefined when it is disabled (at compile or build time) or unknown. */
  get(name: string): BuiltService | undefined;
  /** Servers of every built service that has some (load balancers), for the API's serverStatus. */
  readonly servers: ReadonlyMap<string, NonNullable<BuiltService['servers']>>;
  /** Each server's health and why, per load balancer, for the API's serverHealth. */
  readonly health: ReadonlyMap<string, NonNullable<BuiltService['serverHealth']>>;
  /** Wraps each service that has `middlewares` in them (called by `buildMiddlewares` once they are built). */
  wireMiddlewares(middleware: (name: string) => Middleware | undefined): void;
}

const notWired: Handler = (ctx) => answer(ctx, 'GH_NO_HEALTHY_SERVER');

export function buildServices(view: Snapshot, ctx: ServiceBuildContext, book: StatusBook): BuiltServices {
  // null: disabled, or being built (a cycle, which the compiler already refused, reads as unavailable).
  const built = new Map<string, BuiltService | null>();
  const servers = new Map<string, NonNullable<BuiltService['servers']>>();
  const health = new Map<string, NonNullable<BuiltService['serverHealth']>>();
  const pending: Array<{ rs: RuntimeService; base: Handler; set(h: Handler): void }> = [];

  const make = (name: string): BuiltService | null => {
    const got = built.get(name);
    if (got !== undefined) return got;
    built.set(name, null);
    const rs = view.services[name];
    const out = rs === undefined || rs.status === 'disabled' || !childrenReady(rs) ? null : buildOne(rs);
    built.set(name, out);
    if (out?.servers !== undefined) servers.set(name, out.servers);
    if (out?.serverHealth !== undefined) health.set(name, out.serverHealth);
    return out;
  };
  const childrenReady = (rs: RuntimeService): boolean => {
    for (const r of rs.refs) {
      if (r.kind !== 'service' || make(r.name) !== null) continue;
      book.addError(rs, unavailable('service', r.name, view.services[r.name]), true, r.field);
      return false;
    }
    return true;
  };
  const buildOne = (rs: RuntimeService): BuiltService | null => {
    try {
      const def = ctx.kinds.kind(rs.type);
      if (def === undefined) throw new Error(`unknown service kind "${rs.type}"`);
      const config = def.key === undefined ? {} : (rs.config as Record<string, unknown>)[def.key];
      const out = def.build(config, depsFor(rs));
      if (!rs.refs.some((r) => r.kind === 'middleware')) return out;
      let inner = notWired;
      pending.push({ rs, base: out.handler, set: (h) => (inner = h) });
      return { ...out, handler: (ctx) => inner(ctx) };
    } catch (err) {
      book.addError(rs, messageOf(err), true);
      return null;
    }
  };
  const depsFor = (rs: RuntimeService): ServiceBuildDeps => ({
    name: rs.name,
    service(ref) {
      const q = resolvedName(rs, 'service', ref);
      const child = built.get(q);
      if (child === undefined || child === null) throw new Error(unavailable('service', q, view.services[q]));
      return child;
    },
    transport(ref) {
      if (ref === undefined) return { name: '', config: ctx.defaultTransport };
      const q = resolvedName(rs, 'serversTransport', ref);
      return { name: q, config: view.serversTransports[q]?.config };
    },
    pools: ctx.pools,
    log: ctx.log,
    onClose: (fn) => ctx.onClose(fn),
    onServerStatus: ctx.onServerStatus,
    internal: (n) => ctx.internal[n],
  });

  // Services nobody uses are built too, so their errors show.
  for (const name of Object.keys(view.services)) make(name);
  const wireMiddlewares = (middleware: (name: string) => Middleware | undefined): void => {
    for (const p of pending.splice(0)) {
      let h = p.base;
      const names = p.rs.refs.filter((r) => r.kind === 'middleware');
      let broken: string | null = null;
      for (let i = names.length - 1; i >= 0 && broken === null; i--) {
        const r = names[i]!;
        const m = middleware(r.name);
        if (m === undefined) {
          broken = unavailable('middleware', r.name, view.middlewares[r.name]);
          book.addError(p.rs, broken, true, r.field);
          continue;
        }
        try {
          h = m(h);
        } catch (err) {
          broken = messageOf(err);
          book.addError(p.rs, broken, true, r.field);
        }
      }
      if (broken !== null) {
        // Routers (built next) see the service as unavailable; parents already holding it answer 503.
        built.set(p.rs.name, null);
        servers.delete(p.rs.name);
        health.delete(p.rs.name);
        continue;
      }
      p.set(h);
    }
  };
  return { get: (name) => built.get(name) ?? undefined, servers, health, wireMiddlewares };
}
