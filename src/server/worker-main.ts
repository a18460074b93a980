/**
 * Entry of a cluster worker: waits for the primary's options and first
 * snapshot, runs the serving half over the cluster backplane (which applies
 * every later snapshot), drains on shutdown.
 */
import cluster from 'node:cluster';
import { Socket } from 'node:net';
import { createLogger } from '../log.js';
import { GatehouseError } from '../errors.js';
import { ClusterWorkerBackplane } from '../cluster/cluster-worker.js';
import type { PrimaryMessage, WorkerMessage } from '../cluster/protocol.js';
import type { ServeOptions } from './options.js';
import { startServing, type Serving } from './serving.js';
import { providerNames } from './serve.js';
import { sendIpc } from '../util/ipc.js';

/** Connections the primary handed over before serving started wait here (bounded). */
const MAX_EARLY_CONNECTIONS = 1024;
/** A SIGTERM meant for the whole process group lets the primary lead the shutdown; alone, the worker stops by itself after this. */
const OWN_SIGNAL_WAIT_MS = 1000;

class Worker {
  #serving: Serving | null = null;
  #backplane: ClusterWorkerBackplane | null = null;
  #stopping = false;
  #shutdownBegun = false;
  readonly #early: Array<[string, Socket]> = [];

  /** Settles when init ends (either way); a stop during the start waits for it, then drains what was handed over. */
  #initDone: Promise<void> = Promise.resolve();

  init(m: Extract<PrimaryMessage<ServeOptions>, { gh: 'init' }>): Promise<void> {
    const p = this.#init(m);
    this.#initDone = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  async #init(m: Extract<PrimaryMessage<ServeOptions>, { gh: 'init' }>): Promise<void> {
    const o = m.options;
    const log = createLogger(o.logLevel, o.logFile);
    this.#backplane = new ClusterWorkerBackplane({
      id: String(cluster.worker?.id ?? process.pid),
      first: m.snapshot,
      log,
      ...(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {}),
    });
    const serving = await startServing(o, this.#backplane, {
      log,
      rotateKeys: false,
      providers: providerNames(o),
      external: m.addresses,
    });
    this.#serving = serving;
    for (const [ep, socket] of this.#early.splice(0)) this.adopt(ep, socket);
    if (this.#shutdownBegun) serving.gateway.beginShutdown();
    sendIpc(process, { gh: 'ready', addresses: serving.addresses } satisfies WorkerMessage);
  }

  /** A connection the primary accepted: served here, even while draining (it was accepted before the listener closed). */
  adopt(ep: string, socket: Socket): void {
    // The options the entry point's own listener would have given it (entrypoint.ts createNet):
    // half-open, no Nagle, a 64 KiB write high-water mark (node 20 makes sockets that arrive
    // over IPC with 16 KiB and no option to say otherwise; its writable state holds the value).
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    const ws = (socket as unknown as { _writableState?: { highWaterMark?: number } })._writableState;
    if (ws !== undefined && typeof ws.highWaterMark === 'number' && ws.highWaterMark < 64 * 1024) ws.highWaterMark = 64 * 1024;
    if (this.#serving === null) {
      if (this.#early.length >= MAX_EARLY_CONNECTIONS) socket.destroy();
      else this.#early.push([ep, socket]);
      return;
    }
    if (!this.#serving.adopt(ep, socket)) socket.destroy();
  }

  /** Shutdown phase 1 (the primary's): /ping answers 503 while the primary still accepts. */
  beginShutdown(): void {
    this.#shutdownBegun = true;
    this.#serving?.gateway.beginShutdown();
  }

  /** Drain and exit. `acceptGrace: false` when the primary waited requestAcceptGraceTimeout already. */
  async stop(acceptGrace = true): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#initDone;
    for (const [, socket] of this.#early.splice(0)) socket.destroy(); // only when the start failed
    await this.#serving?.close({ acceptGrace });
    this.#backplane?.close();
    sendIpc(process, { gh: 'stopped' } satisfies WorkerMessage);
    process.exit(0);
  }

  get shutdownBegun(): boolean {
    return this.#shutdownBegun;
  }
}

const worker = new Worker();
process.on('message', (m: PrimaryMessage<ServeOptions>, handle?: unknown) => {
  if (m?.gh === 'conn') {
    if (handle instanceof Socket) worker.adopt(m.ep, handle);
  } else if (m?.gh === 'init') {
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
  } else if (m?.gh === 'shutdown') worker.beginShutdown();
  else if (m?.gh === 'drain') void worker.stop(false);
});
process.on('SIGTERM', () => {
  // Sent to the whole process group (systemd, a terminal), the primary leads: it stops accepting
  // first, then says drain. Sent to this worker alone, nobody will: stop by itself.
  if (!process.connected) return void worker.stop();
  setTimeout(() => {
    if (!worker.shutdownBegun) void worker.stop();
  }, OWN_SIGNAL_WAIT_MS).unref();
});
sendIpc(process, { gh: 'hello' } satisfies WorkerMessage);
process.on('SIGINT', () => {
  /* the primary decides; Ctrl-C reaches the whole process group */
});
process.on('disconnect', () => void worker.stop());
