/**
 * Sliding windows of counters and latency histograms built from fixed time
 * slices, so memory is bounded whatever the traffic:
 *
 *   level   slice   slots  serves
 *   0       1 s     11     windows up to 10 s
 *   1       5 s     61     up to 5 min (also the 5-second points of 5-minute charts)
 *   2       30 s    21     up to 10 min
 *   3       60 s    61     up to 1 h (also the 1-minute points of hour charts;
 *                          history.ts rolls it into 5-minute points for 24 h)
 *
 * Every record goes into the current slice of each level (a ring indexed by
 * `floor(t / sliceMs) % slots`; a slot whose id is stale is reset on reuse).
 * A window query sums the slices of the finest level that covers it: the
 * current, partial slice plus the previous ones. Slice histograms are
 * allocated on first use, so an idle series costs a few hundred bytes.
 *
 * A request may be counted without a latency (`timed: false`): the
 * gateway's own long-lived streams (the dashboard's server-sent events) are
 * requests, but their duration is how long a browser tab stayed open, not a
 * latency. Quantiles, min, max and the latency sum cover `timed` requests only.
 */
import { BUCKETS, Histogram, SparseCounts, addSparse, bucketIndex, quantileOf, toSparse } from './histogram.js';

export interface WindowLevel {
  readonly sliceMs: number;
  readonly slots: number;
}

export const DEFAULT_LEVELS: readonly WindowLevel[] = Object.freeze([
  { sliceMs: 1_000, slots: 11 },
  { sliceMs: 5_000, slots: 61 },
  { sliceMs: 30_000, slots: 21 },
  { sliceMs: 60_000, slots: 61 },
]);

/** The windows the views offer. */
export const WINDOWS_MS = Object.freeze({ '10s': 10_000, '1m': 60_000, '10m': 600_000, '1h': 3_600_000 });

/** Counters of one slice (also the plain-JSON delta unit between processes). */
export interface SliceCounters {
  requests: number;
  /** Requests with a latency (all but the gateway's own long-lived streams): the histogram's count. */
  timed: number;
  successes: number;
  /** Answers 400–499 (successes in Linkerd's sense, shown apart). */
  clientErrors: number;
  bytesIn: number;
  bytesOut: number;
  retries: number;
  latencySum: number;
  /** Best (lowest) latency, ms; Infinity when empty. */
  min: number;
  /** Worst latency, ms; -Infinity when empty. */
  max: number;
  /** Latency of the most recent request and when it ended (epoch ms). */
  last: number;
  lastAt: number;
}

class Slice implements SliceCounters {
  id = -1;
  requests = 0;
  timed = 0;
  successes = 0;
  clientErrors = 0;
  bytesIn = 0;
  bytesOut = 0;
  retries = 0;
  latencySum = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;
  lastAt = 0;
  counts: Uint32Array | null = null;

  reset(id: number): void {
    this.id = id;
    this.requests = 0;
    this.timed = 0;
    this.successes = 0;
    this.clientErrors = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.retries = 0;
    this.latencySum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.last = 0;
    this.lastAt = 0;
    if (this.counts !== null) this.counts.fill(0);
  }
}

/** One exchange as the windows see it. */
export interface Sample {
  at: number;
  latencyMs: number;
  /** `bucketIndex(latencyMs)`, computed once per request by the caller. */
  bucket: number;
  success: boolean;
  /** Status 400–499. */
  clientError: boolean;
  /** False: count the request, not its latency (a long-lived stream of the gateway's own API). */
  timed: boolean;
  bytesIn: number;
  bytesOut: number;
  retries: number;
}

/** Slice data in transit (a worker's delta): counters plus sparse histogram. */
export interface SliceDelta extends SliceCounters {
  /** Slice start, epoch ms (aligned to 1 s). */
  t: number;
  h: SparseCounts;
}

/** Aggregate over a window, possibly over several series (group-by). */
export class WindowSum {
  requests = 0;
  timed = 0;
  successes = 0;
  clientErrors = 0;
  bytesIn = 0;
  bytesOut = 0;
  retries = 0;
  latencySum = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;
  lastAt = 0;
  /** Length of time the sums cover, ms (the widest contributing window). */
  coveredMs = 0;
  readonly hist = new Histogram();

  /** Requests per second over the covered time. */
  rps(): number {
    return this.coveredMs <= 0 ? 0 : this.requests / (this.coveredMs / 1000);
  }
  /** Success ratio 0..1, null when there were no requests. */
  successRate(): number | null {
    return this.requests === 0 ? null : this.successes / this.requests;
  }
  /** Latency quantile in ms, null when there were no requests with a latency. */
  quantile(q: number): number | null {
    return this.timed === 0 ? null : quantileOf(this.hist.counts, this.hist.count, q, this.min, this.max);
  }

  /** Back to empty (a scratch sum reused across points). */
  reset(): this {
    this.requests = 0;
    this.timed = 0;
    this.successes = 0;
    this.clientErrors = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.retries = 0;
    this.latencySum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.last = 0;
    this.lastAt = 0;
    this.coveredMs = 0;
    this.hist.reset();
    return this;
  }

  addSlice(s: SliceCounters, counts: ArrayLike<number> | null): void {
    this.requests += s.requests;
    this.timed += s.timed;
    this.successes += s.successes;
    this.clientErrors += s.clientErrors;
    this.bytesIn += s.bytesIn;
    this.bytesOut += s.bytesOut;
    this.retries += s.retries;
    this.latencySum += s.latencySum;
    if (s.min < this.min) this.min = s.min;
    if (s.max > this.max) this.max = s.max;
    if (s.lastAt >= this.lastAt && s.timed > 0) {
      this.last = s.last;
      this.lastAt = s.lastAt;
    }
    if (counts !== null && s.timed > 0) this.hist.addCounts(counts, s.timed, s.latencySum, s.min, s.max);
  }
}

/** One point of a time line (charts). */
export interface TimelinePoint {
  /** Slice start, epoch ms. */
  t: number;
  requests: number;
  successes: number;
  /** Answers 400–499 in this slice. */
  clientErrors: number;
  /** Requests per second in this slice. */
  rps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export class SlidingWindows {
  private readonly rings: Slice[][];

  constructor(
    private readonly levels: readonly WindowLevel[] = DEFAULT_LEVELS,
    private readonly withHistogram = true,
  ) {
    this.rings = levels.map((l) => Array.from({ length: l.slots }, () => new Slice()));
  }

  /** Record one exchange. Samples older than a level's retention are dropped from that level. */
  record(s: Sample): void {
    for (let l = 0; l < this.levels.length; l++) {
      const slice = this.slot(l, s.at);
      if (slice === null) continue;
      slice.requests++;
      if (s.success) slice.successes++;
      if (s.clientError) slice.clientErrors++;
      slice.bytesIn += s.bytesIn;
      slice.bytesOut += s.bytesOut;
      slice.retries += s.retries;
      if (!s.timed) continue;
      slice.timed++;
      slice.latencySum += s.latencyMs;
      if (s.latencyMs < slice.min) slice.min = s.latencyMs;
      if (s.latencyMs > slice.max) slice.max = s.latencyMs;
      if (s.at >= slice.lastAt) {
        slice.last = s.latencyMs;
        slice.lastAt = s.at;
      }
      if (this.withHistogram) {
        const c = slice.counts ?? (slice.counts = new Uint32Array(BUCKETS));
        c[s.bucket]! += 1;
      }
    }
  }

  /** Add a slice received from another process (its `t` decides the slot). */
  addDelta(d: SliceDelta): void {
    if (!(d.requests > 0)) return;
    for (let l = 0; l < this.levels.length; l++) {
      const slice = this.slot(l, d.t);
      if (slice === null) continue;
      slice.requests += d.requests;
      slice.timed += d.timed;
      slice.successes += d.successes;
      slice.clientErrors += d.clientErrors;
      slice.bytesIn += d.bytesIn;
      slice.bytesOut += d.bytesOut;
      slice.retries += d.retries;
      slice.latencySum += d.latencySum;
      if (d.min < slice.min) slice.min = d.min;
      if (d.max > slice.max) slice.max = d.max;
      if (d.lastAt >= slice.lastAt) {
        slice.last = d.last;
        slice.lastAt = d.lastAt;
      }
      if (this.withHistogram) addSparse(slice.counts ?? (slice.counts = new Uint32Array(BUCKETS)), d.h);
    }
  }

  /**
   * Add the window ending at `now` into `into`. `origin` (epoch ms) is when
   * counting started: the covered time never reaches before it.
   */
  query(now: number, windowMs: number, into: WindowSum, origin = -Infinity): WindowSum {
    const l = this.levelFor(windowMs);
    const { sliceMs, slots } = this.levels[l] as WindowLevel;
    const k = Math.min(slots - 1, Math.max(1, Math.ceil(windowMs / sliceMs)));
    const nowId = Math.floor(now / sliceMs);
    const oldest = nowId - k + 1;
    const ring = this.rings[l] as Slice[];
    for (const s of ring) {
      if (s.id >= oldest && s.id <= nowId && s.requests > 0) into.addSlice(s, s.counts);
    }
    let covered = now - oldest * sliceMs;
    if (now - origin < covered) covered = now - origin;
    if (covered < 1000) covered = 1000;
    if (covered > into.coveredMs) into.coveredMs = covered;
    return into;
  }

  /** Per-slice points over the window (oldest first), from the finest level covering it. */
  timeline(now: number, windowMs: number): TimelinePoint[] {
    const l = this.levelFor(windowMs);
    const { sliceMs, slots } = this.levels[l] as WindowLevel;
    const k = Math.min(slots - 1, Math.max(1, Math.ceil(windowMs / sliceMs)));
    const nowId = Math.floor(now / sliceMs);
    const ring = this.rings[l] as Slice[];
    const out: TimelinePoint[] = [];
    for (let id = nowId - k + 1; id <= nowId; id++) {
      const s = ring[id % slots] as Slice;
      const has = s.id === id && s.requests > 0;
      const q = (p: number): number | null =>
        has && s.timed > 0 && s.counts !== null ? quantileOf(s.counts, s.timed, p, s.min, s.max) : null;
      out.push({
        t: id * sliceMs,
        requests: has ? s.requests : 0,
        successes: has ? s.successes : 0,
        clientErrors: has ? s.clientErrors : 0,
        rps: has ? s.requests / (sliceMs / 1000) : 0,
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
      });
    }
    return out;
  }

  /** Slice length (ms) and slot count of each level. */
  get levelList(): readonly WindowLevel[] {
    return this.levels;
  }

  /** Add slice `id` of `level` (slice start = id × sliceMs) into `into`, when the ring still holds it. */
  addSliceTo(level: number, id: number, into: WindowSum): void {
    const { slots } = this.levels[level] as WindowLevel;
    const s = (this.rings[level] as Slice[])[id % slots] as Slice;
    if (s.id === id && s.requests > 0) into.addSlice(s, s.counts);
  }

  /** The finest level whose ring covers `windowMs`. */
  levelFor(windowMs: number): number {
    for (let l = 0; l < this.levels.length; l++) {
      const { sliceMs, slots } = this.levels[l] as WindowLevel;
      if ((slots - 1) * sliceMs >= windowMs) return l;
    }
    return this.levels.length - 1;
  }

  /** True when nothing was recorded within the longest window (the series can be dropped). */
  idleSince(now: number): boolean {
    const l = this.levels.length - 1;
    const { sliceMs, slots } = this.levels[l] as WindowLevel;
    const oldest = Math.floor(now / sliceMs) - slots + 1;
    return (this.rings[l] as Slice[]).every((s) => s.id < oldest || s.requests === 0);
  }

  private slot(level: number, at: number): Slice | null {
    const { sliceMs, slots } = this.levels[level] as WindowLevel;
    const id = Math.floor(at / sliceMs);
    const s = (this.rings[level] as Slice[])[id % slots] as Slice;
    if (s.id === id) return s;
    if (s.id > id) return null; // older than this level keeps
    s.reset(id);
    return s;
  }
}

/** Accumulates one series' samples per 1 s slice in a worker, until the next delta. */
export class PendingSlices {
  private readonly byT = new Map<number, { c: SliceCounters; h: Uint32Array }>();

  record(s: Sample, withHistogram: boolean): void {
    const t = Math.floor(s.at / 1000) * 1000;
    let e = this.byT.get(t);
    if (e === undefined) {
      e = {
        c: {
          requests: 0,
          timed: 0,
          successes: 0,
          clientErrors: 0,
          bytesIn: 0,
          bytesOut: 0,
          retries: 0,
          latencySum: 0,
          min: Infinity,
          max: -Infinity,
          last: 0,
          lastAt: 0,
        },
        h: withHistogram ? new Uint32Array(BUCKETS) : new Uint32Array(0),
      };
      this.byT.set(t, e);
    }
    const c = e.c;
    c.requests++;
    if (s.success) c.successes++;
    if (s.clientError) c.clientErrors++;
    c.bytesIn += s.bytesIn;
    c.bytesOut += s.bytesOut;
    c.retries += s.retries;
    if (!s.timed) return;
    c.timed++;
    c.latencySum += s.latencyMs;
    if (s.latencyMs < c.min) c.min = s.latencyMs;
    if (s.latencyMs > c.max) c.max = s.latencyMs;
    if (s.at >= c.lastAt) {
      c.last = s.latencyMs;
      c.lastAt = s.at;
    }
    if (withHistogram) e.h[s.bucket]! += 1;
  }

  drain(): SliceDelta[] {
    const out: SliceDelta[] = [];
    for (const [t, e] of this.byT) out.push({ ...e.c, t, h: toSparse(e.h) });
    this.byT.clear();
    return out;
  }
}

export { bucketIndex };
