/**
 * Small request/response protocol between cluster workers and the primary
 * over the IPC channel (messages tagged `gh: 'q'` / `gh: 'a'`). Workers ask
 * the primary for aggregated state (Prometheus text, stats) that only the
 * primary has. Every question times out. The tap relay (below) carries live
 * tap events between workers through the primary.
 */
import type { Cluster, Worker } from 'node:cluster';
import { TapBus, type TapEvent, type TapFilter } from '../observe/tap.js';

type Question = { gh: 'q'; id: number; what: string; args: unknown };
type Answer = { gh: 'a'; id: number; ok: boolean; value: unknown; error?: string };

export type QueryHandlers = Record<string, (args: unknown) => unknown>;

/** In the primary: answer workers' questions with `handlers`. Returns a detach function. */
export function serveQueries(cluster: Cluster, handlers: QueryHandlers): () => void {
  const onMessage = (w: Worker, m: Question): void => {
    if (m?.gh !== 'q') return;
    const h = handlers[m.what];
    const fail = (err: unknown): Answer => ({ gh: 'a', id: m.id, ok: false, value: null, error: err instanceof Error ? err.message : String(err) });
    // Handlers may answer with a promise (alert state, …).
    new Promise<unknown>((resolve) => {
      if (h === undefined) throw new Error(`unknown query "${m.what}"`);
      resolve(h(m.args));
    }).then(
      (value): Answer => ({ gh: 'a', id: m.id, ok: true, value }),
      fail,
    ).then((a) => {
      if (w.isConnected()) w.send(a);
    }, () => undefined);
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

// ---------------------------------------------------------------------------
// Tap relay. A tap opened on one worker (the one that serves the admin SSE
// request) must see the exchanges of every worker. The owner tells the primary
// (`tap-open`); the primary keeps the list of open taps and broadcasts it
// (`tap-filters`) to every worker; a worker subscribes each filter on its own
// TapBus, so its hot path builds events only while a matching tap is open,
// and sends the matching events (`tap-ev`, already capped at the tap's rate)
// to the primary, which forwards them to the owner. The owner caps the merged
// stream again, so a subscriber never gets more than its `maxRps`.
// ---------------------------------------------------------------------------


/** One open tap as the primary broadcasts it. */
export interface TapSpec {
  id: string;
  filter: TapFilter;
  maxRps: number;
  headers: boolean;
}

type TapMessage =
  | { gh: 'tap-open'; tap: TapSpec }
  | { gh: 'tap-close'; id: string }
  | { gh: 'tap-filters'; taps: TapSpec[] }
  | { gh: 'tap-ev'; id: string; e: TapEvent };

/** In the primary: route taps between workers. Returns a detach function. */
export function attachPrimaryTapRelay(c: Cluster): () => void {
  const taps = new Map<string, { owner: Worker; spec: TapSpec }>();
  const specs = (): TapSpec[] => [...taps.values()].map((t) => t.spec);
  const sendTo = (w: Worker, m: TapMessage): void => {
    if (w.isConnected()) w.send(m);
  };
  const broadcast = (): void => {
    const m: TapMessage = { gh: 'tap-filters', taps: specs() };
    for (const w of Object.values(c.workers ?? {})) if (w !== undefined) sendTo(w, m);
  };
  const onMessage = (w: Worker, m: TapMessage | { gh: 'ready' }): void => {
    switch (m?.gh) {
      case 'tap-open':
        if (typeof m.tap?.id !== 'string') return;
        taps.set(m.tap.id, { owner: w, spec: m.tap });
        broadcast();
        return;
      case 'tap-close':
        if (taps.delete(m.id)) broadcast();
        return;
      case 'tap-ev': {
        const t = taps.get(m.id);
        if (t !== undefined) sendTo(t.owner, m);
        return;
      }
      case 'ready':
        // A worker that (re)started late learns the taps already open.
        if (taps.size > 0) sendTo(w, { gh: 'tap-filters', taps: specs() });
        return;
    }
  };
  const onExit = (w: Worker): void => {
    let changed = false;
    for (const [id, t] of taps) if (t.owner === w) changed = taps.delete(id) || changed;
    if (changed) broadcast();
  };
  c.on('message', onMessage);
  c.on('exit', onExit);
  return () => {
    c.off('message', onMessage);
    c.off('exit', onExit);
    taps.clear();
  };
}

/** In a worker: publish local events for the taps open anywhere, and open taps that see every worker. */
export class WorkerTapRelay {
  /** Subscriptions on the local bus, per open tap (producer side). */
  private readonly producing = new Map<string, () => void>();
  /** Taps owned here (consumer side): the bus that caps the merged stream. */
  private readonly owned = new Map<string, TapBus>();
  private seq = 0;
  private readonly onMessage = (m: TapMessage): void => {
    if (m?.gh === 'tap-filters') this.sync(Array.isArray(m.taps) ? m.taps : []);
    else if (m?.gh === 'tap-ev') this.owned.get(m.id)?.publish(m.e);
  };

  constructor(private readonly bus: TapBus) {
    process.on('message', this.onMessage);
  }

  private sync(taps: TapSpec[]): void {
    const want = new Set(taps.map((t) => t.id));
    for (const [id, close] of this.producing) {
      if (!want.has(id)) {
        close();
        this.producing.delete(id);
      }
    }
    for (const t of taps) {
      if (this.producing.has(t.id)) continue;
      try {
        const id = t.id;
        const close = this.bus.subscribe(t.filter, t.maxRps, (e) => {
          if (process.connected) process.send?.({ gh: 'tap-ev', id, e } satisfies TapMessage);
        }, { headers: t.headers });
        this.producing.set(id, close);
      } catch {
        // An invalid filter was rejected by the owner already; ignore.
      }
    }
  }

  /** Open a tap over every worker. The filter must be valid (compileTapFilter). Returns its close function. */
  open(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void {
    const id = `${process.pid}.${this.seq++}`;
    const merged = new TapBus();
    // The producers applied the filter; the owner only caps the merged rate.
    merged.subscribe({}, maxRps, onEvent, { headers });
    this.owned.set(id, merged);
    process.send?.({ gh: 'tap-open', tap: { id, filter, maxRps, headers } } satisfies TapMessage);
    return () => {
      if (!this.owned.delete(id)) return;
      if (process.connected) process.send?.({ gh: 'tap-close', id } satisfies TapMessage);
    };
  }

  close(): void {
    process.off('message', this.onMessage);
    for (const close of this.producing.values()) close();
    this.producing.clear();
    for (const id of [...this.owned.keys()]) if (process.connected) process.send?.({ gh: 'tap-close', id } satisfies TapMessage);
    this.owned.clear();
  }
}
