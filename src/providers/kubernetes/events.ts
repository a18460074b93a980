/**
 * core/v1 Events on broken objects (what `kubectl describe` and
 * `kubectl get events` show): type Warning, the Ready condition's reason,
 * the error as message, involvedObject = the object. Deduplicated as
 * client-go's recorder does: the same object, reason and message again →
 * the existing Event's `count` and `lastTimestamp` are patched, no new Event.
 * At most one write per object per `minIntervalMs` (10 s): occurrences in
 * between are added to the count at the next write. Only the leader records.
 */
import type { Logger } from '../../log.js';
import type { Obj } from './informer.js';
import { statusMessage, type RestCall } from './rest.js';
import type { TokenBucket } from './token-bucket.js';

export interface EventRecorderOptions {
  rest: RestCall;
  bucket: TokenBucket;
  /** reportingInstance (the holder identity). */
  identity: string;
  log: Logger;
  /** Least time between two writes about one object (default 10 s). */
  minIntervalMs?: number;
}

interface Series {
  readonly namespace: string;
  readonly object: Obj;
  readonly reason: string;
  readonly message: string;
  /** The Event's name once created. */
  name: string | null;
  /** count already written. */
  count: number;
  /** Occurrences not written yet. */
  pending: number;
  first: string;
  seen: number;
}

const COMPONENT = 'gatehouse';
const FORGET_MS = 60 * 60 * 1000;
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #series = new Map<string, Series>();
  /** Last write per object uid. */
  readonly #lastWrite = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;
  /** Event writes made (tests, logs). */
  writes = 0;

  constructor(o: EventRecorderOptions) {
    this.#o = o;
  }

  #objectKey(o: Obj): string {
    return String(o.metadata?.uid ?? `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }

  /** One occurrence of `reason: message` on `object`. */
  record(object: Obj, reason: string, message: string): void {
    if (this.#stopped) return;
    const ok = this.#objectKey(object);
    const key = `${ok}\u0000${reason}\u0000${message}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      s = {
        namespace: object.metadata?.namespace ?? 'default',
        object,
        reason,
        message,
        name: null,
        count: 0,
        pending: 0,
        first: now(),
        seen: 0,
      };
      this.#series.set(key, s);
    }
    s.pending++;
    s.seen = Date.now();
    this.#schedule(ok);
    // Forget series not seen for an hour (a later occurrence starts a new Event).
    for (const [k, v] of this.#series) if (v.pending === 0 && Date.now() - v.seen > FORGET_MS) this.#series.delete(k);
  }

  #schedule(objectKey: string): void {
    if (this.#timers.has(objectKey) || this.#stopped) return;
    const min = this.#o.minIntervalMs ?? 10_000;
    const last = this.#lastWrite.get(objectKey) ?? 0;
    const wait = Math.max(0, last + min - Date.now(), this.#o.bucket.waitMs());
    const t = setTimeout(() => {
      this.#timers.delete(objectKey);
      void this.#flush(objectKey);
    }, wait);
    t.unref();
    this.#timers.set(objectKey, t);
  }

  async #flush(objectKey: string): Promise<void> {
    if (this.#stopped) return;
    const series = [...this.#series.entries()].filter(([k, s]) => k.startsWith(`${objectKey}\u0000`) && s.pending > 0);
    if (series.length === 0) return;
    if (!this.#o.bucket.take()) return this.#schedule(objectKey);
    // One write per object per interval: the oldest pending series now, the others at the next turn.
    const [, s] = series.sort((a, b) => a[1].seen - b[1].seen)[0]!;
    this.#lastWrite.set(objectKey, Date.now());
    try {
      await this.#write(s);
    } catch (err) {
      this.#o.log.warn(
        { provider: 'kubernetescrd', object: objectKey },
        `event not written: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (series.length > 1) this.#schedule(objectKey);
  }

  async #write(s: Series): Promise<void> {
    const base = `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/events`;
    const count = s.count + s.pending;
    const at = now();
    if (s.name !== null) {
      this.writes++;
      const r = await this.#o.rest(
        'PATCH',
        `${base}/${encodeURIComponent(s.name)}`,
        { count, lastTimestamp: at },
        'application/merge-patch+json',
      );
      if (r.status === 200) {
        s.count = count;
        s.pending = 0;
        return;
      }
      if (r.status !== 404) throw new Error(statusMessage(r));
      s.name = null; // deleted (Events expire): start a new one
    }
    const o = s.object;
    const name = `${o.metadata?.name ?? 'object'}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    this.writes++;
    const r = await this.#o.rest('POST', base, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: s.namespace },
      involvedObject: {
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata?.name,
        namespace: o.metadata?.namespace,
        uid: o.metadata?.uid,
        resourceVersion: o.metadata?.resourceVersion,
      },
      reason: s.reason,
      message: s.message,
      type: 'Warning',
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.#o.identity,
      firstTimestamp: s.first,
      lastTimestamp: at,
      count,
    });
    if (r.status !== 201 && r.status !== 200) throw new Error(statusMessage(r));
    s.name = name;
    s.count = count;
    s.pending = 0;
  }

  /** Forget pending occurrences (leadership lost, or closing). */
  clear(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#series.values()) s.pending = 0;
  }

  stop(): void {
    this.#stopped = true;
    this.clear();
  }
}
