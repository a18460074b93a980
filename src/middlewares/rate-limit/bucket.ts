/**
 * Token buckets with reservations (golang.org/x/time/rate semantics), keyed
 * by string, bounded in number: least-recently-used buckets are dropped when
 * full, and buckets that have refilled completely (indistinguishable from a
 * new one) are swept.
 */
import type { Reservation } from './store.js';

interface Bucket {
  tokens: number;
  /** Time of the last update, ms. */
  at: number;
  rate: number;
  burst: number;
}

export const DEFAULT_MAX_BUCKETS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets = DEFAULT_MAX_BUCKETS) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Reserve one token of bucket `key` at time `now` (ms). */
  reserve(key: string, rate: number, burst: number, maxDelayMs: number, now: number): Reservation {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now, rate, burst };
      if (this.buckets.size >= this.maxBuckets) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
    } else {
      // Move to the most-recently-used end.
      this.buckets.delete(key);
      if (b.rate !== rate || b.burst !== burst) {
        b.rate = rate;
        b.burst = burst;
      }
      if (now > b.at) b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = Math.max(b.at, now);
    }
    this.buckets.set(key, b);
    const left = b.tokens - 1;
    if (left >= 0) {
      b.tokens = left;
      return { allowed: true, delayMs: 0, retryAfterMs: 0 };
    }
    const delayMs = (-left / rate) * 1000;
    if (delayMs <= maxDelayMs) {
      b.tokens = left;
      return { allowed: true, delayMs, retryAfterMs: 0 };
    }
    return { allowed: false, delayMs: 0, retryAfterMs: delayMs };
  }

  /** Drop buckets that are full again at `now`. */
  sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.rate >= b.burst) this.buckets.delete(k);
    }
  }

  clear(): void {
    this.buckets.clear();
  }
}
