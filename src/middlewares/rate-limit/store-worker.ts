/**
 * A worker's side of the cross-worker rate-limit store: each reservation is
 * sent to the primary over the IPC channel and matched to its answer by id.
 *
 * Failure policy: fail OPEN. When the primary does not answer within
 * `timeoutMs` (default 1 s), when too many requests are pending, or when the
 * channel is closed, the request is allowed and a warning is logged (at most
 * once every 10 s). A stuck primary must not take the whole gateway down; the
 * limit is a protection, not an authorization.
 */
import type { Logger } from '../../log.js';
import { isRlAnswer, type Reservation, type ReservingRateLimitStore, type RlRequest } from './store.js';
import { sendIpc } from '../../util/ipc.js';

export interface WorkerStoreOptions {
  timeoutMs?: number;
  /** Most reservations waiting for the primary at once. Default 10 000. */
  maxPending?: number;
  log?: Logger;
}

interface Pending {
  resolve: (r: Reservation) => void;
  timer: NodeJS.Timeout;
}

const FAIL_OPEN: Reservation = Object.freeze({ allowed: true, delayMs: 0, retryAfterMs: 0 });
const WARN_EVERY_MS = 10_000;

export function createWorkerRateLimitStore(
  proc: NodeJS.Process = process,
  opts: WorkerStoreOptions = {},
): ReservingRateLimitStore & { close(): void } {
  if (typeof proc.send !== 'function')
    throw new Error('createWorkerRateLimitStore: this process has no IPC channel (not a cluster worker)');
  const timeoutMs = opts.timeoutMs ?? 1000;
  const maxPending = opts.maxPending ?? 10_000;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  let lastWarn = 0;

  const warn = (reason: string): void => {
    const now = Date.now();
    if (opts.log === undefined || now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    opts.log.warn({ reason }, 'rate-limit store: primary unavailable, allowing request (fail open)');
  };

  const onMessage = (msg: unknown): void => {
    if (!isRlAnswer(msg)) return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve({ allowed: msg.allowed, delayMs: msg.delayMs, retryAfterMs: msg.retryAfterMs });
  };
  proc.on('message', onMessage);

  const onTimeout = (id: number): void => {
    const p = pending.get(id);
    if (p === undefined) return;
    pending.delete(id);
    warn(`no answer within ${timeoutMs} ms`);
    p.resolve(FAIL_OPEN);
  };

  const reserve = (key: string, rate: number, burst: number, maxDelayMs: number): Promise<Reservation> => {
    if (closed || proc.connected === false) {
      warn('IPC channel closed');
      return Promise.resolve(FAIL_OPEN);
    }
    if (pending.size >= maxPending) {
      warn('too many pending reservations');
      return Promise.resolve(FAIL_OPEN);
    }
    const id = nextId;
    nextId = nextId >= Number.MAX_SAFE_INTEGER ? 1 : nextId + 1;
    return new Promise<Reservation>((resolve) => {
      const timer = setTimeout(onTimeout, timeoutMs, id);
      pending.set(id, { resolve, timer });
      const msg: RlRequest = { gh: 'rl', id, key, rate, burst, maxDelayMs };
      const failed = (): void => {
        if (!pending.delete(id)) return;
        clearTimeout(timer);
        warn('IPC send failed');
        resolve(FAIL_OPEN);
      };
      if (!sendIpc(proc, msg, failed)) failed();
    });
  };

  return {
    reserve,
    async take(key, rate, burst) {
      const r = await reserve(key, rate, burst, 0);
      return { allowed: r.allowed, retryAfterMs: Math.ceil(r.retryAfterMs) };
    },
    close() {
      if (closed) return;
      closed = true;
      proc.off('message', onMessage);
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.resolve(FAIL_OPEN);
      }
      pending.clear();
    },
  };
}
