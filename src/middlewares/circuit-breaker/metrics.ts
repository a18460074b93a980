/**
 * Rolling request metrics for the circuit breaker, as oxy's RTMetrics: 10
 * buckets of 1 s holding totals, network errors (502/504), counts per status
 * code and a log-scale latency histogram (~5% resolution). Recording
 * allocates nothing; reading sums the buckets still inside the window.
 */
const BUCKETS = 10;
const BUCKET_MS = 1000;
const CODES = 600;
const LAT_BINS = 400;
const LOG_STEP = Math.log(1.05);

/** Latency bin of `ms`: bin 0 is < 1 ms, then 5% wide bins. */
function binOf(ms: number): number {
  if (ms < 1) return 0;
  const b = 1 + Math.floor(Math.log(ms) / LOG_STEP);
  return b >= LAT_BINS ? LAT_BINS - 1 : b;
}
/** Upper bound of a latency bin, ms. */
function binUpper(b: number): number {
  return b === 0 ? 1 : Math.exp(b * LOG_STEP);
}

class Bucket {
  second = -1;
  total = 0;
  netErrors = 0;
  readonly codes = new Uint32Array(CODES);
  readonly latency = new Uint32Array(LAT_BINS);
  reset(second: number): void {
    this.second = second;
    this.total = 0;
    this.netErrors = 0;
    this.codes.fill(0);
    this.latency.fill(0);
  }
}

export class RollingMetrics {
  private readonly buckets: Bucket[] = Array.from({ length: BUCKETS }, () => new Bucket());

  constructor(private readonly now: () => number = Date.now) {}

  record(status: number, latencyMs: number): void {
    const sec = Math.floor(this.now() / BUCKET_MS);
    const b = this.buckets[sec % BUCKETS] as Bucket;
    if (b.second !== sec) b.reset(sec);
    b.total++;
    if (status === 502 || status === 504) b.netErrors++;
    if (status >= 0 && status < CODES) (b.codes[status] as number)++;
    (b.latency[binOf(latencyMs)] as number)++;
  }

  reset(): void {
    for (const b of this.buckets) b.reset(-1);
  }

  private live(): Bucket[] {
    const sec = Math.floor(this.now() / BUCKET_MS);
    return this.buckets.filter((b) => b.second > sec - BUCKETS && b.second <= sec);
  }

  total(): number {
    let n = 0;
    for (const b of this.live()) n += b.total;
    return n;
  }

  networkErrorRatio(): number {
    let total = 0;
    let errs = 0;
    for (const b of this.live()) {
      total += b.total;
      errs += b.netErrors;
    }
    return total === 0 ? 0 : errs / total;
  }

  /** Count of codes in [from, to) over count of codes in [dFrom, dTo); 0 when the divisor is 0. */
  responseCodeRatio(from: number, to: number, dFrom: number, dTo: number): number {
    let a = 0;
    let d = 0;
    const lo = Math.max(0, Math.min(from, dFrom));
    const hi = Math.min(CODES, Math.max(to, dTo));
    for (const b of this.live()) {
      for (let c = lo; c < hi; c++) {
        const n = b.codes[c] as number;
        if (n === 0) continue;
        if (c >= from && c < to) a += n;
        if (c >= dFrom && c < dTo) d += n;
      }
    }
    return d === 0 ? 0 : a / d;
  }

  /** Latency (ms) at quantile q (0..100) over the window; 0 when empty. */
  latencyAtQuantileMs(q: number): number {
    const sum = new Float64Array(LAT_BINS);
    let total = 0;
    for (const b of this.live()) {
      for (let i = 0; i < LAT_BINS; i++) sum[i] = (sum[i] as number) + (b.latency[i] as number);
      total += b.total;
    }
    if (total === 0) return 0;
    const target = Math.max(1, Math.ceil((q / 100) * total));
    let seen = 0;
    for (let i = 0; i < LAT_BINS; i++) {
      seen += sum[i] as number;
      if (seen >= target) return binUpper(i);
    }
    return binUpper(LAT_BINS - 1);
  }
}
