/**
 * Builds request handlers from a compiled Snapshot: services (pools, health
 * checks), middlewares (each factory called once), routers (rules compiled
 * once) and one router table per entry point. Items that fail to build are
 * disabled with their error, as the compiler does for invalid ones.
 */
import type { Snapshot, RuntimeRouter } from '../config/runtime.js';
import type { ServersTransportConfig } from '../config/schema.js';
import { qualify } from '../config/compile.js';
import type { MiddlewareRegistry } from '../middlewares/registry.js';
import type { RateLimitStore } from '../middlewares/types.js';
import { compileRule } from '../rules/index.js';
import { sendText } from '../http/answers.js';
import type { Handler, Middleware } from '../http/handler.js';
import { PoolSet } from '../upstream/pools.js';
import { buildLoadBalancer } from '../services/load-balancer.js';
import { buildFailover, buildMirroring, buildWeighted, type ChildService } from '../services/composite.js';
import { RouterTable, type RouteEntry } from '../router/table.js';
import type { Logger } from '../log.js';

export interface BuildDeps {
  registry: MiddlewareRegistry;
  /** Handlers of internal services (`api@internal`, …) that are enabled. */
  internal: Record<string, Handler>;
  rateLimitStore: RateLimitStore;
  log: Logger;
  dataDir: string;
  entryPoints: readonly string[];
  /** Middlewares (qualified names) run before every router of an entry point. */
  entryPointMiddlewares?: Record<string, readonly string[]>;
  /** Transport of services that name none (static `serversTransport`). */
  defaultTransport?: ServersTransportConfig;
  onServerStatus?: (service: string, url: string, up: boolean) => void;
}

export interface Runtime {
  /** The snapshot with build-time errors folded in (a copy; the input is untouched). */
  readonly view: Snapshot;
  /** Router table handler per entry point. */
  readonly entryPoints: Record<string, Handler>;
  /** Health of every server: service → url → UP/DOWN. */
  serverStatus(): Record<string, Record<string, 'UP' | 'DOWN'>>;
  /** Retire: close pools gracefully, stop health checks, release middleware resources. */
  close(graceMs?: number): Promise<void>;
}

const providerOf = (q: string): string => q.slice(q.lastIndexOf('@') + 1);

export function buildRuntime(snapshot: Snapshot, deps: BuildDeps): Runtime {
  const view: Snapshot = structuredClone(snapshot);
  const closers: Array<() => void | Promise<void>> = [];
  const pools = new PoolSet();
  const built = new Map<string, ChildService | Error>();
  const lbServers = new Map<string, ReturnType<typeof buildLoadBalancer>['servers']>();

  const disable = (item: { status: string; errors: string[] }, msg: string): void => {
    item.status = 'disabled';
    if (!item.errors.includes(msg)) item.errors.push(msg);
  };

  const service = (name: string): ChildService => {
    const got = built.get(name);
    if (got instanceof Error) throw got;
    if (got !== undefined) return got;
    const rs = view.services[name];
    if (rs === undefined) throw new Error(`the service "${name}" does not exist`);
    if (rs.status === 'disabled') throw new Error(`the service "${name}" is disabled: ${rs.errors[0] ?? ''}`);
    try {
      let out: ChildService;
      const c = rs.config;
      const p = providerOf(name);
      if (rs.type === 'internal') {
        const h = deps.internal[name];
        if (h === undefined) throw new Error(`the internal service "${name}" is not enabled`);
        out = {
          handler: (ctx) => {
            ctx.serviceName = name;
            h(ctx);
          },
          healthy: () => true,
        };
      } else if (c.loadBalancer !== undefined) {
        const tn = c.loadBalancer.serversTransport !== undefined ? qualify(c.loadBalancer.serversTransport, p) : '';
        const lb = buildLoadBalancer(c.loadBalancer, {
          name, pools, transport: tn === '' ? deps.defaultTransport : view.serversTransports[tn]?.config, transportName: tn,
          log: deps.log, onClose: (fn) => closers.push(fn), onServerStatus: deps.onServerStatus,
        });
        lbServers.set(name, lb.servers);
        out = lb;
      } else if (c.weighted !== undefined) {
        out = buildWeighted(c.weighted, c.weighted.services.map((s) => service(qualify(s.name, p))));
      } else if (c.mirroring !== undefined) {
        out = buildMirroring(c.mirroring, service(qualify(c.mirroring.service, p)), (c.mirroring.mirrors ?? []).map((m) => service(qualify(m.name, p))));
      } else if (c.failover !== undefined) {
        out = buildFailover(service(qualify(c.failover.service, p)), service(qualify(c.failover.fallback, p)));
      } else throw new Error('expected exactly one of loadBalancer, weighted, mirroring, failover');
      built.set(name, out);
      return out;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      disable(rs, e.message);
      built.set(name, e);
      throw e;
    }
  };

  const mwBuilt = new Map<string, Middleware | Error>();
  const building = new Set<string>();
  const middleware = (name: string): Middleware => {
    const got = mwBuilt.get(name);
    if (got instanceof Error) throw got;
    if (got !== undefined) return got;
    const rm = view.middlewares[name];
    if (rm === undefined) throw new Error(`the middleware "${name}" does not exist`);
    if (rm.status === 'disabled') throw new Error(`the middleware "${name}" is disabled: ${rm.errors[0] ?? ''}`);
    if (building.has(name)) throw new Error(`middleware reference cycle through "${name}"`);
    building.add(name);
    try {
      const key = Object.keys(rm.config)[0]!;
      const def = deps.registry.get(key);
      if (def === undefined) throw new Error(`unknown middleware type "${key}"`);
      const p = providerOf(name);
      const m = def.create(rm.config[key] as never, {
        name, provider: p,
        service: (s) => service(qualify(s, p)).handler,
        middleware: (n) => middleware(qualify(n, p)),
        rateLimitStore: deps.rateLimitStore,
        log: deps.log.child({ middleware: name }),
        onClose: (fn) => closers.push(fn),
        dataDir: deps.dataDir,
      });
      mwBuilt.set(name, m);
      return m;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      disable(rm, e.message);
      mwBuilt.set(name, e);
      throw e;
    } finally {
      building.delete(name);
    }
  };

  const entries: Array<{ router: RuntimeRouter; entry: RouteEntry }> = [];
  for (const rr of Object.values(view.routers)) {
    if (rr.status === 'disabled') continue;
    try {
      const rule = compileRule(rr.config.rule, rr.ruleSyntax);
      let h = service(rr.service).handler;
      for (let i = rr.middlewares.length - 1; i >= 0; i--) h = middleware(rr.middlewares[i]!)(h);
      const name = rr.name;
      const inner = h;
      const handler: Handler = (ctx) => {
        ctx.routerName = name;
        inner(ctx);
      };
      entries.push({ router: rr, entry: { name, priority: rr.priority, rule, handler } });
    } catch (err) {
      disable(rr, err instanceof Error ? err.message : String(err));
    }
  }
  // Services/middlewares nobody uses are still built so their errors show.
  for (const name of Object.keys(view.services)) {
    try {
      if (view.services[name]!.status !== 'disabled') service(name);
    } catch {
      /* recorded */
    }
  }
  for (const name of Object.keys(view.middlewares)) {
    try {
      if (view.middlewares[name]!.status !== 'disabled') middleware(name);
    } catch {
      /* recorded */
    }
  }

  const notFound: Handler = (ctx) => sendText(ctx, 404, '404 page not found');
  const epHandlers: Record<string, Handler> = Object.create(null);
  for (const ep of deps.entryPoints) {
    const epMws = deps.entryPointMiddlewares?.[ep] ?? [];
    let routes = entries.filter((e) => e.router.entryPoints.includes(ep)).map((e) => e.entry);
    if (epMws.length > 0) {
      // entryPoints.<name>.http.middlewares run before each router's own middlewares.
      try {
        const chain = epMws.map((m) => middleware(m));
        routes = routes.map((r) => {
          let h = r.handler;
          for (let i = chain.length - 1; i >= 0; i--) h = chain[i]!(h);
          const inner = h;
          const name = r.name;
          return { ...r, handler: (ctx) => {
            ctx.routerName = name;
            inner(ctx);
          } };
        });
      } catch (err) {
        deps.log.error({ entryPoint: ep, err: err instanceof Error ? err.message : String(err) }, 'entry point middlewares are broken: the entry point answers 503');
        const broken: Handler = (ctx) => sendText(ctx, 503, 'Service Unavailable');
        routes = routes.map((r) => ({ ...r, handler: broken }));
      }
    }
    const table = new RouterTable(routes);
    epHandlers[ep] = table.handler(notFound);
  }

  return {
    view,
    entryPoints: epHandlers,
    serverStatus() {
      const out: Record<string, Record<string, 'UP' | 'DOWN'>> = {};
      for (const [svc, servers] of lbServers) {
        const m: Record<string, 'UP' | 'DOWN'> = {};
        for (const s of servers) m[s.url] = s.healthy ? 'UP' : 'DOWN';
        out[svc] = m;
      }
      return out;
    },
    async close(graceMs = 30_000) {
      for (const fn of closers.splice(0)) {
        try {
          await fn();
        } catch (err) {
          deps.log.warn({ err }, 'error while retiring a configuration');
        }
      }
      await pools.close(graceMs);
    },
  };
}
