/**
 * The cluster primary's side of the cross-worker rate-limit store: owns the
 * token buckets and answers `{ gh: 'rl' }` reservations arriving from workers
 * over IPC, each answer going back to the worker that asked.
 */
import type { Cluster, Worker } from 'node:cluster';
import { TokenBuckets, DEFAULT_MAX_BUCKETS } from './bucket.js';
import { isRlRequest, type RlAnswer } from './store.js';

export interface PrimaryStoreOptions {
  maxBuckets?: number;
  sweepMs?: number;
}

/** Serve rate-limit reservations for every worker of `cluster`; returns a detach function. */
export function attachPrimaryRateLimitStore(cluster: Cluster, opts: PrimaryStoreOptions = {}): () => void {
  const buckets = new TokenBuckets(opts.maxBuckets ?? DEFAULT_MAX_BUCKETS);
  const timer = setInterval(() => buckets.sweep(Date.now()), opts.sweepMs ?? 10_000);
  timer.unref();
  const onMessage = (worker: Worker, msg: unknown): void => {
    if (!isRlRequest(msg)) return;
    const r = buckets.reserve(msg.key, msg.rate, msg.burst, msg.maxDelayMs, Date.now());
    const answer: RlAnswer = { gh: 'rl', id: msg.id, allowed: r.allowed, delayMs: r.delayMs, retryAfterMs: r.retryAfterMs };
    try {
      if (worker.isConnected()) worker.send(answer);
    } catch {
      // The worker went away; its pending request times out on its side.
    }
  };
  cluster.on('message', onMessage);
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    cluster.off('message', onMessage);
    clearInterval(timer);
    buckets.clear();
  };
}
