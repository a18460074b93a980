/**
 * Webhook delivery: a bounded queue, a few deliveries at a time, each POST
 * with a timeout, retried with exponential back-off (with jitter) until it
 * succeeds, the attempts run out or the notification is too old. Nothing here
 * is on a request's path; timers are unref'd. Header values and URL
 * credentials are never logged.
 */
import { request } from 'undici';
import type { Logger } from '../log.js';
import type { AlertmanagerPayload } from './payload.js';

export interface NotifierOptions {
  log?: Logger;
  /** Queued notifications at most (oldest dropped beyond; default 1000). */
  maxQueue?: number;
  /** Deliveries in flight at most (default 4). */
  concurrency?: number;
  /** One attempt's timeout (default 5 s). */
  timeoutMs?: number;
  /** Attempts per notification (default 8). */
  maxAttempts?: number;
  /** First back-off (default 500 ms), doubled per attempt up to maxBackoffMs (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Give up on a notification older than this (default 10 min). */
  maxAgeMs?: number;
  maxBodyBytes?: number;
}

export interface DeliveryResult {
  url: string;
  receiver: string;
  status: 'delivered' | 'failed' | 'dropped';
  attempts: number;
  /** HTTP status of the last attempt, 0 when none. */
  httpStatus: number;
  error?: string;
  at: number;
}

interface Job {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
  receiver: string;
  attempts: number;
  created: number;
  notBefore: number;
  onDone?: (r: DeliveryResult) => void;
}

/** The URL without credentials or query (for logs and state). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export class WebhookNotifier {
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly ctrl = new AbortController();
  private readonly o: Required<Omit<NotifierOptions, 'log'>>;
  private readonly log: Logger | undefined;
  /** Notifications dropped because the queue was full. */
  dropped = 0;

  constructor(opts: NotifierOptions = {}) {
    this.log = opts.log;
    this.o = {
      maxQueue: opts.maxQueue ?? 1000,
      concurrency: opts.concurrency ?? 4,
      timeoutMs: opts.timeoutMs ?? 5000,
      maxAttempts: opts.maxAttempts ?? 8,
      backoffMs: opts.backoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      maxAgeMs: opts.maxAgeMs ?? 600_000,
      maxBodyBytes: opts.maxBodyBytes ?? 1_000_000,
    };
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Queue a notification (never blocks; drops the oldest when the queue is full). */
  send(url: string, headers: Readonly<Record<string, string>>, payload: AlertmanagerPayload, onDone?: (r: DeliveryResult) => void): void {
    if (this.closed) return;
    let body = JSON.stringify(payload);
    if (body.length > this.o.maxBodyBytes) {
      const kept = { ...payload, alerts: payload.alerts.slice(0, 1), truncatedAlerts: payload.alerts.length - 1 };
      body = JSON.stringify(kept).slice(0, this.o.maxBodyBytes);
    }
    if (this.queue.length >= this.o.maxQueue) {
      const old = this.queue.shift() as Job;
      this.dropped++;
      this.finish(old, 'dropped', 0, 'queue full');
    }
    this.queue.push({
      url,
      headers,
      body,
      receiver: payload.receiver,
      attempts: 0,
      created: Date.now(),
      notBefore: 0,
      ...(onDone !== undefined ? { onDone } : {}),
    });
    this.pump();
  }

  private finish(j: Job, status: DeliveryResult['status'], httpStatus: number, error?: string): void {
    const r: DeliveryResult = {
      url: safeUrl(j.url),
      receiver: j.receiver,
      status,
      attempts: j.attempts,
      httpStatus,
      at: Date.now(),
      ...(error !== undefined ? { error } : {}),
    };
    if (status !== 'delivered')
      this.log?.warn({ webhook: r.url, receiver: j.receiver, attempts: j.attempts, httpStatus, error }, 'alert notification not delivered');
    try {
      j.onDone?.(r);
    } catch {
      /* a state callback must not break delivery */
    }
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    let next = Infinity;
    for (let i = 0; i < this.queue.length && this.inFlight < this.o.concurrency;) {
      const j = this.queue[i] as Job;
      if (j.notBefore > now) {
        next = Math.min(next, j.notBefore);
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.inFlight++;
      void this.attempt(j).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (next !== Infinity) {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.pump();
        },
        Math.max(1, next - now),
      );
      this.timer.unref();
    }
  }

  private async attempt(j: Job): Promise<void> {
    j.attempts++;
    let httpStatus = 0;
    let error: string | undefined;
    try {
      const signal = AbortSignal.any([this.ctrl.signal, AbortSignal.timeout(this.o.timeoutMs)]);
      const r = await request(j.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Gatehouse-Alerts/1', ...j.headers },
        body: j.body,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
        signal,
      });
      httpStatus = r.statusCode;
      await r.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (httpStatus >= 200 && httpStatus < 300) {
        this.finish(j, 'delivered', httpStatus);
        return;
      }
      error = `HTTP ${httpStatus}`;
      // Client errors other than 408/429 will not get better by retrying.
      if (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 429) {
        this.finish(j, 'failed', httpStatus, error);
        return;
      }
    } catch (err) {
      error = (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
    }
    if (this.closed) return;
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (j.attempts - 1)) * (0.8 + Math.random() * 0.4);
    if (j.attempts >= this.o.maxAttempts || Date.now() + delay - j.created > this.o.maxAgeMs) {
      this.finish(j, 'failed', httpStatus, error);
      return;
    }
    j.notBefore = Date.now() + delay;
    if (this.queue.length >= this.o.maxQueue) {
      this.dropped++;
      this.finish(j, 'dropped', httpStatus, 'queue full');
      return;
    }
    this.queue.push(j);
  }

  /** Stop: abort deliveries in flight, forget the queue. */
  close(): void {
    this.closed = true;
    this.ctrl.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}
