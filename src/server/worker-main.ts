/**
 * Entry of a cluster worker: waits for the primary's options and first
 * snapshot, runs the serving half over the cluster backplane (which applies
 * every later snapshot), drains on shutdown.
 */
import cluster from 'node:cluster';
import { createLogger } from '../log.js';
import { GatehouseError } from '../errors.js';
import { ClusterWorkerBackplane } from '../cluster/cluster-worker.js';
import type { PrimaryMessage, WorkerMessage } from '../cluster/protocol.js';
import type { ServeOptions } from './options.js';
import { startServing, type Serving } from './serving.js';
import { providerNames } from './serve.js';
import { sendIpc } from '../util/ipc.js';

class Worker {
  #serving: Serving | null = null;
  #backplane: ClusterWorkerBackplane | null = null;
  #stopping = false;

  async init(m: Extract<PrimaryMessage<ServeOptions>, { gh: 'init' }>): Promise<void> {
    const o = m.options;
    const log = createLogger(o.logLevel, o.logFile);
    this.#backplane = new ClusterWorkerBackplane({
      id: String(cluster.worker?.id ?? process.pid),
      first: m.snapshot,
      log,
      ...(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {}),
    });
    this.#serving = await startServing(o, this.#backplane, { log, rotateKeys: false, providers: providerNames(o) });
    sendIpc(process, { gh: 'ready', addresses: this.#serving.addresses } satisfies WorkerMessage);
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#serving?.close();
    this.#backplane?.close();
    sendIpc(process, { gh: 'stopped' } satisfies WorkerMessage);
    process.exit(0);
  }
}

const worker = new Worker();
process.on('message', (m: PrimaryMessage<ServeOptions>) => {
  if (m?.gh === 'init') {
    worker.init(m).catch((err: unknown) => {
      // The primary reports it (one line) and decides; a worker that cannot serve exits.
      const code = err instanceof GatehouseError ? err.code : 'GH_INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      if (process.send !== undefined) process.send({ gh: 'failed', code, message } satisfies WorkerMessage, () => process.exit(1));
      else {
        console.error(`gatehouse worker: ${message}`);
        process.exit(1);
      }
    });
  } else if (m?.gh === 'shutdown') void worker.stop();
});
process.on('SIGTERM', () => void worker.stop());
sendIpc(process, { gh: 'hello' } satisfies WorkerMessage);
process.on('SIGINT', () => {
  /* the primary decides; Ctrl-C reaches the whole process group */
});
process.on('disconnect', () => void worker.stop());
