/**
 * Builds the serving side of one process (the only process, or a cluster
 * worker): the Gateway with its internal services wired to the state they
 * report on.
 */
import type { Logger } from '../log.js';
import type { RateLimitStore } from '../middlewares/types.js';
import { builtinRegistry } from '../middlewares/builtin.js';
import { Gateway } from './gateway.js';
import type { ServeOptions } from './options.js';
import { createApiHandler } from '../admin/api.js';
import { createPingHandler } from '../admin/ping.js';
import { createDashboardHandler } from '../admin/dashboard.js';
import type { Handler } from '../http/handler.js';
import type { RequestContext } from '../http/exchange.js';
import type { Snapshot } from '../config/runtime.js';
import { sendText } from '../http/answers.js';

export interface ServingHooks {
  /** Called at the end of every exchange (telemetry, access log). */
  onEnd?: ((ctx: RequestContext) => void) | null;
  /** Called right before the router table handles a request (live tap, body byte count). */
  onStart?: ((ctx: RequestContext) => void) | null;
  /** Extra internal services (identity@internal, prometheus@internal, …). */
  internal?: Record<string, Handler>;
  /** Errors of the configuration pipeline to show in /api/overview. */
  lastErrors?: () => string[];
  /** Gatehouse's live traffic endpoints, served by api@internal under /api/gatehouse/. */
  observeApi?: Handler;
  /** Called once with the gateway built here (telemetry reads its connection and health gauges). */
  attach?: (gateway: Gateway) => void;
}

export function internalServiceNames(o: ServeOptions): string[] {
  const names = ['noop@internal'];
  if (o.api.enabled || o.api.insecure) {
    names.push('api@internal');
    if (o.api.dashboard) names.push('dashboard@internal');
  }
  if (o.ping !== null) names.push('ping@internal');
  if (o.metrics !== null) names.push('prometheus@internal');
  if (o.identity.enabled || o.identity.insecure) names.push('identity@internal');
  return names;
}

export function createServing(o: ServeOptions, deps: { log: Logger; rateLimitStore: RateLimitStore; hooks?: ServingHooks }): Gateway {
  const startDate = new Date().toISOString();
  let gateway: Gateway | null = null;
  const emptyView = (): Snapshot => ({ revision: 0, createdAt: startDate, routers: {}, middlewares: {}, services: {}, serversTransports: {}, resources: [], issues: [] });
  const dashboard = createDashboardHandler();
  const api = createApiHandler({
      view: () => gateway?.current?.view ?? emptyView(),
      serverStatus: () => gateway?.current?.serverStatus() ?? {},
      entryPoints: () => o.entryPoints.map((e) => ({ name: e.name, address: `${e.host ?? ''}:${e.port}`, forwardedHeaders: { insecure: e.forwarded.insecure, trustedIPs: [...e.forwarded.trustedIPs] } })),
      providers: () => [...(o.file !== null ? ['File'] : []), ...(o.kubernetesCrd ? ['KubernetesCRD'] : [])],
      features: () => ({ accessLog: o.accessLog !== null, metrics: o.metrics !== null ? 'Prometheus' : '', tracing: '' }),
      startDate,
      lastErrors: () => deps.hooks?.lastErrors?.() ?? [],
      ...(deps.hooks?.observeApi !== undefined ? { gatehouse: deps.hooks.observeApi } : {}),
  });
  const internal: Record<string, Handler> = {
    'noop@internal': (ctx) => sendText(ctx, 418, "I'm a teapot"),
    // As in Traefik, api@internal also serves the dashboard when it is enabled.
    'api@internal': o.api.dashboard ? (ctx) => (ctx.path.startsWith('/api') ? api(ctx) : dashboard(ctx)) : api,
    'dashboard@internal': dashboard,
    'ping@internal': createPingHandler(() => gateway?.isShuttingDown ?? false, o.pingTerminatingStatus),
    ...(deps.hooks?.internal ?? {}),
  };
  gateway = new Gateway({
    entryPoints: o.entryPoints,
    registry: builtinRegistry(),
    rateLimitStore: deps.rateLimitStore,
    log: deps.log,
    dataDir: o.dataDir,
    maxHeaderSize: o.maxHeaderSize,
    internal,
    onEnd: deps.hooks?.onEnd ?? null,
    onStart: deps.hooks?.onStart ?? null,
    entryPointMiddlewares: o.entryPointMiddlewares,
    defaultTransport: o.defaultTransport,
  });
  deps.hooks?.attach?.(gateway);
  return gateway;
}
