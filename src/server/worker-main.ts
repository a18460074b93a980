/**
 * Entry of a cluster worker: waits for the primary's options and first
 * snapshot, serves, applies every new snapshot, drains on shutdown.
 */
import { createLogger } from '../log.js';
import { createServing } from './serving.js';
import { createWorkerRateLimitStore } from '../middlewares/rate-limit/store-worker.js';
import { createObservers } from './observers.js';
import type { PrimaryMessage, WorkerMessage } from './serve.js';
import type { Gateway } from './gateway.js';

let gateway: Gateway | null = null;
let stopping = false;

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await gateway?.close();
  process.send?.({ gh: 'stopped' } satisfies WorkerMessage);
  process.exit(0);
}

process.on('message', (m: PrimaryMessage) => {
  if (m?.gh === 'init') {
    void (async () => {
      const log = createLogger(m.options.logLevel, m.options.logFile);
      const store = createWorkerRateLimitStore();
      const observers = await createObservers(m.options, log);
      gateway = createServing(m.options, { log, rateLimitStore: store, hooks: observers.hooks });
      await gateway.listen();
      observers.onSnapshot(m.snapshot);
      gateway.apply(m.snapshot);
      const addresses: Record<string, { host: string; port: number }> = {};
      for (const e of m.options.entryPoints) addresses[e.name] = gateway.entryPoint(e.name)!.address;
      process.send?.({ gh: 'ready', addresses } satisfies WorkerMessage);
    })().catch((err: unknown) => {
      console.error('gatehouse worker failed to start:', err);
      process.exit(1);
    });
  } else if (m?.gh === 'snapshot') {
    gateway?.apply(m.snapshot);
  } else if (m?.gh === 'shutdown') {
    void stop();
  }
});
process.on('SIGTERM', () => void stop());
process.send?.({ gh: 'hello' } satisfies WorkerMessage);
process.on('SIGINT', () => {
  /* the primary decides; Ctrl-C reaches the whole process group */
});
process.on('disconnect', () => void stop());
