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
import { GatehouseError } from '../errors.js';
import type { ConfigFragment } from '../config/model.js';
import { LocalBackplane } from '../cluster/local.js';
import { ClusterPrimaryBackplane } from '../cluster/cluster-primary.js';
import type { Addresses, PrimaryMessage, WorkerMessage } from '../cluster/protocol.js';
import type { ServeOptions } from './options.js';
import type { ConfigWatcher } from './config-watcher.js';
import { startPrimary } from './primary.js';
import { startServing } from './serving.js';
import { PrimaryListeners } from './listeners.js';
import { sendIpc } from '../util/ipc.js';

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
  return [...(o.file !== null ? ['File'] : []), ...(o.git !== null ? ['Git'] : []), ...(o.kubernetesCrd ? ['KubernetesCRD'] : [])];
}

export async function serve(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  return o.workers <= 1 ? serveInProcess(o, deps) : serveCluster(o, deps);
}

/** The primary plus one serving half in this process, over the local backplane. */
async function serveInProcess(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  const bp = new LocalBackplane(o.metrics !== null ? { prometheusBuckets: o.metrics.buckets } : {});
  const primary = await startPrimary(o, bp, deps);
  let serving;
  try {
    serving = await startServing(o, bp, { log: deps.log, rotateKeys: true, providers: providerNames(o) });
  } catch (err) {
    await primary.close();
    bp.close();
    throw err;
  }
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

/**
 * The worker restart back-off: doubles with each crash in a row (0.2 s, 0.4 s,
 * … capped at 25.6 s) and starts again from the bottom once a worker has
 * stayed up `healthyMs` (a crash a day never waits 25 s).
 */
export class RestartBackoff {
  #crashes = 0;
  constructor(
    readonly healthyMs = 60_000,
    readonly baseMs = 100,
    readonly maxDoublings = 8,
  ) {}
  /** Delay before restarting a worker that ran `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.healthyMs) this.#crashes = 0;
    this.#crashes++;
    return this.baseMs * 2 ** Math.min(this.#crashes, this.maxDoublings);
  }
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
  // The primary owns the listeners and hands connections out in turn (listeners.ts says why
  // not node:cluster's shared listener). SCHED_NONE (each worker accepts) measured no better
  // and varied 20% between runs.
  const listeners = new PrimaryListeners();
  try {
    await listeners.listen(o.entryPoints);
  } catch (err) {
    await primary.close();
    bp.close();
    throw err;
  }
  cluster.setupPrimary({ exec: workerScript(), execArgv: process.execArgv, silent: false });
  const workers = new Set<Worker>();
  let stopping = false;
  const addresses: Addresses = listeners.addresses;
  const backoff = new RestartBackoff();
  let starting = true;
  const timers = new Set<NodeJS.Timeout>();

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork({ GATEHOUSE_WORKER: '1', GATEHOUSE_WORKERS: String(o.workers) }); // GATEHOUSE_WORKERS: services/worker-phase.ts
      const bornAt = Date.now();
      let failure: GatehouseError | null = null;
      workers.add(w);
      const onMsg = (m: WorkerMessage): void => {
        // The worker says hello once its message listener exists (messages sent before would be lost).
        if (m?.gh === 'hello' && bp.latest !== null) {
          sendIpc(w, { gh: 'init', options: o, snapshot: bp.latest, addresses } satisfies PrimaryMessage<ServeOptions>);
          // Connections sent after init wait in the worker until it serves (the channel keeps order).
          listeners.add(w);
        } else if (m?.gh === 'ready') {
          resolve();
        } else if (m?.gh === 'failed')
          failure = new GatehouseError(m.code === 'GH_LISTEN_FAILED' ? 'GH_LISTEN_FAILED' : 'GH_INTERNAL', m.message);
      };
      w.on('message', onMsg);
      w.once('exit', (code, signal) => {
        workers.delete(w);
        listeners.remove(w);
        if (stopping) return;
        // While starting, a worker that cannot serve ends the start (no restart loop): serve() rejects.
        if (starting) {
          reject(failure ?? new GatehouseError('GH_INTERNAL', `a worker exited while starting (code ${code ?? signal})`));
          return;
        }
        const delay = backoff.next(Date.now() - bornAt);
        log.error(
          { workerPid: w.process.pid, code, signal, restartInMs: delay, ...(failure !== null ? { reason: failure.message } : {}) },
          'worker exited unexpectedly; starting a new one',
        );
        // Not unref'd: with every worker gone, this timer is what keeps the primary up to respawn them.
        const t = setTimeout(() => {
          timers.delete(t);
          if (!stopping) void fork().catch((err: unknown) => log.error({ err }, 'worker restart failed'));
        }, delay);
        timers.add(t);
      });
    });

  try {
    await Promise.all(Array.from({ length: o.workers }, () => fork()));
  } catch (err) {
    stopping = true;
    for (const w of workers) w.process.kill('SIGKILL');
    await listeners.close();
    listeners.dropWaiting();
    await primary.close();
    bp.close();
    throw err;
  }
  starting = false;
  log.info({ workers: o.workers }, 'workers started');
  return {
    get addresses() {
      return addresses;
    },
    watcher: primary.watcher,
    async close() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const tell = (w: Worker, m: PrimaryMessage): boolean => sendIpc(w, m);
      // Phase 1: /ping answers 503 everywhere while the primary keeps accepting for requestAcceptGraceTimeout.
      for (const w of workers) tell(w, { gh: 'shutdown' });
      const accept = Math.max(...o.entryPoints.map((e) => e.acceptGraceTimeout ?? 0), 0);
      if (accept > 0) await new Promise((r) => setTimeout(r, accept));
      // Stop accepting while every worker still runs: what was accepted is delivered and served.
      await listeners.close();
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
              // Phase 2: drain. A worker may be dying already (Ctrl-C reaches the whole process group).
              if (!tell(w, { gh: 'drain' })) w.process.kill('SIGTERM');
            }),
        ),
      );
      listeners.dropWaiting();
      bp.close();
    },
  };
}
