/**
 * Telemetry wiring of one serving process: the access log, the metrics store
 * (local with one process; deltas sent to the primary from a worker), the tap
 * bus, and the internal services and admin endpoints that expose them
 * (`prometheus@internal`, `/api/gatehouse/*`).
 *
 * Single process: views read the local store; gauges (open connections per
 * entry point, server health) are read from the gateway when a view asks.
 * Worker: every second the gauges are refreshed and everything recorded since
 * the previous second goes to the primary as a delta; views ask the primary,
 * which holds the aggregate of every worker (attachPrimaryObservers).
 */
import cluster, { type Cluster } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { ServeOptions } from './options.js';
import type { Snapshot } from '../config/runtime.js';
import { sendText } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { RequestContext } from '../http/exchange.js';
import type { Gateway } from './gateway.js';
import { AccessLog } from '../observe/access-log.js';
import { MetricsStore, STAT_KINDS, type MetricsDelta, type StatFilter, type StatKind } from '../observe/metrics.js';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from '../observe/prometheus.js';
import { accessLogEntryFromContext, exchangeRecordFromContext, grpcStatusOf } from '../observe/from-context.js';
import { TapBus } from '../observe/tap.js';
import { LiveExchanges } from '../observe/live.js';
import { askPrimary, attachPrimaryTapRelay, serveQueries, WorkerTapRelay, type QueryHandlers } from './ipc.js';
import type { ServingHooks } from './serving.js';
import { IdentityProvider, compileIdentity } from '../identity/index.js';
import { createObserveApiHandler, type AlertState, type CertificateInfo, type ObserveBackend } from '../admin/observe-api.js';

/** Sources the alert engine (and TLS, later) register to show their state in the API. */
export type AlertSource = () => AlertState[] | Promise<AlertState[]>;
export type CertificateSource = () => CertificateInfo[] | Promise<CertificateInfo[]>;

export interface Observers {
  hooks: ServingHooks;
  /** The local store (single process) or the worker's delta store. */
  metrics: MetricsStore;
  tap: TapBus;
  onSnapshot(s: Snapshot): void;
  /** Single process: where `/api/gatehouse/alerts` reads (a worker asks the primary). */
  setAlertSource(fn: AlertSource): void;
  setCertificateSource(fn: CertificateSource): void;
  close(): Promise<void>;
}

type Mode = 'single' | 'worker';

function prometheusText(store: MetricsStore, o: ServeOptions): string {
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

function localBackend(store: MetricsStore, bus: TapBus, gauges: GaugeFeed, sources: { alerts: AlertSource; certs: CertificateSource }): ObserveBackend {
  return {
    stat: async (kind, windowMs, filter) => {
      gauges.refresh();
      return store.stat(kind, windowMs, filter);
    },
    top: async (windowMs, limit) => store.top(windowMs, limit),
    edges: async (windowMs) => store.edges(windowMs),
    timeline: async (kind, name, windowMs) => store.timeline(kind, name, windowMs),
    alerts: async () => sources.alerts(),
    certificates: async () => sources.certs(),
    tap: (filter, maxRps, headers, onEvent) => bus.subscribe(filter, maxRps, onEvent, { headers }),
  };
}

function primaryBackend(relay: WorkerTapRelay): ObserveBackend {
  const ask = <T>(what: string, args: unknown = null): Promise<T> => askPrimary(what, args) as Promise<T>;
  return {
    stat: (kind, windowMs, filter) => ask('stat', { kind, windowMs, filter }),
    top: (windowMs, limit) => ask('top', { windowMs, limit }),
    edges: (windowMs) => ask('edges', { windowMs }),
    timeline: (kind, name, windowMs) => ask('timeline', { kind, name, windowMs }),
    alerts: () => ask('alerts'),
    certificates: () => ask('certificates'),
    tap: (filter, maxRps, headers, onEvent) => relay.open(filter, maxRps, headers, onEvent),
  };
}

export async function createObservers(o: ServeOptions, log: Logger, mode: Mode = process.send !== undefined && cluster.isWorker ? 'worker' : 'single'): Promise<Observers> {
  const access = o.accessLog !== null ? new AccessLog({ format: o.accessLog.format, filePath: o.accessLog.filePath, bufferingSize: o.accessLog.bufferingSize, fields: o.accessLog.fields }) : null;
  const store = new MetricsStore({ mode: mode === 'worker' ? 'worker' : 'local', ...(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {}) });
  const bus = new TapBus({ idPrefix: mode === 'worker' ? String(cluster.worker?.id ?? process.pid) : '0' });
  const gauges = new GaugeFeed(store);
  const sources: { alerts: AlertSource; certs: CertificateSource } = { alerts: () => [], certs: () => [] };
  let timer: NodeJS.Timeout | null = null;
  let relay: WorkerTapRelay | null = null;
  if (mode === 'worker') {
    relay = new WorkerTapRelay(bus);
    timer = setInterval(() => {
      gauges.refresh();
      if (process.connected) process.send?.({ gh: 'metrics', delta: store.takeDelta() });
    }, 1000);
    timer.unref();
  }
  const metricsOn = o.observability.metrics;
  const callerHeader = o.observability.callerHeader;
  const live = new LiveExchanges(bus, { countBodyBytes: metricsOn || access !== null, callerHeader });
  // One record per finished exchange; tap events only for exchanges a tap saw start.
  const onEnd = (ctx: RequestContext): void => {
    const end = performance.now();
    const grpc = metricsOn || live.size !== 0 ? grpcStatusOf(ctx) : null;
    const bytesIn = live.end(ctx, end, grpc);
    if (metricsOn) store.record(exchangeRecordFromContext(ctx, { endMs: end, grpcStatus: grpc, callerHeader, ...(bytesIn !== undefined ? { bytesIn } : {}) }));
    if (access !== null) access.log(accessLogEntryFromContext(ctx, { endMs: end, ...(bytesIn !== undefined ? { bytesIn } : {}) }));
  };
  const identityEnabled = o.identity.enabled || o.identity.insecure;
  const idp = identityEnabled
    ? new IdentityProvider({
        dataDir: o.dataDir,
        issuerBaseUrl: o.identity.issuerBaseUrl ?? undefined,
        log: log.child({ service: 'identity@internal' }),
        // In a cluster the primary owns key creation; workers only load (rotation happens at restart).
        ...(mode === 'worker' ? { rotationIntervalMs: 365 * 24 * 3600 * 1000 } : {}),
      })
    : null;
  await idp?.init();
  const prometheus: Handler = (ctx) => {
    if (mode === 'single') {
      gauges.refresh();
      sendText(ctx, 200, prometheusText(store, o), { 'content-type': PROMETHEUS_CONTENT_TYPE });
      return;
    }
    askPrimary('prometheus').then(
      (text) => sendText(ctx, 200, String(text), { 'content-type': PROMETHEUS_CONTENT_TYPE }),
      (err: unknown) => {
        log.warn({ err }, 'metrics unavailable');
        sendText(ctx, 503, 'metrics unavailable: the primary process did not answer');
      },
    );
  };
  const backend = relay !== null ? primaryBackend(relay) : localBackend(store, bus, gauges, sources);
  return {
    hooks: {
      onEnd,
      onStart: live.onStart,
      internal: { 'prometheus@internal': prometheus, ...(idp !== null ? { 'identity@internal': idp.handler } : {}) },
      observeApi: createObserveApiHandler(backend),
      attach: (g) => {
        gauges.gateway = g;
      },
    },
    metrics: store,
    tap: bus,
    onSnapshot(s) {
      idp?.update(compileIdentity(s.resources, process.env).config);
      if (mode === 'single') store.recordConfigReload(s.issues.every((i) => i.severity === 'warning'));
    },
    setAlertSource(fn) {
      sources.alerts = fn;
    },
    setCertificateSource(fn) {
      sources.certs = fn;
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      relay?.close();
      await idp?.close();
      if (access !== null) await access.close();
    },
  };
}

/** In the primary, before workers start: create (or rotate) the identity signing keys once, so workers only load them. */
export async function prepareIdentityKeys(o: ServeOptions, log: Logger): Promise<void> {
  if (!(o.identity.enabled || o.identity.insecure)) return;
  const idp = new IdentityProvider({ dataDir: o.dataDir, log });
  await idp.init();
  await idp.close();
}

function isKind(k: unknown): k is StatKind {
  return typeof k === 'string' && (STAT_KINDS as readonly string[]).includes(k);
}

function num(v: unknown, def: number, max: number): number {
  return typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.min(v, max) : def;
}

/** The queries workers ask the primary (views over the aggregate of every worker). */
function primaryQueries(store: MetricsStore, o: ServeOptions, sources: { alerts: AlertSource; certs: CertificateSource }): QueryHandlers {
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
      return store.timeline(x.kind, x.name, num(x.windowMs, 3_600_000, 3_600_000));
    },
    alerts: () => sources.alerts(),
    certificates: () => sources.certs(),
  };
}

export interface PrimaryObservers {
  store: MetricsStore;
  onSnapshot(s: Snapshot): void;
  setAlertSource(fn: AlertSource): void;
  setCertificateSource(fn: CertificateSource): void;
  detach(): void;
}

/** In the primary: aggregate workers' metric deltas, answer their queries, relay taps. */
export function attachPrimaryObservers(c: Cluster, o: ServeOptions): PrimaryObservers {
  const store = new MetricsStore({ mode: 'local', ...(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {}) });
  const sources: { alerts: AlertSource; certs: CertificateSource } = { alerts: () => [], certs: () => [] };
  const onMessage = (w: { id: number }, m: { gh?: string; delta?: MetricsDelta }): void => {
    if (m?.gh === 'metrics' && m.delta !== undefined) store.applyDelta(m.delta, String(w.id));
  };
  const onExit = (w: { id: number }): void => store.forgetSource(String(w.id));
  c.on('message', onMessage);
  c.on('exit', onExit);
  const detachQ = serveQueries(c, primaryQueries(store, o, sources));
  const detachTap = attachPrimaryTapRelay(c);
  return {
    store,
    onSnapshot: (s) => store.recordConfigReload(s.issues.every((i) => i.severity === 'warning')),
    setAlertSource(fn) {
      sources.alerts = fn;
    },
    setCertificateSource(fn) {
      sources.certs = fn;
    },
    detach() {
      c.off('message', onMessage);
      c.off('exit', onExit);
      detachQ();
      detachTap();
    },
  };
}
