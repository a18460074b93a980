/**
 * Telemetry of one serving process: the access log, the metrics of every
 * exchange (recorded into the backplane's store, which reaches the primary's
 * aggregate), live tap events, the gauges the gateway knows (open
 * connections, server health; refreshed whenever the backplane flushes), and
 * the views over the aggregate (`/api/gatehouse/*`, Prometheus text) asked
 * of the primary through the backplane. One code path for one process and
 * for a cluster.
 */
import { performance } from 'node:perf_hooks';
import type { ServeOptions } from './options.js';
import type { RequestContext } from '../http/exchange.js';
import type { Handler } from '../http/handler.js';
import { sendText } from '../http/answers.js';
import type { Gateway } from './gateway.js';
import type { Logger } from '../log.js';
import { AccessLog } from '../observe/access-log.js';
import { MAX_TIMELINE_MS, STAT_KINDS, type MetricsStore, type StatFilter, type StatKind } from '../observe/metrics.js';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from '../observe/prometheus.js';
import { accessLogEntryFromContext, exchangeRecordFromContext, grpcStatusOf } from '../observe/from-context.js';
import { LiveExchanges } from '../observe/live.js';
import { createObserveApiHandler, type AlertState, type CertificateInfo, type ObserveBackend } from '../admin/observe-api.js';
import type { RpcHandlers, ServingBackplane } from '../cluster/backplane.js';

/** Sources the alert engine (and TLS, later) register to show their state in the API. */
export type AlertSource = () => AlertState[] | Promise<AlertState[]>;
export type CertificateSource = () => CertificateInfo[] | Promise<CertificateInfo[]>;

export interface Telemetry {
  /** Called at the end of every exchange (null when nothing records). */
  onEnd: (ctx: RequestContext) => void;
  /** Called right before the router table handles a request (live tap, body byte count). */
  onStart: ((ctx: RequestContext) => void) | null;
  /** `prometheus@internal` */
  prometheus: Handler;
  /** `/api/gatehouse/*`, served by api@internal. */
  observeApi: Handler;
  /** Read gauges from the gateway built in this process. */
  attach(gateway: Gateway): void;
  close(): Promise<void>;
}

export function prometheusText(store: MetricsStore, o: ServeOptions): string {
  return renderPrometheus(store.prometheusSnapshot(), {
    addEntryPointsLabels: o.metrics?.addEntryPointsLabels ?? true,
    addRoutersLabels: o.metrics?.addRoutersLabels ?? false,
    addServicesLabels: o.metrics?.addServicesLabels ?? true,
  });
}

export { grpcStatusOf } from '../observe/from-context.js';

/** Gauges the gateway knows: open connections per entry point, server health. */
class GaugeFeed {
  gateway: Gateway | null = null;
  private servers = new Set<string>();
  constructor(private readonly store: MetricsStore) {}
  refresh(): void {
    const g = this.gateway;
    if (g === null) return;
    for (const [ep, n] of Object.entries(g.connections())) this.store.setConnections(ep, n);
    const status = g.current?.serverStatus() ?? {};
    const seen = new Set<string>();
    for (const [svc, urls] of Object.entries(status)) {
      for (const [url, st] of Object.entries(urls)) {
        seen.add(`${svc}\n${url}`);
        this.store.setServerUp(svc, url, st === 'UP');
      }
    }
    for (const k of this.servers) {
      if (seen.has(k)) continue;
      const i = k.indexOf('\n');
      this.store.removeServer(k.slice(0, i), k.slice(i + 1));
    }
    this.servers = seen;
  }
}

/** The views, asked of the primary (which holds the aggregate of every serving process). */
function backplaneBackend(bp: ServingBackplane): ObserveBackend {
  const ask = <T>(what: string, args: unknown = null): Promise<T> => bp.rpc(what, args) as Promise<T>;
  return {
    stat: (kind, windowMs, filter) => ask('stat', { kind, windowMs, filter }),
    top: (windowMs, limit) => ask('top', { windowMs, limit }),
    edges: (windowMs) => ask('edges', { windowMs }),
    timeline: (kind, name, windowMs) => ask('timeline', { kind, name, windowMs }),
    summary: (rangeMs, limit) => ask('summary', { rangeMs, limit }),
    alerts: () => ask('alerts'),
    certificates: () => ask('certificates'),
    tap: (filter, maxRps, headers, onEvent) => bp.openTap(filter, maxRps, headers, onEvent),
  };
}

export function createTelemetry(
  o: ServeOptions,
  bp: ServingBackplane,
  log: Logger,
  /** Families this serving process adds to /metrics (the Redis connection's, docs/redis.md). */
  extraMetrics?: () => string,
): Telemetry {
  const access =
    o.accessLog !== null
      ? new AccessLog({
          format: o.accessLog.format,
          filePath: o.accessLog.filePath,
          bufferingSize: o.accessLog.bufferingSize,
          fields: o.accessLog.fields,
        })
      : null;
  const store = bp.metrics;
  const gauges = new GaugeFeed(store);
  bp.onFlush(() => gauges.refresh());
  const metricsOn = o.observability.metrics;
  const callerHeader = o.observability.callerHeader;
  const live = new LiveExchanges(bp.tapBus, { countBodyBytes: metricsOn || access !== null, callerHeader });
  // One record per finished exchange; tap events only for exchanges a tap saw start.
  const onEnd = (ctx: RequestContext): void => {
    const end = performance.now();
    const grpc = metricsOn || live.size !== 0 ? grpcStatusOf(ctx) : null;
    const bytesIn = live.end(ctx, end, grpc);
    if (metricsOn)
      store.record(
        exchangeRecordFromContext(ctx, { endMs: end, grpcStatus: grpc, callerHeader, ...(bytesIn !== undefined ? { bytesIn } : {}) }),
      );
    if (access !== null) access.log(accessLogEntryFromContext(ctx, { endMs: end, ...(bytesIn !== undefined ? { bytesIn } : {}) }));
  };
  const prometheus: Handler = (ctx) => {
    bp.rpc('prometheus').then(
      (text) => sendText(ctx, 200, String(text) + (extraMetrics?.() ?? ''), { 'content-type': PROMETHEUS_CONTENT_TYPE }),
      (err: unknown) => {
        log.warn({ err }, 'metrics unavailable');
        sendText(ctx, 503, 'metrics unavailable: the primary process did not answer');
      },
    );
  };
  return {
    onEnd,
    onStart: live.onStart,
    prometheus,
    observeApi: createObserveApiHandler(backplaneBackend(bp)),
    attach(g) {
      gauges.gateway = g;
    },
    async close() {
      if (access !== null) await access.close();
    },
  };
}

function isKind(k: unknown): k is StatKind {
  return typeof k === 'string' && (STAT_KINDS as readonly string[]).includes(k);
}

function num(v: unknown, def: number, max: number): number {
  return typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.min(v, max) : def;
}

/** In the primary: the questions serving processes ask (views over the aggregate of every process). */
export function primaryQueries(
  store: MetricsStore,
  o: ServeOptions,
  sources: { alerts: AlertSource; certs: CertificateSource; providers?: () => unknown },
): RpcHandlers {
  const args = (a: unknown): Record<string, unknown> => (a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {});
  return {
    prometheus: () => prometheusText(store, o),
    stat: (a) => {
      const x = args(a);
      if (!isKind(x.kind)) throw new Error('stat: bad kind');
      const f = args(x.filter);
      const filter: StatFilter = {};
      if (typeof f.from === 'string') filter.from = f.from;
      if (typeof f.to === 'string') filter.to = f.to;
      return store.stat(x.kind, num(x.windowMs, 60_000, 3_600_000), filter);
    },
    top: (a) => store.top(num(args(a).windowMs, 60_000, 3_600_000), num(args(a).limit, 50, 500)),
    edges: (a) => store.edges(num(args(a).windowMs, 60_000, 3_600_000)),
    timeline: (a) => {
      const x = args(a);
      if (!isKind(x.kind) || typeof x.name !== 'string') throw new Error('timeline: bad kind or name');
      return store.timeline(x.kind, x.name, num(x.windowMs, 3_600_000, MAX_TIMELINE_MS));
    },
    summary: (a) => store.summary(num(args(a).rangeMs, 300_000, MAX_TIMELINE_MS), num(args(a).limit, 5, 50)),
    alerts: () => sources.alerts(),
    certificates: () => sources.certs(),
    providers: () => sources.providers?.() ?? [],
  };
}
