/**
 * Writes each object's Ready condition through its `/status` subresource
 * (PUT with the resourceVersion read: optimistic concurrency; on 409 the
 * object is read again and the write retried). Only while this replica
 * leads; rate-limited by a token bucket shared with the Events; skipped when
 * the object already carries the same condition (lastTransitionTime aside).
 */
import type { Logger } from '../../log.js';
import { collectionPath, CRD_KINDS } from './kinds.js';
import type { Obj } from './informer.js';
import { currentReady, sameCondition, type ReadyCondition } from './object-status.js';
import { statusMessage, type RestCall } from './rest.js';
import type { TokenBucket } from './token-bucket.js';

export interface DesiredStatus {
  /** The object as cached now (its resourceVersion is the one written against). */
  readonly object: Obj;
  readonly condition: ReadyCondition;
}

export interface StatusWriterOptions {
  rest: RestCall;
  bucket: TokenBucket;
  leader: () => boolean;
  log: Logger;
  /** Attempts of one write when the object keeps changing (409). */
  conflictRetries?: number;
}

const keyOf = (o: Obj): string => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** `/apis/traefik.io/v1alpha1/namespaces/add/ingressroutes/calc`. */
export function objectPath(o: Obj): string | null {
  const k = CRD_KINDS.find((c) => `${c.group}/${c.version}` === o.apiVersion && c.kind === o.kind);
  if (k === undefined || o.metadata?.name === undefined) return null;
  return `${collectionPath(k, o.metadata.namespace ?? 'default')}/${encodeURIComponent(o.metadata.name)}`;
}

export class StatusWriter {
  readonly #o: StatusWriterOptions;
  readonly #queue = new Map<string, DesiredStatus>();
  /** What this replica wrote last per object, with the resourceVersion the write produced. */
  readonly #written = new Map<string, { rv: number; condition: ReadyCondition }>();
  #draining = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Status writes made (tests, logs). */
  writes = 0;

  constructor(o: StatusWriterOptions) {
    this.#o = o;
  }

  /** The wanted condition of every object; those that differ from what they carry are queued. */
  update(desired: readonly DesiredStatus[]): void {
    const keys = new Set<string>();
    for (const d of desired) {
      const key = keyOf(d.object);
      keys.add(key);
      const rv = Number(d.object.metadata?.resourceVersion ?? 0);
      const mine = this.#written.get(key);
      // Our own write may not have come back through the watch yet.
      const carried = mine !== undefined && mine.rv > rv ? mine.condition : currentReady(d.object);
      if (sameCondition(carried, d.condition)) this.#queue.delete(key);
      else this.#queue.set(key, d);
    }
    for (const k of this.#written.keys()) if (!keys.has(k)) this.#written.delete(k);
    for (const k of this.#queue.keys()) if (!keys.has(k)) this.#queue.delete(k);
    this.kick();
  }

  /** Write what is queued (when leading). */
  kick(): void {
    if (this.#draining || this.#stopped || this.#timer !== null) return;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (!this.#stopped && this.#o.leader() && this.#queue.size > 0) {
        const wait = this.#o.bucket.waitMs();
        if (wait > 0) {
          this.#timer = setTimeout(() => {
            this.#timer = null;
            this.kick();
          }, wait);
          this.#timer.unref();
          return;
        }
        this.#o.bucket.take();
        const [key, d] = this.#queue.entries().next().value as [string, DesiredStatus];
        this.#queue.delete(key);
        await this.#write(key, d).catch((err: unknown) =>
          this.#o.log.warn(
            { provider: 'kubernetescrd', object: key },
            `status not written: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
    } finally {
      this.#draining = false;
    }
  }

  async #write(key: string, d: DesiredStatus): Promise<void> {
    const path = objectPath(d.object);
    if (path === null) return;
    let obj = d.object;
    for (let attempt = 0; attempt <= (this.#o.conflictRetries ?? 3); attempt++) {
      if (this.#stopped || !this.#o.leader()) return;
      const prev = currentReady(obj);
      if (sameCondition(prev, d.condition)) return;
      const condition = {
        ...d.condition,
        lastTransitionTime:
          prev?.status === d.condition.status && prev.lastTransitionTime !== undefined
            ? prev.lastTransitionTime
            : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      };
      const status = (typeof obj.status === 'object' && obj.status !== null ? obj.status : {}) as Record<string, unknown>;
      const others = Array.isArray(status.conditions)
        ? (status.conditions as Array<{ type?: unknown }>).filter((c) => c.type !== 'Ready')
        : [];
      const body = { ...obj, status: { ...status, conditions: [condition, ...others] } };
      this.writes++;
      const r = await this.#o.rest('PUT', `${path}/status`, body);
      if (r.status === 200) {
        const rv = Number((r.body?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? 0);
        this.#written.set(key, { rv, condition: d.condition });
        return;
      }
      if (r.status === 404) return; // deleted meanwhile
      if (r.status !== 409) throw new Error(statusMessage(r));
      // Conflict: read the object again and retry against its new resourceVersion.
      const fresh = await this.#o.rest('GET', path);
      if (fresh.status === 404) return;
      if (fresh.status !== 200 || fresh.body === null) throw new Error(statusMessage(fresh));
      obj = fresh.body as Obj;
      if (Number(obj.metadata?.generation ?? 0) !== d.condition.observedGeneration) return; // the spec changed: the next snapshot decides
    }
    throw new Error('the object kept changing (409 Conflict on every attempt)');
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#queue.clear();
  }
}
