/**
 * Small request/response protocol between cluster workers and the primary
 * over the IPC channel (messages tagged `gh: 'q'` / `gh: 'a'`). Workers ask
 * the primary for aggregated state (Prometheus text, stats) that only the
 * primary has. Every question times out.
 */
import type { Cluster, Worker } from 'node:cluster';

type Question = { gh: 'q'; id: number; what: string; args: unknown };
type Answer = { gh: 'a'; id: number; ok: boolean; value: unknown; error?: string };

export type QueryHandlers = Record<string, (args: unknown) => unknown>;

/** In the primary: answer workers' questions with `handlers`. Returns a detach function. */
export function serveQueries(cluster: Cluster, handlers: QueryHandlers): () => void {
  const onMessage = (w: Worker, m: Question): void => {
    if (m?.gh !== 'q') return;
    const h = handlers[m.what];
    let a: Answer;
    try {
      if (h === undefined) throw new Error(`unknown query "${m.what}"`);
      a = { gh: 'a', id: m.id, ok: true, value: h(m.args) };
    } catch (err) {
      a = { gh: 'a', id: m.id, ok: false, value: null, error: err instanceof Error ? err.message : String(err) };
    }
    if (w.isConnected()) w.send(a);
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}

let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
let listening = false;

/** In a worker: ask the primary. */
export function askPrimary(what: string, args: unknown = null, timeoutMs = 3000): Promise<unknown> {
  if (process.send === undefined) return Promise.reject(new Error('not a cluster worker'));
  if (!listening) {
    listening = true;
    process.on('message', (m: Answer) => {
      if (m?.gh !== 'a') return;
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'query failed'));
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`the primary did not answer "${what}" within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    pending.set(id, { resolve, reject, timer });
    process.send!({ gh: 'q', id, what, args } satisfies Question);
  });
}
