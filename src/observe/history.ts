/**
 * Long history for the charts' 6-hour and 24-hour ranges: one point per
 * 5 minutes, kept 24 hours, per router, service and entry point, and one for
 * all user traffic (`total`: every exchange whose router is not `@internal`).
 *
 * The windows keep histograms per edge series for one hour only (windows.ts);
 * keeping them for a day would cost about 225 KB per series. A history point
 * holds the figures a chart draws (requests, successes, 4xx, p50/p95/p99),
 * computed once when its 5 minutes are over from the windows' 1-minute slices
 * (histograms merged, so its quantiles are exact to the histogram's 10 %), so
 * a name costs 288 × 8 numbers = 18 KB whatever its traffic. Names beyond
 * `maxNames` are not kept (their charts beyond one hour stay empty).
 */
import type { TimelinePoint } from './windows.js';

/** Length of one history point, ms. */
export const HISTORY_SLICE_MS = 300_000;
/** Points kept: 24 h. */
export const HISTORY_POINTS = 289;
/** The kinds that have a history. */
export const HISTORY_KINDS = Object.freeze(['routers', 'services', 'entrypoints', 'total'] as const);
export type HistoryKind = (typeof HISTORY_KINDS)[number];

/** Layout of a point in a ring: id, requests, successes, clientErrors, p50, p95, p99 (NaN = none). */
const W = 7;

export class History {
  private readonly rings = new Map<string, Float64Array>();

  constructor(readonly maxNames = 500) {}

  /** Names kept. */
  get size(): number {
    return this.rings.size;
  }

  /** Store the point of period `id` (start = id × HISTORY_SLICE_MS). */
  put(kind: HistoryKind, name: string, id: number, p: TimelinePoint): void {
    const key = kind + '\u0001' + name;
    let r = this.rings.get(key);
    if (r === undefined) {
      if (this.rings.size >= this.maxNames) return;
      r = new Float64Array(HISTORY_POINTS * W).fill(-1);
      this.rings.set(key, r);
    }
    const o = (id % HISTORY_POINTS) * W;
    r[o] = id;
    r[o + 1] = p.requests;
    r[o + 2] = p.successes;
    r[o + 3] = p.clientErrors;
    r[o + 4] = p.p50 ?? NaN;
    r[o + 5] = p.p95 ?? NaN;
    r[o + 6] = p.p99 ?? NaN;
  }

  /** The point of period `id`, or a zero point when none is kept. */
  get(kind: HistoryKind, name: string, id: number): TimelinePoint {
    const r = this.rings.get(kind + '\u0001' + name);
    const o = (id % HISTORY_POINTS) * W;
    const t = id * HISTORY_SLICE_MS;
    if (r === undefined || r[o] !== id) return { t, requests: 0, successes: 0, clientErrors: 0, rps: 0, p50: null, p95: null, p99: null };
    const requests = r[o + 1] as number;
    const q = (v: number): number | null => (Number.isNaN(v) ? null : v);
    return {
      t,
      requests,
      successes: r[o + 2] as number,
      clientErrors: r[o + 3] as number,
      rps: Math.round((requests / (HISTORY_SLICE_MS / 1000)) * 1000) / 1000,
      p50: q(r[o + 4] as number),
      p95: q(r[o + 5] as number),
      p99: q(r[o + 6] as number),
    };
  }

  /** Forget names whose newest point is older than 24 h. */
  prune(nowId: number): void {
    for (const [k, r] of this.rings) {
      let newest = -1;
      for (let i = 0; i < HISTORY_POINTS; i++) if ((r[i * W] as number) > newest) newest = r[i * W] as number;
      if (newest < nowId - HISTORY_POINTS + 1) this.rings.delete(k);
    }
  }
}
