/**
 * Rate-limit store for one process (a single worker, or the tests): token
 * buckets in a bounded map, idle buckets swept every `sweepMs`.
 */
import { TokenBuckets, DEFAULT_MAX_BUCKETS } from './bucket.js';
import type { ReservingRateLimitStore } from './store.js';

export interface MemoryStoreOptions {
  /** Most buckets kept (least recently used dropped first). Default 100 000. */
  maxBuckets?: number;
  /** How often full (idle) buckets are dropped, ms. Default 10 s. */
  sweepMs?: number;
}

export function createMemoryRateLimitStore(opts: MemoryStoreOptions = {}): ReservingRateLimitStore & { close(): void } {
  const buckets = new TokenBuckets(opts.maxBuckets ?? DEFAULT_MAX_BUCKETS);
  const timer = setInterval(() => buckets.sweep(Date.now()), opts.sweepMs ?? 10_000);
  timer.unref();
  return {
    reserve(key, rate, burst, maxDelayMs) {
      return Promise.resolve(buckets.reserve(key, rate, burst, maxDelayMs, Date.now()));
    },
    take(key, rate, burst) {
      const r = buckets.reserve(key, rate, burst, 0, Date.now());
      return Promise.resolve({ allowed: r.allowed, retryAfterMs: Math.ceil(r.retryAfterMs) });
    },
    close() {
      clearInterval(timer);
      buckets.clear();
    },
  };
}
