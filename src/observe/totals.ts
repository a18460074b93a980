/**
 * Counters since start (not windowed) in the label sets of Traefik's Prometheus
 * metrics, plus Gatehouse's per-caller series. Duration histograms keep exact
 * counts for the configured `le` bounds (Prometheus' own semantics: value ≤ le),
 * so a scrape never reports a value in the wrong bucket.
 */

/** Traefik's default Prometheus buckets, seconds. */
export const DEFAULT_PROM_BUCKETS: readonly number[] = Object.freeze([0.1, 0.3, 1.2, 5]);

export const SEP = '\u0001';

/** One labelled series: request count, duration sum/buckets, bytes. */
/** The five totals series one exchange counts into. */
export interface FastSeries {
  ep: TotalsSeries;
  rt: TotalsSeries | null;
  sv: TotalsSeries | null;
  cl: TotalsSeries;
  cd: TotalsSeries;
}

export interface TotalsSeries {
  labels: string[];
  count: number;
  /** Requests with a duration (the histogram's count): all but the gateway's own long-lived streams. */
  timed: number;
  /** Sum of durations, seconds. */
  sum: number;
  /** Non-cumulative counts per bound: buckets[i] = values in (le[i-1], le[i]]. Values above the last bound are count - Σ. */
  buckets: number[];
  bytesIn: number;
  bytesOut: number;
}

/** Plain-JSON form of the totals (also a worker's delta). */
export interface TotalsDelta {
  ep: TotalsSeries[];
  rt: TotalsSeries[];
  sv: TotalsSeries[];
  /** caller, router, service, classification. */
  cl: TotalsSeries[];
  /** caller. */
  cd: TotalsSeries[];
  /** [service, retries]. */
  rr: Array<[string, number]>;
  /** [answer code, entry point, count]: answers the gateway made itself. */
  an?: Array<[string, string, number]>;
}

export type TotalsTable = Map<string, TotalsSeries>;

export class Totals {
  /** code, method, protocol, entrypoint */
  readonly entrypoints: TotalsTable = new Map();
  /** code, method, protocol, router, service */
  readonly routers: TotalsTable = new Map();
  /** code, method, protocol, service */
  readonly services: TotalsTable = new Map();
  /** caller, router, service, classification (counts only) */
  readonly callers: TotalsTable = new Map();
  /** caller (durations) */
  readonly callerDurations: TotalsTable = new Map();
  /** service → retries */
  readonly retries = new Map<string, number>();
  /** code SEP entry point → answers the gateway made itself */
  readonly answers = new Map<string, number>();

  constructor(readonly bounds: readonly number[] = DEFAULT_PROM_BUCKETS) {}

  /** Index of the first bound ≥ seconds, or bounds.length when above all. */
  boundIndex(seconds: number): number {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    return i;
  }

  /** Resolved series per full label combination (metrics.ts's hot path). */
  readonly fast = new Map<string, FastSeries>();

  /** Create the series `key` of `table` (first request with these labels). */
  create(table: TotalsTable, key: string, labels: string[]): TotalsSeries {
    const s: TotalsSeries = {
      labels,
      count: 0,
      timed: 0,
      sum: 0,
      buckets: new Array<number>(this.bounds.length).fill(0),
      bytesIn: 0,
      bytesOut: 0,
    };
    table.set(key, s);
    return s;
  }

  /**
   * Count one request into a series. `boundIndex` = this.boundIndex(seconds), computed once per
   * request; -1 counts the request without its duration (a long-lived stream of the gateway's own API).
   */
  bump(s: TotalsSeries, seconds: number, boundIndex: number, bytesIn: number, bytesOut: number): void {
    s.count++;
    if (boundIndex >= 0) {
      s.timed++;
      s.sum += seconds;
      if (boundIndex < s.buckets.length) s.buckets[boundIndex]! += 1;
    }
    s.bytesIn += bytesIn;
    s.bytesOut += bytesOut;
  }

  addRetries(service: string, n: number): void {
    if (n > 0) this.retries.set(service, (this.retries.get(service) ?? 0) + n);
  }

  addAnswer(code: string, entryPoint: string, n = 1): void {
    const k = code + SEP + entryPoint;
    this.answers.set(k, (this.answers.get(k) ?? 0) + n);
  }

  toDelta(): TotalsDelta {
    return {
      ep: [...this.entrypoints.values()],
      rt: [...this.routers.values()],
      sv: [...this.services.values()],
      cl: [...this.callers.values()],
      cd: [...this.callerDurations.values()],
      rr: [...this.retries],
      an: [...this.answers].map(([k, n]): [string, string, number] => {
        const i = k.indexOf(SEP);
        return [k.slice(0, i), k.slice(i + 1), n];
      }),
    };
  }

  get empty(): boolean {
    return this.entrypoints.size === 0 && this.callers.size === 0 && this.retries.size === 0 && this.answers.size === 0;
  }

  /**
   * Merge a delta. `mapLabels` may rewrite label values (e.g. fold callers
   * over the cap) for the caller tables; it gets the table name.
   */
  merge(d: TotalsDelta, mapLabels?: (table: 'cl' | 'cd', labels: string[]) => string[]): void {
    mergeTable(this.entrypoints, d.ep, this.bounds.length);
    mergeTable(this.routers, d.rt, this.bounds.length);
    mergeTable(this.services, d.sv, this.bounds.length);
    mergeTable(this.callers, d.cl, this.bounds.length, mapLabels && ((l) => mapLabels('cl', l)));
    mergeTable(this.callerDurations, d.cd, this.bounds.length, mapLabels && ((l) => mapLabels('cd', l)));
    for (const [svc, n] of d.rr) if (typeof svc === 'string' && Number.isFinite(n)) this.addRetries(svc, n);
    for (const [code, ep, n] of d.an ?? [])
      if (typeof code === 'string' && typeof ep === 'string' && Number.isFinite(n) && n > 0) this.addAnswer(code, ep, n);
  }
}

function mergeTable(into: TotalsTable, from: TotalsSeries[], nb: number, mapLabels?: (l: string[]) => string[]): void {
  for (const src of from) {
    if (!Array.isArray(src.labels) || !src.labels.every((x) => typeof x === 'string')) continue;
    const labels = mapLabels === undefined ? src.labels : mapLabels(src.labels);
    const key = labels.join(SEP);
    let s = into.get(key);
    if (s === undefined) {
      s = { labels: [...labels], count: 0, timed: 0, sum: 0, buckets: new Array<number>(nb).fill(0), bytesIn: 0, bytesOut: 0 };
      into.set(key, s);
    }
    s.count += num(src.count);
    s.timed += typeof src.timed === 'number' ? num(src.timed) : num(src.count);
    s.sum += num(src.sum);
    s.bytesIn += num(src.bytesIn);
    s.bytesOut += num(src.bytesOut);
    if (Array.isArray(src.buckets)) for (let i = 0; i < nb && i < src.buckets.length; i++) s.buckets[i]! += num(src.buckets[i]);
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}
