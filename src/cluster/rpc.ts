/**
 * Request/response over the cluster's IPC channel (`q` / `a` messages):
 * workers ask the primary for state only the primary has (the aggregate of
 * every worker's metrics, alert states). Every question times out.
 */
import type { Cluster, Worker } from 'node:cluster';
import type { RpcHandlers } from './backplane.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';
import { sendIpc } from '../util/ipc.js';

type Answer = Extract<PrimaryMessage, { gh: 'a' }>;

/** Run a handler; unknown methods and throwing handlers become failed answers. */
export function callHandler(handlers: RpcHandlers, method: string, args: unknown): Promise<unknown> {
  return new Promise<unknown>((resolve) => {
    const h = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
    if (h === undefined) throw new Error(`unknown query "${method}"`);
    resolve(h(args));
  });
}

/** In the primary: answer workers' questions with the current handlers. Returns a detach function. */
export function serveRpc(cluster: Cluster, handlers: () => RpcHandlers): () => void {
  const onMessage = (w: Worker, m: WorkerMessage): void => {
    if (m?.gh !== 'q') return;
    callHandler(handlers(), m.what, m.args)
      .then(
        (value): Answer => ({ gh: 'a', id: m.id, ok: true, value }),
        (err: unknown): Answer => ({ gh: 'a', id: m.id, ok: false, value: null, error: err instanceof Error ? err.message : String(err) }),
      )
      .then(
        (a) => {
          sendIpc(w, a);
        },
        () => undefined,
      );
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}

/** In a worker: the asking side, one per process (its pending questions are its own state). */
export class RpcClient {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #onMessage = (m: PrimaryMessage): void => {
    if (m?.gh !== 'a') return;
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error ?? 'query failed'));
  };

  constructor(
    private readonly proc: NodeJS.Process = process,
    private readonly timeoutMs = 3000,
  ) {
    if (typeof proc.send !== 'function') throw new Error('RpcClient: this process has no IPC channel (not a cluster worker)');
    proc.on('message', this.#onMessage);
  }

  call(what: string, args: unknown = null): Promise<unknown> {
    if (!this.proc.connected) return Promise.reject(new Error('the primary process is gone'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the primary did not answer "${what}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      sendIpc(this.proc, { gh: 'q', id, what, args } satisfies WorkerMessage);
    });
  }

  close(): void {
    this.proc.off('message', this.#onMessage);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('closed'));
    }
    this.#pending.clear();
  }
}
