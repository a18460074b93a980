/**
 * Builds request handlers from a compiled Snapshot, in three steps under
 * `build/`: services (pools, health checks; children first), middlewares
 * (each factory called once), routers (rules compiled into matchers), then
 * one router table per entry point. It trusts the compiler's resolution
 * (`RuntimeRouter.service`/`.middlewares`, `refs`) and only records what
 * fails to build, with the compiler's `addError`. See
 * docs/configuration-pipeline.md.
 */
import type { Snapshot } from '../config/runtime.js';
import type { ServersTransportConfig } from '../config/schema.js';
import { StatusBook } from '../config/compile/status.js';
import type { MiddlewareRegistry } from '../middlewares/registry.js';
import type { RateLimitStore } from '../middlewares/types.js';
import { builtinServices } from '../services/builtin.js';
import type { ServiceRegistry } from '../services/registry.js';
import type { ServerHealth } from '../services/types.js';
import type { Handler } from '../http/handler.js';
import { PoolSet } from '../upstream/pools.js';
import type { Logger } from '../log.js';
import { buildServices } from './build/services.js';
import { buildMiddlewares } from './build/middlewares.js';
import { buildRouters } from './build/routers.js';
import { buildEntryPoints } from './build/entry-points.js';

/** Longest a retired configuration waits for its exchanges before its health checks and middleware resources stop. */
export const RETIRE_DRAIN_MS = 60_000;

export interface BuildDeps {
  registry: MiddlewareRegistry;
  /** Service kinds (default: the built-in ones). */
  services?: ServiceRegistry;
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
  /** Health of every server with its reasons: service → url → state, priority, weight, last probes (docs/failover.md). */
  serverHealth(): Record<string, Record<string, ServerHealth>>;
  /** Exchanges in this runtime now. */
  inflight(): number;
  /**
   * Retire once every exchange that entered this runtime is over (bounded by
   * `graceMs`; `null`: no deadline), then stop health checks, release
   * middleware resources and close the pools.
   */
  close(graceMs?: number | null): Promise<void>;
}

export function buildRuntime(snapshot: Snapshot, deps: BuildDeps): Runtime {
  const view: Snapshot = structuredClone(snapshot);
  const book = StatusBook.forSnapshot(view);
  const closers: Array<() => void | Promise<void>> = [];
  const onClose = (fn: () => void | Promise<void>): void => {
    closers.push(fn);
  };
  const pools = new PoolSet();
  const services = buildServices(
    view,
    {
      kinds: deps.services ?? builtinServices(),
      internal: deps.internal,
      pools,
      log: deps.log,
      defaultTransport: deps.defaultTransport,
      onServerStatus: deps.onServerStatus,
      onClose,
    },
    book,
  );
  const middlewares = buildMiddlewares(
    view,
    services,
    { types: deps.registry, rateLimitStore: deps.rateLimitStore, log: deps.log, dataDir: deps.dataDir, onClose },
    book,
  );
  const routes = buildRouters(view, { service: (n) => services.get(n), middleware: (n) => middlewares.get(n) }, book);
  const entryPoints = buildEntryPoints(view, routes, {
    entryPoints: deps.entryPoints,
    entryPointMiddlewares: deps.entryPointMiddlewares,
    log: deps.log,
    middleware: (n) => middlewares.get(n),
  });

  // Exchanges that entered this runtime and are not over: it retires only once they are (a request waiting in an
  // asynchronous middleware, e.g. rateLimit over the cluster backplane, still dispatches to these pools after a reload).
  let inflight = 0;
  let onDrained: (() => void) | null = null;
  const release = (): void => {
    if (--inflight === 0 && onDrained !== null) onDrained();
  };
  const tracked: Record<string, Handler> = {};
  for (const [name, h] of Object.entries(entryPoints))
    tracked[name] = (ctx) => {
      inflight++;
      ctx.onceDone(release);
      return h(ctx);
    };
  const drained = (graceMs: number | null): Promise<void> =>
    inflight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = graceMs === null ? null : setTimeout(resolve, graceMs);
          t?.unref();
          onDrained = () => {
            if (t !== null) clearTimeout(t);
            resolve();
          };
        });

  return {
    view,
    entryPoints: tracked,
    inflight: () => inflight,
    serverStatus() {
      const out: Record<string, Record<string, 'UP' | 'DOWN'>> = {};
      for (const [svc, list] of services.servers) {
        const m: Record<string, 'UP' | 'DOWN'> = {};
        for (const s of list) m[s.url] = s.healthy ? 'UP' : 'DOWN';
        out[svc] = m;
      }
      return out;
    },
    serverHealth() {
      const out: Record<string, Record<string, ServerHealth>> = {};
      for (const [svc, of] of services.health) out[svc] = of();
      return out;
    },
    async close(graceMs: number | null = 30_000) {
      // A reload (null) waits for the drain up to RETIRE_DRAIN_MS before stopping health checks and middleware
      // resources; its pools then close gracefully with no deadline (an exchange still streaming is never cut).
      await drained(graceMs ?? RETIRE_DRAIN_MS);
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
