/**
 * One list-and-watch of one kind (in one namespace, or all), built on
 * `@kubernetes/client-node`'s ListWatch (what its `makeInformer` returns,
 * constructed here so a field selector and a guarded Watch can be given):
 * list, then watch from the list's resourceVersion with bookmarks; on 410
 * Gone the ListWatch lists again. What the library does not do is added here:
 * after an error it stops for good, so this restarts it with exponential
 * back-off; a watch that ends at once, again and again, is slowed down the
 * same way (no busy loop); a kind the API server does not serve is "absent"
 * and probed again slowly.
 */
import {
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiVersionOf, collectionPath, type WatchedKind } from './kinds.js';

export type InformerState = 'starting' | 'up' | 'down' | 'absent' | 'stopped';

export interface InformerOptions {
  kc: KubeConfig;
  api: KubernetesObjectApi;
  kind: WatchedKind;
  namespace: string | null;
  labelSelector?: string;
  fieldSelector?: string;
  /** Something changed (an object added, updated or deleted, or the state). */
  onChange: () => void;
  backoff?: { initialMs: number; maxMs: number };
  /** How long an absent kind waits before it is probed again. */
  absentRetryMs?: number;
}

export type Obj = KubernetesObject & Record<string, unknown>;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** A Watch that asks for bookmarks and reports whether each watch request was accepted. */
class GuardedWatch extends Watch {
  #starts: number[] = [];
  constructor(
    config: KubeConfig,
    private readonly hooks: { accepted: () => void; delay: () => number; signal: AbortSignal },
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // More than 5 watch requests within 2 s: the server ends them at once; slow down.
    const now = Date.now();
    this.#starts = [...this.#starts.filter((t) => now - t < 2000), now];
    if (this.#starts.length > 5) await sleep(this.hooks.delay(), this.hooks.signal);
    let failed = false;
    const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, (err: unknown) => {
      if (err !== null && err !== undefined) failed = true;
      done(err);
    });
    if (!failed) this.hooks.accepted();
    return controller;
  }
}

function isAbsent(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 404 || (typeof e.message === 'string' && e.message.startsWith('Unrecognized API version and kind'));
}

/** Plain JSON with apiVersion and kind (typed list items come without them, and with Date objects). */
function plain(kind: WatchedKind, o: KubernetesObject): Obj {
  const v = JSON.parse(JSON.stringify(o)) as Obj;
  v.apiVersion ??= apiVersionOf(kind);
  v.kind ??= kind.kind;
  return v;
}

export class ResilientInformer {
  readonly #o: InformerOptions;
  readonly #abort = new AbortController();
  #lw: ListWatch<Obj> | null = null;
  #state: InformerState = 'starting';
  #error = '';
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Resolves once the first list succeeded, failed, or found the kind absent. */
  readonly settled: Promise<void>;
  #settle: () => void = () => undefined;
  #listed = false;

  constructor(o: InformerOptions) {
    this.#o = o;
    this.settled = new Promise((r) => (this.#settle = r));
  }

  get kind(): WatchedKind {
    return this.#o.kind;
  }
  /** The namespace watched (null: all). */
  get kindNamespace(): string | null {
    return this.#o.namespace;
  }
  get state(): InformerState {
    return this.#state;
  }
  /** The last error ('' when up). */
  get error(): string {
    return this.#error;
  }
  /** True once a list succeeded (the cache holds the kind's objects). */
  get listed(): boolean {
    return this.#listed;
  }

  objects(): Obj[] {
    return [...(this.#lw?.list() ?? [])];
  }

  start(): void {
    const k = this.#o.kind;
    const listFn = async (): Promise<KubernetesListObject<Obj>> => {
      try {
        const list = await this.#o.api.list(
          apiVersionOf(k),
          k.kind,
          this.#o.namespace ?? undefined,
          undefined,
          undefined,
          undefined,
          this.#o.fieldSelector,
          this.#o.labelSelector,
        );
        this.#listed = true;
        this.#up();
        this.#settle();
        return { ...list, items: list.items.map((i) => plain(k, i)) } as KubernetesListObject<Obj>;
      } catch (err) {
        if (isAbsent(err)) this.#state = 'absent';
        throw err;
      }
    };
    const watch = new GuardedWatch(this.#o.kc, {
      accepted: () => this.#up(),
      delay: () => this.#nextDelay(),
      signal: this.#abort.signal,
    });
    const lw = new ListWatch<Obj>(collectionPath(k, this.#o.namespace), watch, listFn, false, this.#o.labelSelector, this.#o.fieldSelector);
    this.#lw = lw;
    const changed = (): void => this.#o.onChange();
    lw.on('add', changed);
    lw.on('update', changed);
    lw.on('delete', changed);
    lw.on('error', (err: unknown) => this.#failed(err));
    void lw.start().catch((err: unknown) => this.#failed(err));
  }

  #up(): void {
    this.#failures = 0;
    if (this.#state !== 'up') {
      this.#state = 'up';
      this.#error = '';
      this.#o.onChange();
    }
  }

  #nextDelay(): number {
    const b = this.#o.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const ms = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.#failures, 16));
    this.#failures++;
    return ms * (0.8 + Math.random() * 0.4);
  }

  #failed(err: unknown): void {
    if (this.#abort.signal.aborted) return;
    const absent = this.#state === 'absent' || isAbsent(err);
    const before = this.#state;
    this.#state = absent ? 'absent' : 'down';
    this.#error = err instanceof Error ? err.message : String(err);
    this.#settle();
    if (before !== this.#state) this.#o.onChange();
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = absent ? (this.#o.absentRetryMs ?? 60_000) : this.#nextDelay();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#abort.signal.aborted || this.#lw === null) return;
      void this.#lw.start().catch((e: unknown) => this.#failed(e));
    }, delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#state = 'stopped';
    this.#settle();
    await this.#lw?.stop();
  }
}
