/**
 * Log-linear latency histogram, 0.1 ms to 60 s, at most 10% relative bucket width.
 *
 * Every power of two above 0.1 ms (an octave) is split into SUB_BUCKETS equal
 * linear buckets, so a bucket is never wider than 1/SUB_BUCKETS of its lower
 * edge: a quantile read back from a bucket is within 10% of the true value
 * (HdrHistogram's layout with a coarse precision). Bucket 0 holds [0, 0.1 ms);
 * the last bucket holds [60 s, +Inf). The boundaries are module constants
 * shared by every instance, so histograms merge by adding count arrays, and a
 * bucket index computed once per request can be recorded into many histograms.
 */

export const SUB_BUCKETS = 10;
export const MIN_MS = 0.1;
export const MAX_MS = 60_000;

function buildLowerEdges(): Float64Array {
  const edges: number[] = [0];
  for (let octave = 0; ; octave++) {
    const base = MIN_MS * 2 ** octave;
    for (let sub = 0; sub < SUB_BUCKETS; sub++) {
      const lower = base * (1 + sub / SUB_BUCKETS);
      if (lower >= MAX_MS) {
        edges.push(MAX_MS);
        return Float64Array.from(edges);
      }
      edges.push(lower);
    }
  }
}

/** Lower edge (ms) of each bucket; LOWER_EDGES[0] = 0. */
export const LOWER_EDGES: Float64Array = buildLowerEdges();
/** Number of buckets (the last one is the overflow bucket [60 s, +Inf)). */
export const BUCKETS = LOWER_EDGES.length;
export const OVERFLOW = BUCKETS - 1;

/** Upper edge (ms, exclusive) of bucket `i`; Infinity for the overflow bucket. */
export function upperEdge(i: number): number {
  return i >= OVERFLOW ? Infinity : (LOWER_EDGES[i + 1] as number);
}

/** Bucket of a latency in ms. NaN and negative values count as 0. Allocation-free. */
export function bucketIndex(ms: number): number {
  if (!(ms >= MIN_MS)) return 0;
  if (ms >= MAX_MS) return OVERFLOW;
  const r = ms / MIN_MS;
  let octave = Math.floor(Math.log2(r));
  let base = 2 ** octave;
  // Guard against log2 rounding at exact powers of two.
  if (r < base) {
    octave--;
    base /= 2;
  } else if (r >= base * 2) {
    octave++;
    base *= 2;
  }
  let sub = Math.floor((r / base - 1) * SUB_BUCKETS);
  if (sub >= SUB_BUCKETS) sub = SUB_BUCKETS - 1;
  let i = 1 + octave * SUB_BUCKETS + sub;
  if (i >= OVERFLOW) return OVERFLOW - 1;
  // Edges are computed as MIN_MS * 2^o * (1 + s/S); align with them exactly.
  if (ms < (LOWER_EDGES[i] as number)) i--;
  else if (ms >= upperEdge(i)) i++;
  return i;
}

/** Sparse form: [index, count, index, count, …] for non-zero buckets. */
export type SparseCounts = number[];

/** Value at rank `q` of counts `c` (total `n`), interpolated inside its bucket, clamped to [min, max]. */
export function quantileOf(c: ArrayLike<number>, n: number, q: number, min: number, max: number): number {
  if (n <= 0) return NaN;
  if (q <= 0) return min;
  if (q >= 1) return max;
  const rank = q * n;
  let cum = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const k = c[i] as number;
    if (k === 0) continue;
    if (cum + k >= rank) {
      const lo = LOWER_EDGES[i] as number;
      const hi = i === OVERFLOW ? max : upperEdge(i);
      let v = lo + (hi - lo) * ((rank - cum) / k);
      if (v < min) v = min;
      if (v > max) v = max;
      return v;
    }
    cum += k;
  }
  return max;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  /** Sum of recorded values (ms). */
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(ms: number): void {
    this.recordIndexed(bucketIndex(ms), ms);
  }

  /** Record with a bucket index already computed by `bucketIndex(ms)`. */
  recordIndexed(index: number, ms: number): void {
    this.counts[index]! += 1;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** Value at quantile q in [0, 1] (ms); NaN when empty. */
  quantile(q: number): number {
    return quantileOf(this.counts, this.count, q, this.min, this.max);
  }

  merge(other: Histogram): this {
    const a = this.counts;
    const b = other.counts;
    for (let i = 0; i < BUCKETS; i++) a[i]! += b[i] as number;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  /** Add raw bucket counts (e.g. a time slice's array) with their summary. */
  addCounts(counts: ArrayLike<number>, count: number, sum: number, min: number, max: number): void {
    const a = this.counts;
    for (let i = 0; i < BUCKETS; i++) {
      const k = counts[i] as number;
      if (k !== 0) a[i]! += k;
    }
    this.count += count;
    this.sum += sum;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** Cumulative count of values below `ms` (counts whole buckets whose upper edge ≤ ms). */
  countBelow(ms: number): number {
    let n = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (upperEdge(i) > ms) break;
      n += this.counts[i] as number;
    }
    return n;
  }

  toJSON(): SerializedHistogram {
    return {
      c: toSparse(this.counts),
      n: this.count,
      s: this.sum,
      lo: this.count === 0 ? 0 : this.min,
      hi: this.count === 0 ? 0 : this.max,
    };
  }

  static fromJSON(s: SerializedHistogram): Histogram {
    const h = new Histogram();
    h.mergeSerialized(s);
    return h;
  }

  mergeSerialized(s: SerializedHistogram): void {
    if (s.n === 0) return;
    addSparse(this.counts, s.c);
    this.count += s.n;
    this.sum += s.s;
    if (s.lo < this.min) this.min = s.lo;
    if (s.hi > this.max) this.max = s.hi;
  }
}

/** Compact plain-JSON form for IPC: sparse counts, count, sum, min, max. */
export interface SerializedHistogram {
  c: SparseCounts;
  n: number;
  s: number;
  lo: number;
  hi: number;
}

export function toSparse(counts: ArrayLike<number>): SparseCounts {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    const k = counts[i] as number;
    if (k !== 0) out.push(i, k);
  }
  return out;
}

/** Add sparse counts into a dense array; ignores out-of-range indexes (untrusted input). */
export function addSparse(into: Float64Array | Uint32Array, sparse: SparseCounts): void {
  for (let j = 0; j + 1 < sparse.length; j += 2) {
    const i = sparse[j] as number;
    const k = sparse[j + 1] as number;
    if (Number.isInteger(i) && i >= 0 && i < BUCKETS && Number.isFinite(k) && k > 0) into[i] = (into[i] as number) + k;
  }
}
