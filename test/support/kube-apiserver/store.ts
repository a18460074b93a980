/**
 * The object store of the stand-in: one global resourceVersion counter (as
 * etcd's revision), objects per resource, an event history for watches that
 * can be compacted (older resourceVersions answer 410 Gone), and the live
 * watchers.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './resources.js';

export type Obj = Record<string, unknown>;
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly resource: ResourceType;
  readonly type: EventType;
  readonly object: Obj;
  /** The object before the change (MODIFIED, DELETED). */
  readonly previous: Obj | null;
}

export type EventSink = (e: StoreEvent) => void;

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const meta = (o: Obj): Obj => (o.metadata ??= {}) as Obj;
const keyOf = (ns: string, name: string): string => `${ns}/${name}`;
/** Everything but metadata and status: what `metadata.generation` follows. */
const specOf = (o: Obj): string =>
  JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status')));

export class Store {
  #rv = 0;
  /** resourceVersions up to this one are compacted away (watch from them → 410). */
  #compacted = 0;
  readonly #objects = new Map<ResourceType, Map<string, Obj>>();
  readonly #history: StoreEvent[] = [];
  readonly #sinks = new Set<EventSink>();
  /** Most events kept for watches (older ones are compacted). */
  readonly maxHistory: number;

  constructor(maxHistory = 10_000) {
    this.maxHistory = maxHistory;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get compactedRevision(): number {
    return this.#compacted;
  }

  /** Forget every event up to now: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.#compacted = this.#rv;
    this.#history.length = 0;
  }

  #table(r: ResourceType): Map<string, Obj> {
    let t = this.#objects.get(r);
    if (t === undefined) this.#objects.set(r, (t = new Map()));
    return t;
  }

  list(r: ResourceType, namespace: string | null): Obj[] {
    const out: Obj[] = [];
    for (const o of this.#table(r).values()) if (namespace === null || meta(o).namespace === namespace) out.push(structuredClone(o));
    return out;
  }

  get(r: ResourceType, namespace: string, name: string): Obj {
    const o = this.#table(r).get(keyOf(namespace, name));
    if (o === undefined) throw notFound(r, name);
    return structuredClone(o);
  }

  has(r: ResourceType, namespace: string, name: string): boolean {
    return this.#table(r).has(keyOf(namespace, name));
  }

  create(r: ResourceType, namespace: string, body: Obj): Obj {
    const o = structuredClone(body);
    const m = meta(o);
    if (typeof m.name !== 'string' || m.name === '') {
      if (typeof m.generateName === 'string' && m.generateName !== '') m.name = m.generateName + randomUUID().slice(0, 5);
      else throw new ApiError(422, 'Invalid', `${r.kind} is invalid: metadata.name: Required value: name or generateName is required`);
    }
    const name = m.name as string;
    if (this.has(r, namespace, name)) throw new ApiError(409, 'AlreadyExists', `${r.plural} "${name}" already exists`, details(r, name));
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    if (r.namespaced) m.namespace = namespace;
    else delete m.namespace;
    m.uid = randomUUID();
    m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (r.custom || o.spec !== undefined) m.generation = 1;
    else delete m.generation;
    delete m.resourceVersion;
    if (r.status && r.custom) delete o.status;
    normalise(r, o);
    return this.#commit(r, 'ADDED', o, null);
  }

  /** PUT: the whole object (or only its status when `statusOnly`). */
  update(r: ResourceType, namespace: string, name: string, body: Obj, statusOnly: boolean): Obj {
    const current = this.get(r, namespace, name);
    const bm = meta(body);
    if (bm.resourceVersion !== undefined && bm.resourceVersion !== '' && String(bm.resourceVersion) !== meta(current).resourceVersion)
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.plural}${r.group === '' ? '' : `.${r.group}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        details(r, name),
      );
    if (bm.name !== undefined && bm.name !== name)
      throw new ApiError(400, 'BadRequest', `the name of the object (${String(bm.name)}) does not match the name on the URL (${name})`);
    let next: Obj;
    if (statusOnly) {
      next = { ...current, status: structuredClone(body.status) };
    } else {
      next = structuredClone(body);
      const m = meta(next);
      const cm = meta(current);
      for (const k of ['uid', 'creationTimestamp', 'generation', 'namespace', 'name']) if (cm[k] !== undefined) m[k] = cm[k];
      if (!r.namespaced) delete m.namespace;
      next.apiVersion = apiVersionOf(r);
      next.kind = r.kind;
      // With a status subresource, the main resource does not change the status.
      if (r.status) {
        if (current.status !== undefined) next.status = current.status;
        else delete next.status;
      }
      normalise(r, next);
      if (cm.generation !== undefined && specOf(next) !== specOf(current)) m.generation = Number(cm.generation) + 1;
    }
    if (
      JSON.stringify({ ...next, metadata: { ...meta(next), resourceVersion: undefined } }) ===
      JSON.stringify({ ...current, metadata: { ...meta(current), resourceVersion: undefined } })
    )
      return current; // a no-op write does not move the resourceVersion (as the real API server)
    return this.#commit(r, 'MODIFIED', next, current);
  }

  delete(r: ResourceType, namespace: string, name: string): Obj {
    const current = this.get(r, namespace, name);
    this.#table(r).delete(keyOf(namespace, name));
    const rv = ++this.#rv;
    const gone = { ...current, metadata: { ...meta(current), resourceVersion: String(rv) } };
    this.#emit({ rv, resource: r, type: 'DELETED', object: gone, previous: current });
    return structuredClone(gone);
  }

  #commit(r: ResourceType, type: EventType, o: Obj, previous: Obj | null): Obj {
    const rv = ++this.#rv;
    meta(o).resourceVersion = String(rv);
    this.#table(r).set(keyOf(String(meta(o).namespace ?? ''), String(meta(o).name)), o);
    this.#emit({ rv, resource: r, type, object: structuredClone(o), previous });
    return structuredClone(o);
  }

  #emit(e: StoreEvent): void {
    this.#history.push(e);
    if (this.#history.length > this.maxHistory) {
      const dropped = this.#history.splice(0, this.#history.length - this.maxHistory);
      this.#compacted = dropped[dropped.length - 1]!.rv;
    }
    for (const s of this.#sinks) s(e);
  }

  /**
   * Events after `fromRv` (replayed), then live ones, to `sink`. Throws a 410
   * ApiError when `fromRv` is older than the retained history.
   */
  watch(fromRv: number, sink: EventSink): () => void {
    if (fromRv < this.#compacted) throw new ApiError(410, 'Expired', `too old resource version: ${fromRv} (${this.#compacted + 1})`);
    for (const e of this.#history) if (e.rv > fromRv) sink(e);
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }
}

function details(r: ResourceType, name: string): Record<string, unknown> {
  return { name, group: r.group, kind: r.plural };
}

export function notFound(r: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${r.plural}${r.group === '' ? '' : `.${r.group}`} "${name}" not found`, details(r, name));
}

/** What the real API server does on write: Secret stringData → data (base64). */
function normalise(r: ResourceType, o: Obj): void {
  if (r.group === '' && r.kind === 'Secret' && typeof o.stringData === 'object' && o.stringData !== null) {
    const data = (typeof o.data === 'object' && o.data !== null ? o.data : {}) as Record<string, string>;
    for (const [k, v] of Object.entries(o.stringData as Record<string, unknown>)) data[k] = Buffer.from(String(v)).toString('base64');
    o.data = data;
    delete o.stringData;
  }
  if (r.group === '' && r.kind === 'Secret' && o.type === undefined) o.type = 'Opaque';
}
