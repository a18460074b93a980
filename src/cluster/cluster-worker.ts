/**
 * A cluster worker's half of the backplane: snapshots arrive from the
 * primary; questions go to it (rpc); every second the worker's metric delta
 * goes to the primary's aggregate; taps and rate-limit reservations go
 * through the primary.
 */
import type { Snapshot } from '../config/runtime.js';
import type { Logger } from '../log.js';
import { MetricsStore } from '../observe/metrics.js';
import { TapBus, type TapEvent, type TapFilter } from '../observe/tap.js';
import { createWorkerRateLimitStore } from '../middlewares/rate-limit/store-worker.js';
import type { ServingBackplane } from './backplane.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';
import { RpcClient } from './rpc.js';
import { WorkerTapRelay } from './tap-relay.js';
import { sendIpc } from '../util/ipc.js';

export interface ClusterWorkerOptions {
  /** The worker's id (node:cluster's). */
  id: string;
  /** The snapshot that came with `init`. */
  first: Snapshot;
  log: Logger;
  prometheusBuckets?: number[];
  proc?: NodeJS.Process;
}

export class ClusterWorkerBackplane implements ServingBackplane {
  readonly id: string;
  readonly metrics: MetricsStore;
  readonly tapBus: TapBus;
  readonly rateLimitStore: ReturnType<typeof createWorkerRateLimitStore>;
  readonly #proc: NodeJS.Process;
  readonly #rpc: RpcClient;
  readonly #relay: WorkerTapRelay;
  readonly #listeners = new Set<(s: Snapshot) => void>();
  readonly #flush: Array<() => void> = [];
  readonly #timer: NodeJS.Timeout;
  #latest: Snapshot;
  readonly #onMessage = (m: PrimaryMessage): void => {
    if (m?.gh !== 'snapshot') return;
    this.#latest = m.snapshot;
    for (const fn of [...this.#listeners]) fn(m.snapshot);
  };

  constructor(opts: ClusterWorkerOptions) {
    this.id = opts.id;
    this.metrics = new MetricsStore({
      mode: 'worker',
      ...(opts.prometheusBuckets !== undefined ? { prometheusBuckets: opts.prometheusBuckets } : {}),
    });
    this.#proc = opts.proc ?? process;
    this.#latest = opts.first;
    this.tapBus = new TapBus({ idPrefix: opts.id });
    this.rateLimitStore = createWorkerRateLimitStore(this.#proc, { log: opts.log });
    this.#rpc = new RpcClient(this.#proc);
    this.#relay = new WorkerTapRelay(this.tapBus, this.#proc);
    this.#proc.on('message', this.#onMessage);
    this.#timer = setInterval(() => {
      for (const fn of this.#flush) fn();
      sendIpc(this.#proc, { gh: 'metrics', delta: this.metrics.takeDelta() } satisfies WorkerMessage);
    }, 1000);
    this.#timer.unref();
  }

  onSnapshot(listener: (s: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#latest);
    return () => this.#listeners.delete(listener);
  }

  rpc(method: string, args: unknown = null): Promise<unknown> {
    return this.#rpc.call(method, args);
  }

  onFlush(fn: () => void): void {
    this.#flush.push(fn);
  }

  openTap(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void {
    return this.#relay.open(filter, maxRps, headers, onEvent);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#proc.off('message', this.#onMessage);
    this.#listeners.clear();
    this.#relay.close();
    this.#rpc.close();
    this.rateLimitStore.close();
  }
}
