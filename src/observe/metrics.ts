/**
 * The metrics store: one `record()` per completed exchange feeds
 *  - windowed golden metrics (requests, success, latency histogram, bytes) per
 *    edge `entrypoint · caller → router → service → server`; every view
 *    (stat by kind, edges, filters) is a group-by over these series at query time;
 *  - windowed path-template series for `top`;
 *  - counters since start in Traefik's Prometheus label sets (totals.ts).
 *
 * Cardinality is capped: callers beyond `maxCallers` fold into `other`, edges
 * beyond `maxSeries` into one `other` series, path templates beyond `maxPaths`
 * into `other`.
 *
 * Multi-worker: a store created with `mode: 'worker'` keeps nothing but what
 * happened since its last `takeDelta()` (per-second slices); the primary's store
 * (`mode: 'local'`) merges every worker's delta with `applyDelta()` and answers
 * the queries.
 */
import { bucketIndex } from './histogram.js';
import {
  DEFAULT_LEVELS,
  PendingSlices,
  SlidingWindows,
  WindowSum,
  type Sample,
  type SliceDelta,
  type TimelinePoint,
  type WindowLevel,
} from './windows.js';
import { LabelCap, PathTemplater, isSuccess, methodLabel } from './classify.js';
import { DEFAULT_PROM_BUCKETS, SEP, Totals, type FastSeries, type TotalsDelta } from './totals.js';
import { HISTORY_KINDS, HISTORY_POINTS, HISTORY_SLICE_MS, History, type HistoryKind } from './history.js';

/** A router's last exchange labels and the series they resolved to (see MetricsStore.memo). */
interface Memo {
  gen: number;
  entryPoint: string;
  caller: string;
  service: string;
  server: string;
  edge: EdgeSeries;
  totals: Totals | null;
  status: number;
  method: string;
  protocol: string;
  success: boolean;
  fast: FastSeries | null;
}

/** Traefik's `protocol` label values. */
export type ExchangeProtocol = 'http' | 'websocket' | 'sse' | 'grpc' | 'grpc-web';

/** One completed exchange, as the server reports it. */
export interface ExchangeRecord {
  entryPoint: string;
  /** Router name ('' when no router matched). */
  router: string;
  /** Service name ('' when none answered). */
  service: string;
  /** Backend server URL ('' when none was tried). */
  server: string;
  /** Caller identity: verified token client id, or the source address (configurable). */
  caller: string;
  method: string;
  /** Status sent to the client; 0 = no response. */
  status: number;
  grpcStatus: number | null;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  retries: number;
  /** The attempt failed without a backend response (connection error, timeout). */
  upstreamError: boolean;
  /** End of the exchange, epoch ms. */
  at: number;
  /** Request path (no query), for `top`. Optional: without it the exchange is not in `top`. */
  path?: string;
  /** Defaults to 'grpc' when grpcStatus is set, else 'http'. */
  protocol?: ExchangeProtocol;
  /** Why the gateway answered itself (src/http/answer-codes.ts); absent or null when the backend answered. */
  code?: string | null;
  /**
   * A long-lived stream of the gateway's own API (the dashboard's server-sent events): counted
   * as a request, but its duration (how long a browser tab stayed open) is not a latency, so it
   * stays out of every latency histogram, quantile and duration sum.
   */
  streaming?: boolean;
}

export type StatKind = 'entrypoints' | 'routers' | 'services' | 'servers' | 'callers';
export const STAT_KINDS: readonly StatKind[] = Object.freeze(['entrypoints', 'routers', 'services', 'servers', 'callers']);

export interface StatFilter {
  /** Only exchanges from this caller. */
  from?: string;
  /** Only exchanges to this router, service or server. */
  to?: string;
}

/** One row of `gatehouse stat` (contract names). */
export interface StatRow {
  name: string;
  /** 0..1, null without requests in the window. */
  success: number | null;
  rps: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  requests: number;
  /** Answers 400–499 in the window (successes, as in Linkerd, but shown apart); always set by the store. */
  clientErrors?: number;
  /** Open TCP connections (entrypoints; servers when reported), null when unknown. */
  tcpConnections: number | null;
}

export interface EdgeRow {
  caller: string;
  router: string;
  service: string;
  server: string;
  success: number | null;
  rps: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  requests: number;
  /** Answers 400–499 in the window. */
  clientErrors: number;
}

export interface TopRow {
  method: string;
  path: string;
  count: number;
  rps: number;
  bestMs: number | null;
  worstMs: number | null;
  lastMs: number | null;
  success: number | null;
}

/** One row of the overview: figures over the last minute and points over the chosen range. */
export interface SummaryRow {
  name: string;
  success: number | null;
  rps: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  requests: number;
  clientErrors: number;
  points: TimelinePoint[];
}

/** What the dashboard's first page shows (`/api/gatehouse/summary`). */
export interface Summary {
  /** When computed, epoch ms. */
  at: number;
  /** Window of the figures, ms (the last minute). */
  windowMs: number;
  /** Range of the points, ms, and the length of one point. */
  rangeMs: number;
  stepMs: number;
  /** All user traffic: every exchange whose router is not `@internal` (unrouted requests included). */
  total: SummaryRow;
  /** Busiest routers and services (not `@internal`) over the window, most requests first. */
  routers: SummaryRow[];
  services: SummaryRow[];
  /** Traffic of the `@internal` routers (the API, the dashboard, ping, metrics), kept out of `total`. */
  internal: { requests: number; rps: number };
}

/** Longest range a chart can ask for: 24 h (5-minute points from the history beyond 1 h). */
export const MAX_TIMELINE_MS = 24 * 3_600_000;
/** A history period is rolled this long after it ends (late worker deltas). */
const ROLL_GRACE_MS = 10_000;

type SeriesKind = StatKind | 'total';
interface GroupSpec {
  kind: SeriesKind;
  name: string;
}

export interface MetricsOptions {
  mode?: 'local' | 'worker';
  maxCallers?: number;
  maxSeries?: number;
  maxPaths?: number;
  /** Prometheus histogram bounds, seconds (Traefik's default 0.1, 0.3, 1.2, 5). */
  prometheusBuckets?: readonly number[];
  levels?: readonly WindowLevel[];
  /** Clock, epoch ms (tests). */
  now?: () => number;
  /** Names (routers, services, entry points) with a 24-hour history (default 500). */
  maxHistoryNames?: number;
}

/** A worker's metrics since its previous delta: plain JSON, sent over IPC. */
export interface MetricsDelta {
  v: 1;
  /** [entryPoint, caller, router, service, server] and their 1 s slices. */
  edges: Array<{ k: string[]; s: SliceDelta[] }>;
  /** [method, pathTemplate] and their 1 s slices (no histograms). */
  paths: Array<{ k: string[]; s: SliceDelta[] }>;
  totals: TotalsDelta;
  /** Open connections per entry point (absolute), when changed. */
  conn?: Record<string, number>;
  /** Open connections per backend server URL (absolute), when changed. */
  serverConn?: Record<string, number>;
  /** [service, url, up 0|1], when changed. */
  up?: Array<[string, string, number]>;
}

export interface ReloadStats {
  total: number;
  failures: number;
  /** Epoch seconds, 0 when never. */
  lastSuccess: number;
  lastFailure: number;
  /** Per provider: 1 while it serves the last good version of something it refuses now (gatehouse_config_stale). */
  stale: Record<string, number>;
  /** Per provider: ready (gatehouse_provider_ready) and the revision in force (gatehouse_provider_revision_info). */
  providers: Array<{ name: string; ready: boolean; revision: string }>;
  /** Per kubernetescrd provider: 1 while this replica holds its Lease (gatehouse_kubernetes_leader); replaced, never mutated. */
  leaders?: Record<string, number>;
  /** ACME orders by resolver and result (gatehouse_acme_orders_total); totals from the engine, replaced, never mutated. */
  acmeOrders?: Array<{ resolver: string; result: string; count: number }>;
}

/** What the Prometheus renderer reads. */
export interface PrometheusSnapshot {
  totals: Totals;
  connections: Map<string, number>;
  serverUp: Array<{ service: string; url: string; up: boolean }>;
  reloads: ReloadStats;
}

interface EdgeSeries {
  k: string[];
  win: SlidingWindows | null;
  pending: PendingSlices | null;
}

const OTHER = 'other';

export class MetricsStore {
  readonly mode: 'local' | 'worker';
  private readonly now: () => number;
  private readonly levels: readonly WindowLevel[];
  private readonly maxSeries: number;
  private readonly maxPaths: number;
  private readonly callers: LabelCap;
  private readonly templater = new PathTemplater();
  private readonly edgeSeries = new Map<string, EdgeSeries>();
  /**
   * Per router, the labels and series of its last exchange: consecutive exchanges of a
   * router nearly always share them, and comparing a few (interned) strings is cheaper than
   * building and hashing the series keys. `memoGen` changes whenever series are dropped.
   */
  private readonly memo = new Map<string, Memo>();
  private memoGen = 0;
  private readonly pathSeries = new Map<string, EdgeSeries>();
  private totals: Totals;
  private readonly origin: number;
  /** source → entryPoint → open connections */
  private readonly conn = new Map<string, Map<string, number>>();
  private readonly serverConn = new Map<string, Map<string, number>>();
  private readonly serverUp = new Map<string, { service: string; url: string; up: boolean }>();
  private gaugesDirty = false;
  private readonly reloads: ReloadStats = { total: 0, failures: 0, lastSuccess: 0, lastFailure: 0, stale: {}, providers: [] };
  private lastPrune: number;
  /** 5-minute points over 24 h (local mode, when the last level can feed it), else null. */
  private readonly history: History | null;
  /** Next history period to roll, and when it can be. */
  private nextRoll: number;
  private nextRollAt: number;
  /** Scratch sample reused by record() (no allocation per request). */
  private readonly sample: Sample = {
    at: 0,
    latencyMs: 0,
    bucket: 0,
    success: true,
    clientError: false,
    timed: true,
    bytesIn: 0,
    bytesOut: 0,
    retries: 0,
  };

  constructor(opts: MetricsOptions = {}) {
    this.mode = opts.mode ?? 'local';
    this.now = opts.now ?? Date.now;
    this.levels = opts.levels ?? DEFAULT_LEVELS;
    this.maxSeries = opts.maxSeries ?? 2000;
    this.maxPaths = opts.maxPaths ?? 500;
    this.callers = new LabelCap(opts.maxCallers ?? 100, OTHER);
    const bounds = [...(opts.prometheusBuckets ?? DEFAULT_PROM_BUCKETS)].sort((a, b) => a - b);
    this.totals = new Totals(Object.freeze(bounds));
    this.origin = this.now();
    this.lastPrune = this.origin;
    const last = this.levels[this.levels.length - 1] as WindowLevel;
    const feeds = HISTORY_SLICE_MS % last.sliceMs === 0 && (last.slots - 1) * last.sliceMs >= 2 * HISTORY_SLICE_MS;
    this.history = this.mode === 'local' && feeds ? new History(opts.maxHistoryNames ?? 500) : null;
    this.nextRoll = Math.floor(this.origin / HISTORY_SLICE_MS);
    this.nextRollAt = this.history === null ? Infinity : (this.nextRoll + 1) * HISTORY_SLICE_MS + ROLL_GRACE_MS;
  }

  /** Prometheus bounds in force (seconds). */
  get prometheusBuckets(): readonly number[] {
    return this.totals.bounds;
  }

  /** Record one completed exchange (hot path: a few map look-ups, no closures). */
  record(e: ExchangeRecord): void {
    if (e.at >= this.nextRollAt) this.rollHistory(e.at);
    const success = isSuccess(e.status, e.grpcStatus, e.upstreamError);
    const caller = this.callers.fold(e.caller === '' ? 'unknown' : e.caller);
    const s = this.sample;
    s.at = e.at;
    s.latencyMs = e.latencyMs >= 0 ? e.latencyMs : 0;
    s.bucket = bucketIndex(s.latencyMs);
    s.success = success;
    s.clientError = e.status >= 400 && e.status < 500;
    s.timed = e.streaming !== true;
    s.bytesIn = e.bytesIn;
    s.bytesOut = e.bytesOut;
    s.retries = e.retries;

    let m = this.memo.get(e.router);
    let edge: EdgeSeries;
    if (
      m !== undefined &&
      m.gen === this.memoGen &&
      m.entryPoint === e.entryPoint &&
      m.caller === caller &&
      m.service === e.service &&
      m.server === e.server
    ) {
      edge = m.edge;
    } else {
      const key = e.entryPoint + SEP + caller + SEP + e.router + SEP + e.service + SEP + e.server;
      edge = this.edgeSeries.get(key) ?? this.newEdge(key, e.entryPoint, caller, e.router, e.service, e.server);
      if (this.memo.size >= 4096) this.memo.clear();
      m = {
        gen: this.memoGen,
        entryPoint: e.entryPoint,
        caller,
        service: e.service,
        server: e.server,
        edge,
        totals: null,
        status: 0,
        method: '',
        protocol: '',
        success: false,
        fast: null,
      };
      this.memo.set(e.router, m);
    }
    if (edge.win !== null) edge.win.record(s);
    else edge.pending!.record(s, true);

    if (e.path !== undefined) {
      const method = methodLabel(e.method);
      const pkey = method + SEP + this.templater.template(e.path);
      const ps = this.pathSeries.get(pkey) ?? this.newPath(pkey);
      if (ps.win !== null) ps.win.record(s);
      else ps.pending!.record(s, false);
    }

    this.recordTotals(e, caller, success, s.latencyMs, m, s.timed);
  }

  private recordTotals(e: ExchangeRecord, caller: string, success: boolean, latencyMs: number, m: Memo, timed: boolean): void {
    const t = this.totals;
    const sec = latencyMs / 1000;
    const bi = timed ? t.boundIndex(sec) : -1;
    const protocol = e.protocol ?? (e.grpcStatus !== null ? 'grpc' : 'http');
    let f: FastSeries | undefined;
    // The router's memo (same entry point, caller, service) holds the series of its last status/method/protocol.
    if (m.totals === t && m.status === e.status && m.method === e.method && m.protocol === protocol && m.success === success) f = m.fast!;
    else {
      const cls = success ? 'success' : 'failure';
      // One key and one look-up per request for the five series it counts into.
      const fk =
        e.status + SEP + e.method + SEP + protocol + SEP + e.entryPoint + SEP + e.router + SEP + e.service + SEP + caller + SEP + cls;
      f = t.fast.get(fk);
      if (f === undefined) f = this.resolveTotals(t, e, caller, protocol, cls, fk);
      m.totals = t;
      m.status = e.status;
      m.method = e.method;
      m.protocol = protocol;
      m.success = success;
      m.fast = f;
    }
    t.bump(f.ep, sec, bi, e.bytesIn, e.bytesOut);
    if (f.rt !== null) t.bump(f.rt, sec, bi, e.bytesIn, e.bytesOut);
    if (f.sv !== null) {
      t.bump(f.sv, sec, bi, e.bytesIn, e.bytesOut);
      if (e.retries > 0) t.addRetries(e.service, e.retries);
    }
    if (e.code !== undefined && e.code !== null) t.addAnswer(e.code, e.entryPoint);
    t.bump(f.cl, sec, bi, e.bytesIn, e.bytesOut);
    t.bump(f.cd, sec, bi, e.bytesIn, e.bytesOut);
  }

  private resolveTotals(t: Totals, e: ExchangeRecord, caller: string, protocol: string, cls: string, fk: string): FastSeries {
    let f: FastSeries;
    {
      const code = String(e.status);
      const method = methodLabel(e.method);
      const head = code + SEP + method + SEP + protocol + SEP;
      let k = head + e.entryPoint;
      const ep = t.entrypoints.get(k) ?? t.create(t.entrypoints, k, [code, method, protocol, e.entryPoint]);
      let rt = null;
      if (e.router !== '') {
        k = head + e.router + SEP + e.service;
        rt = t.routers.get(k) ?? t.create(t.routers, k, [code, method, protocol, e.router, e.service]);
      }
      let sv = null;
      if (e.service !== '') {
        k = head + e.service;
        sv = t.services.get(k) ?? t.create(t.services, k, [code, method, protocol, e.service]);
      }
      k = caller + SEP + e.router + SEP + e.service + SEP + cls;
      const cl = t.callers.get(k) ?? t.create(t.callers, k, [caller, e.router, e.service, cls]);
      const cd = t.callerDurations.get(caller) ?? t.create(t.callerDurations, caller, [caller]);
      f = { ep, rt, sv, cl, cd };
      if (t.fast.size >= 4096) t.fast.clear();
      t.fast.set(fk, f);
    }
    return f;
  }

  private newEdge(key: string, ep: string, caller: string, router: string, service: string, server: string): EdgeSeries {
    if (this.edgeSeries.size >= this.maxSeries) {
      const okey = [OTHER, OTHER, OTHER, OTHER, OTHER].join(SEP);
      const o = this.edgeSeries.get(okey);
      if (o !== undefined) return o;
      return this.addSeries(this.edgeSeries, okey, [OTHER, OTHER, OTHER, OTHER, OTHER], true);
    }
    return this.addSeries(this.edgeSeries, key, [ep, caller, router, service, server], true);
  }

  private newPath(key: string): EdgeSeries {
    if (this.pathSeries.size >= this.maxPaths) {
      const okey = OTHER + SEP + OTHER;
      return this.pathSeries.get(okey) ?? this.addSeries(this.pathSeries, okey, [OTHER, OTHER], false);
    }
    const i = key.indexOf(SEP);
    return this.addSeries(this.pathSeries, key, [key.slice(0, i), key.slice(i + 1)], false);
  }

  private addSeries(map: Map<string, EdgeSeries>, key: string, k: string[], withHistogram: boolean): EdgeSeries {
    const s: EdgeSeries =
      this.mode === 'worker'
        ? { k, win: null, pending: new PendingSlices() }
        : { k, win: new SlidingWindows(this.levels, withHistogram), pending: null };
    map.set(key, s);
    return s;
  }

  /** Gauge reported by the server: open TCP connections on an entry point. */
  setConnections(entryPoint: string, n: number, source = 'local'): void {
    setGauge(this.conn, source, entryPoint, n);
    this.gaugesDirty = true;
  }

  /** Gauge reported by the upstream pools: open connections to a backend server. */
  setServerConnections(serverUrl: string, n: number, source = 'local'): void {
    setGauge(this.serverConn, source, serverUrl, n);
    this.gaugesDirty = true;
  }

  /** Health of one backend server (health checks); `traefik_service_server_up`. */
  setServerUp(service: string, url: string, up: boolean): void {
    this.serverUp.set(service + SEP + url, { service, url, up });
    this.gaugesDirty = true;
  }

  /** Forget a server (configuration no longer has it). */
  removeServer(service: string, url: string): void {
    this.serverUp.delete(service + SEP + url);
    this.gaugesDirty = true;
  }

  /** Which providers serve a last good version of something they refuse now (every active provider named). */
  setConfigStale(byProvider: Record<string, boolean>): void {
    this.reloads.stale = Object.fromEntries(Object.entries(byProvider).map(([p, s]) => [p, s ? 1 : 0]));
  }

  /** Each provider's readiness and the revision in force, after every reload. */
  setProviders(list: Array<{ name: string; ready: boolean; revision: string }>): void {
    this.reloads.providers = list.map((p) => ({ ...p }));
  }

  /** Whether this replica holds the kubernetescrd provider's Lease (gatehouse_kubernetes_leader). */
  setKubernetesLeader(provider: string, leader: boolean): void {
    this.reloads.leaders = { ...this.reloads.leaders, [provider]: leader ? 1 : 0 };
  }

  /** ACME orders so far, by resolver and result (gatehouse_acme_orders_total). */
  setAcmeOrders(rows: ReadonlyArray<{ resolver: string; result: string; count: number }>): void {
    this.reloads.acmeOrders = rows.map((r) => ({ ...r }));
  }

  /** A configuration reload happened (primary). */
  recordConfigReload(success: boolean, at = this.now()): void {
    this.reloads.total++;
    if (success) this.reloads.lastSuccess = at / 1000;
    else {
      this.reloads.failures++;
      this.reloads.lastFailure = at / 1000;
    }
  }

  /** Golden metrics per name of `kind` over the window ending now. */
  stat(kind: StatKind, windowMs: number, filter: StatFilter = {}): StatRow[] {
    const now = this.now();
    this.maybePrune(now);
    const idx = KIND_INDEX[kind];
    const groups = new Map<string, WindowSum>();
    for (const s of this.edgeSeries.values()) {
      if (s.win === null) continue;
      const k = s.k;
      if (filter.from !== undefined && k[1] !== filter.from) continue;
      if (filter.to !== undefined && k[2] !== filter.to && k[3] !== filter.to && k[4] !== filter.to) continue;
      const name = k[idx] as string;
      if (name === '') continue;
      let g = groups.get(name);
      if (g === undefined) groups.set(name, (g = new WindowSum()));
      s.win.query(now, windowMs, g, this.origin);
    }
    if (kind === 'entrypoints' && filter.from === undefined && filter.to === undefined) {
      for (const m of this.conn.values()) for (const ep of m.keys()) if (!groups.has(ep)) groups.set(ep, new WindowSum());
    }
    const rows: StatRow[] = [];
    for (const [name, g] of groups) {
      rows.push({
        name,
        success: g.successRate(),
        rps: round(g.rps()),
        latencyP50Ms: roundOrNull(g.quantile(0.5)),
        latencyP95Ms: roundOrNull(g.quantile(0.95)),
        latencyP99Ms: roundOrNull(g.quantile(0.99)),
        requests: g.requests,
        clientErrors: g.clientErrors,
        tcpConnections:
          kind === 'entrypoints' ? sumGauge(this.conn, name) : kind === 'servers' ? sumGaugeOrNull(this.serverConn, name) : null,
      });
    }
    return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Who talks to whom: caller → router → service → server, with golden metrics. */
  edges(windowMs: number): EdgeRow[] {
    const now = this.now();
    const groups = new Map<string, { k: string[]; g: WindowSum }>();
    for (const s of this.edgeSeries.values()) {
      if (s.win === null) continue;
      const [, caller, router, service, server] = s.k as [string, string, string, string, string];
      const key = caller + SEP + router + SEP + service + SEP + server;
      let e = groups.get(key);
      if (e === undefined) groups.set(key, (e = { k: [caller, router, service, server], g: new WindowSum() }));
      s.win.query(now, windowMs, e.g, this.origin);
    }
    const rows: EdgeRow[] = [];
    for (const { k, g } of groups.values()) {
      if (g.requests === 0) continue;
      rows.push({
        caller: k[0] as string,
        router: k[1] as string,
        service: k[2] as string,
        server: k[3] as string,
        success: g.successRate(),
        rps: round(g.rps()),
        latencyP50Ms: roundOrNull(g.quantile(0.5)),
        latencyP95Ms: roundOrNull(g.quantile(0.95)),
        latencyP99Ms: roundOrNull(g.quantile(0.99)),
        requests: g.requests,
        clientErrors: g.clientErrors,
      });
    }
    return rows.sort((a, b) => b.requests - a.requests);
  }

  /** Busiest path templates over the window. */
  top(windowMs: number, limit = 50): TopRow[] {
    const now = this.now();
    const rows: TopRow[] = [];
    for (const s of this.pathSeries.values()) {
      if (s.win === null) continue;
      const g = s.win.query(now, windowMs, new WindowSum(), this.origin);
      if (g.requests === 0) continue;
      rows.push({
        method: s.k[0] as string,
        path: s.k[1] as string,
        count: g.requests,
        rps: round(g.rps()),
        bestMs: round(g.min),
        worstMs: round(g.max),
        lastMs: round(g.last),
        success: g.successRate(),
      });
    }
    rows.sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1));
    return rows.slice(0, limit);
  }

  /**
   * Points (charts) for one name of a kind over `windowMs`, oldest first, the current partial
   * slice last: 5-second points up to 5 minutes, 30-second up to 10, 1-minute up to an hour,
   * then 5-minute points from the history (routers, services and entry points only) up to 24 h.
   * Quantiles of several series are merged from their histograms.
   */
  timeline(kind: StatKind, name: string, windowMs: number): TimelinePoint[] {
    const now = this.now();
    this.maybePrune(now);
    return this.timelines([{ kind, name }], windowMs, now).points[0] ?? [];
  }

  /** What the dashboard's first page shows: the last minute's figures, points over `rangeMs`. */
  summary(rangeMs: number, limit = 5): Summary {
    const now = this.now();
    this.maybePrune(now);
    const windowMs = 60_000;
    const total = new WindowSum();
    const internal = new WindowSum();
    const routers = new Map<string, WindowSum>();
    const services = new Map<string, WindowSum>();
    const add = (m: Map<string, WindowSum>, name: string, s: EdgeSeries): void => {
      if (name === '' || name.endsWith('@internal')) return;
      let g = m.get(name);
      if (g === undefined) m.set(name, (g = new WindowSum()));
      s.win!.query(now, windowMs, g, this.origin);
    };
    for (const s of this.edgeSeries.values()) {
      if (s.win === null) continue;
      const router = s.k[2] as string;
      s.win.query(now, windowMs, router.endsWith('@internal') ? internal : total, this.origin);
      add(routers, router, s);
      add(services, s.k[3] as string, s);
    }
    const busiest = (m: Map<string, WindowSum>): Array<[string, WindowSum]> =>
      [...m]
        .filter(([, g]) => g.requests > 0)
        .sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1))
        .slice(0, limit);
    const r = busiest(routers);
    const sv = busiest(services);
    const specs: GroupSpec[] = [
      { kind: 'total', name: '' },
      ...r.map(([name]) => ({ kind: 'routers' as const, name })),
      ...sv.map(([name]) => ({ kind: 'services' as const, name })),
    ];
    const { stepMs, points } = this.timelines(specs, rangeMs, now);
    const row = (name: string, g: WindowSum, pts: TimelinePoint[] | undefined): SummaryRow => ({
      name,
      success: g.successRate(),
      rps: round(g.rps()),
      latencyP50Ms: roundOrNull(g.quantile(0.5)),
      latencyP95Ms: roundOrNull(g.quantile(0.95)),
      latencyP99Ms: roundOrNull(g.quantile(0.99)),
      requests: g.requests,
      clientErrors: g.clientErrors,
      points: pts ?? [],
    });
    return {
      at: now,
      windowMs,
      rangeMs,
      stepMs,
      total: row('total', total, points[0]),
      routers: r.map(([name, g], i) => row(name, g, points[1 + i])),
      services: sv.map(([name, g], i) => row(name, g, points[1 + r.length + i])),
      internal: { requests: internal.requests, rps: round(internal.rps()) },
    };
  }

  /** Does edge `k` belong to group `g`? */
  private static inGroup(k: readonly string[], g: GroupSpec): boolean {
    return g.kind === 'total' ? !(k[2] as string).endsWith('@internal') : k[KIND_INDEX[g.kind]] === g.name;
  }

  /** Points of several groups over `rangeMs` ending now (one list per spec, in order). */
  private timelines(specs: GroupSpec[], rangeMs: number, now: number): { stepMs: number; points: TimelinePoint[][] } {
    const members = specs.map(() => [] as SlidingWindows[]);
    for (const s of this.edgeSeries.values()) {
      if (s.win === null) continue;
      for (let i = 0; i < specs.length; i++) if (MetricsStore.inGroup(s.k, specs[i]!)) members[i]!.push(s.win);
    }
    const sum = new WindowSum();
    const last = this.levels.length - 1;
    const top = this.levels[last] as WindowLevel;
    if (rangeMs <= (top.slots - 1) * top.sliceMs || this.history === null) {
      let level = last;
      for (let l = 0; l < this.levels.length; l++) {
        const { sliceMs, slots } = this.levels[l] as WindowLevel;
        if ((slots - 1) * sliceMs >= rangeMs) {
          level = l;
          break;
        }
      }
      const { sliceMs, slots } = this.levels[level] as WindowLevel;
      const k = Math.min(slots - 1, Math.max(1, Math.ceil(rangeMs / sliceMs)));
      const nowId = Math.floor(now / sliceMs);
      const points = members.map((wins) => {
        const out: TimelinePoint[] = [];
        for (let id = nowId - k + 1; id <= nowId; id++) {
          sum.reset();
          for (const w of wins) w.addSliceTo(level, id, sum);
          out.push(pointOf(sum, id * sliceMs, sliceMs, now));
        }
        return out;
      });
      return { stepMs: sliceMs, points };
    }
    for (const g of specs)
      if (!(HISTORY_KINDS as readonly string[]).includes(g.kind))
        throw new Error(`${g.kind}: history beyond 1 h is kept for ${HISTORY_KINDS.join(', ')} only`);
    if (now >= this.nextRollAt) this.rollHistory(now);
    const P = HISTORY_SLICE_MS;
    const k = Math.min(HISTORY_POINTS - 1, Math.max(1, Math.ceil(rangeMs / P)));
    const nowP = Math.floor(now / P);
    const per = P / top.sliceMs;
    const points = specs.map((g, i) => {
      const out: TimelinePoint[] = [];
      for (let id = nowP - k + 1; id <= nowP; id++) {
        if (id < this.nextRoll) {
          out.push(this.history!.get(g.kind as HistoryKind, g.name, id));
          continue;
        }
        // Not rolled yet (the current period and the one just over): from the 1-minute slices.
        sum.reset();
        for (const w of members[i]!) for (let j = 0; j < per; j++) w.addSliceTo(last, id * per + j, sum);
        out.push(pointOf(sum, id * P, P, now));
      }
      return out;
    });
    return { stepMs: P, points };
  }

  /** Roll every 5-minute period over (by `now`, less the grace) into the history. */
  private rollHistory(now: number): void {
    const h = this.history;
    if (h === null) return;
    const P = HISTORY_SLICE_MS;
    const lastLevel = this.levels.length - 1;
    const per = P / (this.levels[lastLevel] as WindowLevel).sliceMs;
    const lastDone = Math.floor((now - ROLL_GRACE_MS) / P) - 1;
    // A slice is added only while the ring still holds it (its id matches). None is lost:
    // a record overwrites a slot an hour old only after this roll ran for it (record() checks
    // `nextRollAt` first), and an hour without records overwrites nothing.
    for (let p = Math.max(this.nextRoll, lastDone - HISTORY_POINTS + 1); p <= lastDone; p++) {
      const groups = new Map<string, { kind: HistoryKind; name: string; sum: WindowSum }>();
      const into = (kind: HistoryKind, name: string, w: SlidingWindows): void => {
        const key = kind + SEP + name;
        let g = groups.get(key);
        if (g === undefined) groups.set(key, (g = { kind, name, sum: new WindowSum() }));
        for (let j = 0; j < per; j++) w.addSliceTo(lastLevel, p * per + j, g.sum);
      };
      for (const s of this.edgeSeries.values()) {
        if (s.win === null) continue;
        const [ep, , router, service] = s.k as [string, string, string, string];
        into('entrypoints', ep, s.win);
        if (router !== '') into('routers', router, s.win);
        if (service !== '') into('services', service, s.win);
        if (!router.endsWith('@internal')) into('total', '', s.win);
      }
      for (const g of groups.values()) if (g.sum.requests > 0) h.put(g.kind, g.name, p, pointOf(g.sum, p * P, P, Infinity));
    }
    if (lastDone + 1 > this.nextRoll) this.nextRoll = lastDone + 1;
    this.nextRollAt = (this.nextRoll + 1) * P + ROLL_GRACE_MS;
    h.prune(Math.floor(now / P));
  }

  /** Worker: everything recorded since the previous call, as plain JSON. */
  takeDelta(): MetricsDelta {
    if (this.mode !== 'worker') throw new Error('takeDelta() is for stores created with mode "worker"');
    const edges: MetricsDelta['edges'] = [];
    this.memoGen++; // series below may be dropped
    for (const [key, s] of this.edgeSeries) {
      const sl = s.pending!.drain();
      if (sl.length > 0) edges.push({ k: s.k, s: sl });
      else this.edgeSeries.delete(key);
    }
    const paths: MetricsDelta['paths'] = [];
    for (const [key, s] of this.pathSeries) {
      const sl = s.pending!.drain();
      if (sl.length > 0) paths.push({ k: s.k, s: sl });
      else this.pathSeries.delete(key);
    }
    const totals = this.totals.toDelta();
    this.totals = new Totals(this.totals.bounds);
    const d: MetricsDelta = { v: 1, edges, paths, totals };
    if (this.gaugesDirty) {
      d.conn = Object.fromEntries(this.conn.get('local') ?? []);
      d.serverConn = Object.fromEntries(this.serverConn.get('local') ?? []);
      d.up = [...this.serverUp.values()].map((x) => [x.service, x.url, x.up ? 1 : 0]);
      this.gaugesDirty = false;
    }
    return d;
  }

  /** Primary: merge a worker's delta. `source` identifies the worker (its gauges are replaced, not added). */
  applyDelta(d: MetricsDelta, source = 'worker'): void {
    if (this.mode !== 'local') throw new Error('applyDelta() is for stores created with mode "local"');
    if (d === null || typeof d !== 'object' || d.v !== 1) return;
    const now = this.now();
    if (now >= this.nextRollAt) this.rollHistory(now);
    for (const { k, s } of d.edges ?? []) {
      if (!isStrings(k, 5) || !Array.isArray(s)) continue;
      const caller = this.callers.fold(k[1] as string);
      const key = k[0] + SEP + caller + SEP + k[2] + SEP + k[3] + SEP + k[4];
      const edge = this.edgeSeries.get(key) ?? this.newEdge(key, k[0] as string, caller, k[2] as string, k[3] as string, k[4] as string);
      for (const slice of s) if (isSlice(slice)) edge.win!.addDelta(slice);
    }
    for (const { k, s } of d.paths ?? []) {
      if (!isStrings(k, 2) || !Array.isArray(s)) continue;
      const key = k[0] + SEP + k[1];
      const ps = this.pathSeries.get(key) ?? this.newPath(key);
      for (const slice of s) if (isSlice(slice)) ps.win!.addDelta(slice);
    }
    if (d.totals !== undefined) {
      this.totals.merge(d.totals, (table, labels) => {
        const l = [...labels];
        l[0] = this.callers.fold(l[0] as string);
        return table === 'cl' || table === 'cd' ? l : labels;
      });
    }
    if (d.conn !== undefined) replaceGauges(this.conn, source, d.conn);
    if (d.serverConn !== undefined) replaceGauges(this.serverConn, source, d.serverConn);
    if (Array.isArray(d.up))
      for (const [svc, url, up] of d.up) if (typeof svc === 'string' && typeof url === 'string') this.setServerUp(svc, url, up === 1);
  }

  /** A worker went away: drop its gauges. */
  forgetSource(source: string): void {
    this.conn.delete(source);
    this.serverConn.delete(source);
  }

  prometheusSnapshot(): PrometheusSnapshot {
    const connections = new Map<string, number>();
    for (const m of this.conn.values()) for (const [ep, n] of m) connections.set(ep, (connections.get(ep) ?? 0) + n);
    return {
      totals: this.totals,
      connections,
      serverUp: [...this.serverUp.values()],
      reloads: { ...this.reloads, stale: { ...this.reloads.stale }, providers: this.reloads.providers.map((p) => ({ ...p })) },
    };
  }

  /** Drop windowed series idle for longer than the longest window. */
  prune(now = this.now()): void {
    if (now >= this.nextRollAt) this.rollHistory(now);
    this.lastPrune = now;
    this.memoGen++;
    for (const map of [this.edgeSeries, this.pathSeries])
      for (const [key, s] of map) if (s.win !== null && s.win.idleSince(now)) map.delete(key);
  }

  private maybePrune(now: number): void {
    if (now - this.lastPrune > 60_000) this.prune(now);
  }
}

const KIND_INDEX: Record<StatKind, number> = { entrypoints: 0, callers: 1, routers: 2, services: 3, servers: 4 };

function setGauge(m: Map<string, Map<string, number>>, source: string, name: string, n: number): void {
  let g = m.get(source);
  if (g === undefined) m.set(source, (g = new Map()));
  g.set(name, n);
}

function replaceGauges(m: Map<string, Map<string, number>>, source: string, values: Record<string, number>): void {
  const g = new Map<string, number>();
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) g.set(k, v);
  m.set(source, g);
}

function sumGauge(m: Map<string, Map<string, number>>, name: string): number {
  let n = 0;
  for (const g of m.values()) n += g.get(name) ?? 0;
  return n;
}

function sumGaugeOrNull(m: Map<string, Map<string, number>>, name: string): number | null {
  let n: number | null = null;
  for (const g of m.values()) {
    const v = g.get(name);
    if (v !== undefined) n = (n ?? 0) + v;
  }
  return n;
}

function isStrings(k: unknown, n: number): k is string[] {
  return Array.isArray(k) && k.length === n && k.every((x) => typeof x === 'string');
}

function isSlice(s: unknown): s is SliceDelta {
  if (s === null || typeof s !== 'object') return false;
  const o = s as Record<string, unknown>;
  return typeof o.t === 'number' && typeof o.requests === 'number' && o.requests > 0 && typeof o.min === 'number' && Array.isArray(o.h);
}

function round(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : 0;
}

function roundOrNull(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000;
}

/** A chart point from the sum of one slice; the current slice's rate is over the time elapsed in it. */
function pointOf(g: WindowSum, t: number, sliceMs: number, now: number): TimelinePoint {
  const elapsed = Math.min(sliceMs, Math.max(1000, now - t));
  return {
    t,
    requests: g.requests,
    successes: g.successes,
    clientErrors: g.clientErrors,
    rps: round(g.requests / (elapsed / 1000)),
    p50: roundOrNull(g.quantile(0.5)),
    p95: roundOrNull(g.quantile(0.95)),
    p99: roundOrNull(g.quantile(0.99)),
  };
}
