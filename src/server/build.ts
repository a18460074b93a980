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
import type { Handler } from '../http/handler.js';
import { PoolSet } from '../upstream/pools.js';
import type { Logger } from '../log.js';
import { buildServices } from './build/services.js';
import { buildMiddlewares } from './build/middlewares.js';
import { buildRouters } from './build/routers.js';
import { buildEntryPoints } from './build/entry-points.js';

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
  /** Retire: close pools gracefully, stop health checks, release middleware resources. */
  close(graceMs?: number): Promise<void>;
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

  return {
    view,
    entryPoints,
    serverStatus() {
      const out: Record<string, Record<string, 'UP' | 'DOWN'>> = {};
      for (const [svc, list] of services.servers) {
        const m: Record<string, 'UP' | 'DOWN'> = {};
        for (const s of list) m[s.url] = s.healthy ? 'UP' : 'DOWN';
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
