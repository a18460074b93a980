/**
 * The primary's half of the cluster backplane: aggregates every worker's
 * metric deltas, answers their questions, relays taps between them, owns the
 * shared rate-limit buckets, and sends every snapshot to every worker.
 */
import type { Cluster } from 'node:cluster';
import type { Snapshot } from '../config/runtime.js';
import { MetricsStore } from '../observe/metrics.js';
import { attachPrimaryRateLimitStore } from '../middlewares/rate-limit/store-primary.js';
import type { PrimaryBackplane, RpcHandlers } from './backplane.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';
import { serveRpc } from './rpc.js';
import { attachPrimaryTapRelay } from './tap-relay.js';
import { sendIpc } from '../util/ipc.js';

export interface ClusterPrimaryOptions {
  prometheusBuckets?: number[];
}

export class ClusterPrimaryBackplane implements PrimaryBackplane {
  readonly metrics: MetricsStore;
  #latest: Snapshot | null = null;
  #handlers: RpcHandlers = {};
  readonly #detach: Array<() => void> = [];

  constructor(
    private readonly cluster: Cluster,
    opts: ClusterPrimaryOptions = {},
  ) {
    this.metrics = new MetricsStore({
      mode: 'local',
      ...(opts.prometheusBuckets !== undefined ? { prometheusBuckets: opts.prometheusBuckets } : {}),
    });
    const onMessage = (w: { id: number }, m: WorkerMessage): void => {
      if (m?.gh === 'metrics' && m.delta !== undefined) this.metrics.applyDelta(m.delta, String(w.id));
    };
    const onExit = (w: { id: number }): void => this.metrics.forgetSource(String(w.id));
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    this.#detach.push(
      () => cluster.off('message', onMessage),
      () => cluster.off('exit', onExit),
      serveRpc(cluster, () => this.#handlers),
      attachPrimaryTapRelay(cluster),
      attachPrimaryRateLimitStore(cluster),
    );
  }

  get latest(): Snapshot | null {
    return this.#latest;
  }

  publish(snapshot: Snapshot): void {
    this.#latest = snapshot;
    const m: PrimaryMessage = { gh: 'snapshot', snapshot };
    for (const w of Object.values(this.cluster.workers ?? {})) if (w !== undefined) sendIpc(w, m);
  }

  serve(handlers: RpcHandlers): void {
    this.#handlers = handlers;
  }

  close(): void {
    for (const fn of this.#detach.splice(0)) fn();
  }
}
