/**
 * Telemetry wiring of one serving process: the access log, the metrics store
 * (local with one process; deltas sent to the primary from a worker) and the
 * internal services that expose them (`prometheus@internal`).
 */
import cluster, { type Cluster } from 'node:cluster';
import type { Logger } from '../log.js';
import type { ServeOptions } from './options.js';
import type { Snapshot } from '../config/runtime.js';
import { sendText, type Handler, type RequestContext } from './context.js';
import { AccessLog } from '../observe/access-log.js';
import { MetricsStore, type MetricsDelta } from '../observe/metrics.js';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from '../observe/prometheus.js';
import { accessLogEntryFromContext, exchangeRecordFromContext } from '../observe/from-context.js';
import { askPrimary, serveQueries } from './ipc.js';
import type { ServingHooks } from './serving.js';
import { IdentityProvider, compileIdentity } from '../identity/index.js';

export interface Observers {
  hooks: ServingHooks;
  /** The local store (single process) or the worker's delta store. */
  metrics: MetricsStore;
  onSnapshot(s: Snapshot): void;
  close(): Promise<void>;
}

type Mode = 'single' | 'worker';

function prometheusText(store: MetricsStore, o: ServeOptions): string {
  return renderPrometheus(store.prometheusSnapshot(), {
    addEntryPointsLabels: o.metrics?.addEntryPointsLabels ?? true,
    addRoutersLabels: o.metrics?.addRoutersLabels ?? false,
    addServicesLabels: o.metrics?.addServicesLabels ?? true,
  });
}

export async function createObservers(o: ServeOptions, log: Logger, mode: Mode = process.send !== undefined && cluster.isWorker ? 'worker' : 'single'): Promise<Observers> {
  const access = o.accessLog !== null ? new AccessLog({ format: o.accessLog.format, filePath: o.accessLog.filePath, bufferingSize: o.accessLog.bufferingSize }) : null;
  const store = new MetricsStore({ mode: mode === 'worker' ? 'worker' : 'local' });
  let timer: NodeJS.Timeout | null = null;
  if (mode === 'worker') {
    timer = setInterval(() => {
      if (process.connected) process.send?.({ gh: 'metrics', delta: store.takeDelta() });
    }, 1000);
    timer.unref();
  }
  const onEnd = (ctx: RequestContext): void => {
    store.record(exchangeRecordFromContext(ctx));
    if (access !== null) access.log(accessLogEntryFromContext(ctx));
  };
  const identityEnabled = o.identity.enabled || o.identity.insecure;
  const idp = identityEnabled
    ? new IdentityProvider({
        dataDir: o.dataDir,
        issuerBaseUrl: o.identity.issuerBaseUrl ?? undefined,
        log: log.child({ service: 'identity@internal' }),
        // In a cluster the primary owns key creation; workers only load (rotation happens at restart).
        ...(mode === 'worker' ? { rotationIntervalMs: 365 * 24 * 3600 * 1000 } : {}),
      })
    : null;
  await idp?.init();
  const prometheus: Handler = (ctx) => {
    if (mode === 'single') {
      sendText(ctx, 200, prometheusText(store, o), { 'content-type': PROMETHEUS_CONTENT_TYPE });
      return;
    }
    askPrimary('prometheus').then(
      (text) => sendText(ctx, 200, String(text), { 'content-type': PROMETHEUS_CONTENT_TYPE }),
      (err: unknown) => {
        log.warn({ err }, 'metrics unavailable');
        sendText(ctx, 503, 'metrics unavailable: the primary process did not answer');
      },
    );
  };
  return {
    hooks: { onEnd, internal: { 'prometheus@internal': prometheus, ...(idp !== null ? { 'identity@internal': idp.handler } : {}) } },
    metrics: store,
    onSnapshot(s) {
      idp?.update(compileIdentity(s.resources, process.env).config);
      if (mode === 'single') store.recordConfigReload(s.issues.every((i) => i.severity === 'warning'));
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      await idp?.close();
      if (access !== null) await access.close();
    },
  };
}

/** In the primary, before workers start: create (or rotate) the identity signing keys once, so workers only load them. */
export async function prepareIdentityKeys(o: ServeOptions, log: Logger): Promise<void> {
  if (!(o.identity.enabled || o.identity.insecure)) return;
  const idp = new IdentityProvider({ dataDir: o.dataDir, log });
  await idp.init();
  await idp.close();
}

/** In the primary: aggregate workers' metric deltas and answer their queries. */
export function attachPrimaryObservers(c: Cluster, o: ServeOptions): { store: MetricsStore; onSnapshot(s: Snapshot): void; detach(): void } {
  const store = new MetricsStore({ mode: 'local' });
  const onMessage = (w: { id: number }, m: { gh?: string; delta?: MetricsDelta }): void => {
    if (m?.gh === 'metrics' && m.delta !== undefined) store.applyDelta(m.delta, String(w.id));
  };
  const onExit = (w: { id: number }): void => store.forgetSource(String(w.id));
  c.on('message', onMessage);
  c.on('exit', onExit);
  const detachQ = serveQueries(c, { prometheus: () => prometheusText(store, o) });
  return {
    store,
    onSnapshot: (s) => store.recordConfigReload(s.issues.every((i) => i.severity === 'warning')),
    detach() {
      c.off('message', onMessage);
      c.off('exit', onExit);
      detachQ();
    },
  };
}
