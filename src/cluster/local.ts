/**
 * The backplane of one process: the primary half and the single serving half
 * are this one object, and every call is direct (no copies, no IPC). The
 * serving half's metrics are the aggregate; its gauges are refreshed every
 * second and before every question, so views and alerts read current values.
 */
import type { Snapshot } from '../config/runtime.js';
import { MetricsStore } from '../observe/metrics.js';
import { TapBus, type TapEvent, type TapFilter } from '../observe/tap.js';
import { createMemoryRateLimitStore } from '../middlewares/rate-limit/store-memory.js';
import type { PrimaryBackplane, RpcHandlers, ServingBackplane } from './backplane.js';
import { callHandler } from './rpc.js';

export interface LocalBackplaneOptions {
  /** Prometheus histogram buckets (seconds), when metrics are exported. */
  prometheusBuckets?: number[];
}

export class LocalBackplane implements PrimaryBackplane, ServingBackplane {
  readonly id = '0';
  readonly metrics: MetricsStore;
  readonly tapBus = new TapBus({ idPrefix: '0' });
  readonly rateLimitStore = createMemoryRateLimitStore();
  #latest: Snapshot | null = null;
  #handlers: RpcHandlers = {};
  readonly #listeners = new Set<(s: Snapshot) => void>();
  readonly #flush: Array<() => void> = [];
  readonly #timer: NodeJS.Timeout;

  constructor(opts: LocalBackplaneOptions = {}) {
    this.metrics = new MetricsStore({
      mode: 'local',
      ...(opts.prometheusBuckets !== undefined ? { prometheusBuckets: opts.prometheusBuckets } : {}),
    });
    this.#timer = setInterval(() => this.#runFlush(), 1000);
    this.#timer.unref();
  }

  get latest(): Snapshot | null {
    return this.#latest;
  }

  publish(snapshot: Snapshot): void {
    this.#latest = snapshot;
    for (const fn of [...this.#listeners]) fn(snapshot);
  }

  onSnapshot(listener: (s: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    if (this.#latest !== null) listener(this.#latest);
    return () => this.#listeners.delete(listener);
  }

  serve(handlers: RpcHandlers): void {
    this.#handlers = handlers;
  }

  rpc(method: string, args: unknown = null): Promise<unknown> {
    this.#runFlush();
    return callHandler(this.#handlers, method, args);
  }

  onFlush(fn: () => void): void {
    this.#flush.push(fn);
  }

  #runFlush(): void {
    for (const fn of this.#flush) fn();
  }

  openTap(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void {
    return this.tapBus.subscribe(filter, maxRps, onEvent, { headers });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
    this.rateLimitStore.close();
  }
}
