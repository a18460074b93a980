/**
 * The composition root of `gatehouse serve`: the primary half (providers,
 * compile, alerts) and the serving half (entry points, handlers, telemetry)
 * over a backplane. With one worker both halves run in this process over the
 * LocalBackplane; with several, this process is the primary and node:cluster
 * workers (sharing the listening sockets) run the serving half over the
 * cluster backplane (worker-main.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { ConfigFragment } from '../config/model.js';
import { LocalBackplane } from '../cluster/local.js';
import { ClusterPrimaryBackplane } from '../cluster/cluster-primary.js';
import type { Addresses, PrimaryMessage, WorkerMessage } from '../cluster/protocol.js';
import type { ServeOptions } from './options.js';
import type { ConfigWatcher } from './config-watcher.js';
import { startPrimary } from './primary.js';
import { startServing } from './serving.js';

export interface RunningGatehouse {
  /** Bound address of every entry point (as seen by the serving process). */
  readonly addresses: Addresses;
  readonly watcher: ConfigWatcher;
  /** Stop: drain in-flight requests, close listeners and pools. */
  close(): Promise<void>;
}

export interface ServeDeps {
  log: Logger;
  extraFragments?: readonly ConfigFragment[];
}

/** Names of the running providers as Traefik's /api/overview shows them. */
export function providerNames(o: ServeOptions): string[] {
  return [...(o.file !== null ? ['File'] : []), ...(o.kubernetesCrd ? ['KubernetesCRD'] : [])];
}

export async function serve(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  return o.workers <= 1 ? serveInProcess(o, deps) : serveCluster(o, deps);
}

/** The primary plus one serving half in this process, over the local backplane. */
async function serveInProcess(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  const bp = new LocalBackplane(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {});
  const primary = await startPrimary(o, bp, deps);
  const serving = await startServing(o, bp, { log: deps.log, rotateKeys: true, providers: providerNames(o) });
  return {
    addresses: serving.addresses,
    watcher: primary.watcher,
    async close() {
      await primary.close();
      await serving.close();
      bp.close();
    },
  };
}

function workerScript(): string {
  const self = import.meta.url;
  return fileURLToPath(new URL(self.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', self));
}

/** This process is the primary; workers run the serving half. */
async function serveCluster(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  const log = deps.log;
  const bp = new ClusterPrimaryBackplane(cluster, o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {});
  const primary = await startPrimary(o, bp, deps);
  // Round-robin (node's default): the primary accepts and hands connections out.
  // SCHED_NONE (each worker accepts) measured no better and varied 20% between runs.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: workerScript(), execArgv: process.execArgv, silent: false });
  const workers = new Set<Worker>();
  let stopping = false;
  let addresses: Addresses = {};
  let restarts = 0;

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork({ GATEHOUSE_WORKER: '1' });
      workers.add(w);
      const onMsg = (m: WorkerMessage): void => {
        // The worker says hello once its message listener exists (messages sent before would be lost).
        if (m?.gh === 'hello' && bp.latest !== null)
          w.send({ gh: 'init', options: o, snapshot: bp.latest } satisfies PrimaryMessage<ServeOptions>);
        else if (m?.gh === 'ready') {
          addresses = m.addresses;
          resolve();
        }
      };
      w.on('message', onMsg);
      w.once('exit', (code, signal) => {
        workers.delete(w);
        if (stopping) return;
        log.error({ pid: w.process.pid, code, signal }, 'worker exited unexpectedly; starting a new one');
        reject(new Error(`worker exited during start (code ${code})`));
        restarts++;
        const delay = Math.min(30_000, 100 * 2 ** Math.min(restarts, 8));
        setTimeout(() => void fork().catch((err: unknown) => log.error({ err }, 'worker restart failed')), delay).unref();
      });
    });

  await Promise.all(Array.from({ length: o.workers }, () => fork()));
  log.info({ workers: o.workers }, 'workers started');
  return {
    get addresses() {
      return addresses;
    },
    watcher: primary.watcher,
    async close() {
      stopping = true;
      await primary.close();
      const grace = Math.max(...o.entryPoints.map((e) => e.graceTimeout), 0) + 5000;
      await Promise.all(
        [...workers].map(
          (w) =>
            new Promise<void>((resolve) => {
              const t = setTimeout(() => {
                w.process.kill('SIGKILL');
                resolve();
              }, grace);
              w.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              if (w.isConnected()) w.send({ gh: 'shutdown' } satisfies PrimaryMessage);
              else w.process.kill('SIGTERM');
            }),
        ),
      );
      bp.close();
    },
  };
}
