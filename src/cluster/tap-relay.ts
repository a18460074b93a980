/**
 * Tap relay. A tap opened on one worker (the one that serves the admin SSE
 * request) must see the exchanges of every worker. The owner tells the primary
 * (`tap-open`); the primary keeps the list of open taps and broadcasts it
 * (`tap-filters`) to every worker; a worker subscribes each filter on its own
 * TapBus, so its hot path builds events only while a matching tap is open,
 * and sends the matching events (`tap-ev`, already capped at the tap's rate)
 * to the primary, which forwards them to the owner. The owner caps the merged
 * stream again, so a subscriber never gets more than its `maxRps`.
 */
import type { Cluster, Worker } from 'node:cluster';
import { TapBus, type TapEvent, type TapFilter } from '../observe/tap.js';
import type { PrimaryMessage, TapSpec, WorkerMessage } from './protocol.js';
import { sendIpc } from '../util/ipc.js';

/** In the primary: route taps between workers. Returns a detach function. */
export function attachPrimaryTapRelay(c: Cluster): () => void {
  const taps = new Map<string, { owner: Worker; spec: TapSpec }>();
  const specs = (): TapSpec[] => [...taps.values()].map((t) => t.spec);
  const sendTo = (w: Worker, m: PrimaryMessage): void => {
    sendIpc(w, m);
  };
  const broadcast = (): void => {
    const m: PrimaryMessage = { gh: 'tap-filters', taps: specs() };
    for (const w of Object.values(c.workers ?? {})) if (w !== undefined) sendTo(w, m);
  };
  const onMessage = (w: Worker, m: WorkerMessage): void => {
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
  private readonly onMessage = (m: PrimaryMessage): void => {
    if (m?.gh === 'tap-filters') this.sync(Array.isArray(m.taps) ? m.taps : []);
    else if (m?.gh === 'tap-ev') this.owned.get(m.id)?.publish(m.e);
  };

  constructor(
    private readonly bus: TapBus,
    private readonly proc: NodeJS.Process = process,
  ) {
    proc.on('message', this.onMessage);
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
        const close = this.bus.subscribe(
          t.filter,
          t.maxRps,
          (e) => {
            sendIpc(this.proc, { gh: 'tap-ev', id, e } satisfies WorkerMessage);
          },
          { headers: t.headers },
        );
        this.producing.set(id, close);
      } catch {
        // An invalid filter was rejected by the owner already; ignore.
      }
    }
  }

  /** Open a tap over every worker. The filter must be valid (compileTapFilter). Returns its close function. */
  open(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void {
    const id = `${this.proc.pid}.${this.seq++}`;
    const merged = new TapBus();
    // The producers applied the filter; the owner only caps the merged rate.
    merged.subscribe({}, maxRps, onEvent, { headers });
    this.owned.set(id, merged);
    sendIpc(this.proc, { gh: 'tap-open', tap: { id, filter, maxRps, headers } } satisfies WorkerMessage);
    return () => {
      if (!this.owned.delete(id)) return;
      sendIpc(this.proc, { gh: 'tap-close', id } satisfies WorkerMessage);
    };
  }

  close(): void {
    this.proc.off('message', this.onMessage);
    for (const close of this.producing.values()) close();
    this.producing.clear();
    for (const id of [...this.owned.keys()]) sendIpc(this.proc, { gh: 'tap-close', id } satisfies WorkerMessage);
    this.owned.clear();
  }
}
