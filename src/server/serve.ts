/**
 * The composition root of `gatehouse serve`. With one worker everything runs
 * in this process. With several, this process is the primary: it runs the
 * providers and compiles configuration, and node:cluster workers (sharing the
 * listening sockets) build handlers from the snapshots it sends them.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { ConfigManager } from '../config/manager.js';
import type { ConfigFragment } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import { builtinRegistry } from '../middlewares/builtin.js';
import type { ServeOptions } from './options.js';
import { createServing, internalServiceNames } from './serving.js';
import { createMemoryRateLimitStore } from '../middlewares/rate-limit/store-memory.js';
import { attachPrimaryRateLimitStore } from '../middlewares/rate-limit/store-primary.js';
import { attachPrimaryObservers, prepareIdentityKeys } from './observers.js';
import { createObservers } from './observers.js';
import type { ConfigIssue } from '../errors.js';
import { AlertEngine } from '../alerts/engine.js';

export interface RunningGatehouse {
  /** Bound address of every entry point (as seen by the serving process). */
  readonly addresses: Record<string, { host: string; port: number }>;
  readonly manager: ConfigManager;
  /** Stop: drain in-flight requests, close listeners and pools. */
  close(): Promise<void>;
}

export interface ServeDeps {
  log: Logger;
  extraFragments?: readonly ConfigFragment[];
}

/** Messages between primary and workers (all tagged `gh`). */
export type PrimaryMessage =
  | { gh: 'init'; options: ServeOptions; snapshot: Snapshot }
  | { gh: 'snapshot'; snapshot: Snapshot }
  | { gh: 'shutdown' };
export type WorkerMessage = { gh: 'hello' } | { gh: 'ready'; addresses: Record<string, { host: string; port: number }> } | { gh: 'stopped' };

export function staticIssues(o: ServeOptions): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (o.kubernetesCrd) {
    out.push({ severity: 'warning', file: '(static configuration)', field: 'providers.kubernetesCRD', message: 'the kubernetescrd provider needs a Kubernetes API server, which is not available in this build yet; Kubernetes objects (IngressRoute, Middleware, Service, Endpoints) are read from the file provider instead' });
  }
  return out;
}

function createManager(o: ServeOptions, deps: ServeDeps): ConfigManager {
  return new ConfigManager({
    file: o.file,
    kubernetes: o.kubernetes,
    entryPoints: o.entryPoints.map((e) => e.name),
    defaultEntryPoints: o.defaultEntryPoints,
    defaultRuleSyntax: o.defaultRuleSyntax,
    registry: builtinRegistry(),
    internalRoutes: {
      api: o.api.insecure ? 'traefik' : null,
      dashboard: o.api.dashboard,
      ping: o.ping !== null && o.ping.entryPoint !== '' ? o.ping.entryPoint : null,
      metrics: o.metrics?.entryPoint ?? null,
      identity: o.identity.insecure ? 'traefik' : null,
      redirections: o.redirections,
    },
    internalServices: internalServiceNames(o),
    extraFragments: deps.extraFragments,
    staticIssues: staticIssues(o),
    throttleMs: o.throttleMs,
    log: deps.log.child({ provider: 'file' }),
  });
}

export async function serve(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  return o.workers <= 1 ? serveSingle(o, deps) : servePrimary(o, deps);
}

async function serveSingle(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  const manager = createManager(o, deps);
  const store = createMemoryRateLimitStore();
  const observers = await createObservers(o, deps.log);
  const gateway = createServing(o, { log: deps.log, rateLimitStore: store, hooks: { ...observers.hooks, lastErrors: () => (manager.snapshot?.issues ?? []).filter((i) => i.severity !== 'warning').map((i) => i.message) } });
  const alerts = new AlertEngine({ metrics: observers.metrics, log: deps.log.child({ service: 'alerts' }), health: () => gateway.current?.serverStatus() ?? {} });
  observers.setAlertSource(() => alerts.states());
  const first = await manager.start((s) => {
    observers.onSnapshot(s);
    gateway.apply(s);
    alerts.update(s.resources);
  });
  // Listen first: middlewares that pre-fetch from this gateway (validateJwt → identity@internal) can reach it.
  await gateway.listen();
  observers.onSnapshot(first);
  gateway.apply(first);
  alerts.update(first.resources);
  const addresses: Record<string, { host: string; port: number }> = {};
  for (const e of o.entryPoints) addresses[e.name] = gateway.entryPoint(e.name)!.address;
  return {
    addresses,
    manager,
    async close() {
      await manager.close();
      alerts.close();
      await gateway.close();
      await observers.close();
      store.close();
    },
  };
}

function workerScript(): string {
  const self = import.meta.url;
  return fileURLToPath(new URL(self.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', self));
}

async function servePrimary(o: ServeOptions, deps: ServeDeps): Promise<RunningGatehouse> {
  const log = deps.log;
  const manager = createManager(o, deps);
  await prepareIdentityKeys(o, log);
  const obs = attachPrimaryObservers(cluster, o);
  const alerts = new AlertEngine({ metrics: obs.store, log: log.child({ service: 'alerts' }) });
  obs.setAlertSource(() => alerts.states());
  let snapshot = await manager.start((s) => {
    snapshot = s;
    obs.onSnapshot(s);
    alerts.update(s.resources);
    for (const w of workers) if (w.isConnected()) w.send({ gh: 'snapshot', snapshot: s } satisfies PrimaryMessage);
  });
  obs.onSnapshot(snapshot);
  alerts.update(snapshot.resources);
  // Round-robin (node's default): the primary accepts and hands connections out.
  // SCHED_NONE (each worker accepts) measured no better and varied 20% between runs.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: workerScript(), execArgv: process.execArgv, silent: false });
  const detachRl = attachPrimaryRateLimitStore(cluster);
  const workers = new Set<Worker>();
  let stopping = false;
  let addresses: Record<string, { host: string; port: number }> = {};
  let restarts = 0;

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork({ GATEHOUSE_WORKER: '1' });
      workers.add(w);
      const onMsg = (m: WorkerMessage): void => {
        // The worker says hello once its message listener exists (messages sent before would be lost).
        if (m?.gh === 'hello') w.send({ gh: 'init', options: o, snapshot } satisfies PrimaryMessage);
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
    manager,
    async close() {
      stopping = true;
      await manager.close();
      alerts.close();
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
      detachRl();
      obs.detach();
    },
  };
}
