/**
 * The tap bus: live events of individual exchanges for `gatehouse tap`, the
 * dashboard's tap table and the admin SSE stream.
 *
 * The hot path checks `bus.hasSubscribers` (a plain boolean) and builds no
 * event at all when nobody taps. Each subscriber has a filter, a rate cap
 * (exchanges per second, token bucket) and may ask for headers, which are
 * always redacted (authorization, proxy-authorization, cookie, set-cookie and
 * the configured sensitive names).
 *
 * Events of one exchange share an `id`: `req` (the request starts, before
 * routing), `rsp` (response headers sent) and `end` (exchange over). A `req`
 * event does not know the router, service, server or token caller yet: they
 * are filled in on `rsp` and `end`. So filters on those (`router`, `service`,
 * `caller`) are decided at `rsp`: such a subscriber receives `req` (with the
 * routing fields filled in) and `rsp` together when the headers go out.
 * Filters on the response (`status`, `slowerThanMs`) are decided at `end`:
 * such a subscriber receives the three events of a matching exchange
 * together, in order, when it ends.
 */
import { grpcStatusName } from './classify.js';

export type TapEventType = 'req' | 'rsp' | 'end';

export type TapHeaders = Record<string, string | string[] | number | undefined>;

export interface TapEvent {
  type: TapEventType;
  /** `<worker>:<sequence>`, shared by the events of one exchange. */
  id: string;
  method: string;
  authority: string;
  path: string;
  /** Response status (0 on `req`). */
  status: number;
  /** `rsp`: time to response headers; `end`: total duration; `req`: 0. Milliseconds. */
  latencyMs: number;
  /** Router, service and backend server: '' on a live `req` (not routed yet). */
  router: string;
  service: string;
  server: string;
  /** Token client id once verified (from `rsp` on), else the configured header or the client address. */
  caller: string;
  /** Client address `ip:port`. */
  source: string;
  grpcStatus: number | null;
  /** `end`: response body bytes; 0 on `req` and `rsp`. */
  bytes: number;
  /** `end`: request body bytes read (absent when not counted). */
  requestBytes?: number;
  /** `rsp`, `end`: why the gateway answered itself (docs/errors.md); absent when the backend answered. */
  code?: string;
  requestHeaders?: TapHeaders;
  responseHeaders?: TapHeaders;
}

export interface TapFilter {
  router?: string;
  service?: string;
  caller?: string;
  /** Path prefix. */
  pathPrefix?: string;
  method?: string;
  authority?: string;
  /** `5xx`, `4xx`, … or an exact status `404`. */
  status?: string;
  /** Only exchanges whose total duration exceeds this. */
  slowerThanMs?: number;
}

export interface TapSubscribeOptions {
  /** Include (redacted) request and response headers. */
  headers?: boolean;
}

export interface TapBusOptions {
  /** Extra header names to redact (any case). */
  sensitiveHeaders?: readonly string[];
  /** Id prefix (the worker number). */
  idPrefix?: string;
  /** Clock in ms for the rate caps (tests). */
  now?: () => number;
  /** Max exchanges held per response-filtered subscriber while waiting for their end. */
  maxPending?: number;
}

export const ALWAYS_REDACTED: readonly string[] = Object.freeze(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
export const REDACTED = '[redacted]';

/** Copy of `h` with sensitive header values replaced by `[redacted]`. */
export function redactHeaders(h: TapHeaders, sensitive: ReadonlySet<string>): TapHeaders {
  const out: TapHeaders = {};
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v === undefined) continue;
    out[name] = sensitive.has(name.toLowerCase()) ? REDACTED : v;
  }
  return out;
}

interface CompiledFilter {
  router: string | undefined;
  service: string | undefined;
  caller: string | undefined;
  pathPrefix: string | undefined;
  method: string | undefined;
  authority: string | undefined;
  statusClass: number;
  statusExact: number;
  slowerThanMs: number;
  /** Filters on fields known only once the exchange is routed (decided at `rsp`). */
  needsRoute: boolean;
  /** Filters on the response (decided at `end`). */
  needsEnd: boolean;
}

/** Validate and compile a filter; throws Error naming the bad field. */
export function compileTapFilter(f: TapFilter): CompiledFilter {
  let statusClass = 0;
  let statusExact = 0;
  if (f.status !== undefined && f.status !== '') {
    const s = f.status.trim().toLowerCase();
    if (/^[1-5]xx$/.test(s)) statusClass = Number(s[0]);
    else if (/^[1-5]\d\d$/.test(s)) statusExact = Number(s);
    else throw new Error(`status: expected a class like "5xx" or a code like "404", got "${f.status}"`);
  }
  const slower = f.slowerThanMs ?? 0;
  if (!(slower >= 0) || !Number.isFinite(slower)) throw new Error(`slowerThanMs: expected a non-negative number, got ${f.slowerThanMs}`);
  const opt = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const router = opt(f.router);
  const service = opt(f.service);
  const caller = opt(f.caller);
  return {
    router,
    service,
    caller,
    pathPrefix: opt(f.pathPrefix),
    method: opt(f.method)?.toUpperCase(),
    authority: opt(f.authority)?.toLowerCase(),
    statusClass,
    statusExact,
    slowerThanMs: slower,
    needsRoute: router !== undefined || service !== undefined || caller !== undefined,
    needsEnd: statusClass !== 0 || statusExact !== 0 || slower > 0,
  };
}

/** Fields known when the request starts. */
function matchRequest(f: CompiledFilter, e: TapEvent): boolean {
  return (
    (f.method === undefined || e.method === f.method) &&
    (f.authority === undefined || e.authority.toLowerCase() === f.authority) &&
    (f.pathPrefix === undefined || e.path.startsWith(f.pathPrefix))
  );
}

/** Fields known once the exchange is routed (checked on `rsp` / `end`). */
function matchRoute(f: CompiledFilter, e: TapEvent): boolean {
  return (
    (f.router === undefined || e.router === f.router) &&
    (f.service === undefined || e.service === f.service) &&
    (f.caller === undefined || e.caller === f.caller)
  );
}

/** A held event with the routing fields of a later event of the same exchange. */
function routed(held: TapEvent, later: TapEvent): TapEvent {
  if (held.router === later.router && held.service === later.service && held.server === later.server && held.caller === later.caller)
    return held;
  return { ...held, router: later.router, service: later.service, server: later.server, caller: later.caller };
}

function matchResponse(f: CompiledFilter, e: TapEvent): boolean {
  if (f.statusExact !== 0 && e.status !== f.statusExact) return false;
  if (f.statusClass !== 0 && Math.floor(e.status / 100) !== f.statusClass) return false;
  return !(f.slowerThanMs > 0 && !(e.latencyMs > f.slowerThanMs));
}

class Subscriber {
  tokens: number;
  last: number;
  /** Exchanges admitted (ids) → their held events (response-filtered) or null (streaming). */
  readonly active = new Map<string, TapEvent[] | null>();
  dropped = 0;

  constructor(
    readonly filter: CompiledFilter,
    readonly maxRps: number,
    readonly headers: boolean,
    readonly onEvent: (e: TapEvent) => void,
    now: number,
  ) {
    this.tokens = maxRps;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.maxRps, this.tokens + ((now - this.last) / 1000) * this.maxRps);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

export class TapBus {
  /** True while at least one tap is open: the hot path checks this before building events. */
  hasSubscribers = false;
  private readonly subs = new Set<Subscriber>();
  private readonly sensitive: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly maxPending: number;
  private readonly idPrefix: string;
  private seq = 0;

  constructor(opts: TapBusOptions = {}) {
    this.sensitive = new Set([...ALWAYS_REDACTED, ...(opts.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
    this.now = opts.now ?? Date.now;
    this.maxPending = opts.maxPending ?? 1000;
    this.idPrefix = opts.idPrefix ?? '0';
  }

  /** A fresh exchange id (`0:17`). */
  nextId(): string {
    return `${this.idPrefix}:${this.seq++}`;
  }

  /**
   * Open a tap. `maxRps` caps the exchanges delivered per second (≥ 1 burst).
   * Returns the function that closes it. Throws on an invalid filter.
   */
  subscribe(filter: TapFilter, maxRps: number, onEvent: (e: TapEvent) => void, opts: TapSubscribeOptions = {}): () => void {
    const f = compileTapFilter(filter);
    if (!(maxRps > 0) || !Number.isFinite(maxRps)) throw new Error(`maxRps: expected a positive number, got ${maxRps}`);
    const sub = new Subscriber(f, Math.max(1, maxRps), opts.headers === true, onEvent, this.now());
    this.subs.add(sub);
    this.hasSubscribers = true;
    return () => {
      this.subs.delete(sub);
      sub.active.clear();
      this.hasSubscribers = this.subs.size > 0;
    };
  }

  /** Number of open taps. */
  get size(): number {
    return this.subs.size;
  }

  /**
   * Publish one event (raw headers allowed: they are redacted here, and only
   * given to subscribers that asked for headers). Events of an exchange must
   * be published in order req → rsp → end.
   */
  publish(e: TapEvent): void {
    if (!this.hasSubscribers) return;
    let plain: TapEvent | null = null;
    let withHeaders: TapEvent | null = null;
    const view = (sub: Subscriber): TapEvent => {
      if (sub.headers) return (withHeaders ??= this.redacted(e));
      return (plain ??= stripHeaders(e));
    };
    for (const sub of this.subs) {
      const f = sub.filter;
      if (e.type === 'req') {
        if (!matchRequest(f, e)) continue;
        if (!f.needsEnd && !f.needsRoute) {
          if (!sub.take(this.now())) continue;
          sub.active.set(e.id, null);
          deliver(sub, view(sub));
        } else {
          if (sub.active.size >= this.maxPending) {
            const oldest = sub.active.keys().next().value as string;
            sub.active.delete(oldest);
          }
          sub.active.set(e.id, [view(sub)]);
        }
        continue;
      }
      const held = sub.active.get(e.id);
      if (held === undefined) continue;
      if (held === null) {
        if (e.type === 'end') sub.active.delete(e.id);
        deliver(sub, view(sub));
        continue;
      }
      if (e.type === 'rsp' && f.needsEnd) {
        held.push(view(sub));
        continue;
      }
      // Routed filter decided at rsp (or at end when no rsp came), response filter at end.
      if (e.type === 'rsp') sub.active.set(e.id, null);
      else sub.active.delete(e.id);
      if (!matchRoute(f, e) || (e.type === 'end' && !matchResponse(f, e)) || !sub.take(this.now())) {
        sub.active.delete(e.id);
        continue;
      }
      const v = view(sub);
      for (const h of held) deliver(sub, routed(h, v));
      deliver(sub, v);
    }
  }

  private redacted(e: TapEvent): TapEvent {
    const out: TapEvent = { ...e };
    if (e.requestHeaders !== undefined) out.requestHeaders = redactHeaders(e.requestHeaders, this.sensitive);
    if (e.responseHeaders !== undefined) out.responseHeaders = redactHeaders(e.responseHeaders, this.sensitive);
    return out;
  }
}

function stripHeaders(e: TapEvent): TapEvent {
  if (e.requestHeaders === undefined && e.responseHeaders === undefined) return e;
  const { requestHeaders: _a, responseHeaders: _b, ...rest } = e;
  return rest;
}

function deliver(sub: Subscriber, e: TapEvent): void {
  try {
    sub.onEvent(e);
  } catch {
    // A failing consumer must not break the request path.
  }
}

function dash(v: string): string {
  return v === '' ? '-' : v;
}

/** Microseconds as Linkerd prints latencies (`latency=1543µs`). */
function micros(ms: number): string {
  return `${Math.round(ms * 1000)}µs`;
}

/** ` router=… service=…` once routed, '' before. */
function route(e: TapEvent): string {
  return e.router === '' && e.service === '' ? '' : ` router=${dash(e.router)} service=${dash(e.service)}`;
}

/**
 * One line in the style of `linkerd tap`:
 *   req id=0:1 src=10.0.0.5:41234 dst=- caller=10.0.0.5 :method=GET :authority=calc.local :path=/add/1/2
 *   rsp id=0:1 src=… dst=http://10.0.0.1:80 caller=add-cli :status=200 latency=1543µs router=calc@file service=add-svc@file
 *   end id=0:1 src=… dst=… caller=… grpc-status=OK duration=1688µs response-length=2B
 * A live `req` is not routed yet (no dst, router, service; caller before the
 * token check); a tap filtered on router/service/caller gets it routed.
 */
export function formatTapLine(e: TapEvent): string {
  const head = `${e.type} id=${e.id} src=${dash(e.source)} dst=${dash(e.server)} caller=${dash(e.caller)}`;
  if (e.type === 'req') return `${head} :method=${e.method} :authority=${dash(e.authority)} :path=${dash(e.path)}${route(e)}`;
  if (e.type === 'rsp') return `${head} :status=${e.status} latency=${micros(e.latencyMs)}${route(e)}`;
  const grpc = e.grpcStatus === null ? '' : ` grpc-status=${grpcStatusName(e.grpcStatus)}`;
  return `${head}${grpc} duration=${micros(e.latencyMs)} response-length=${e.bytes}B`;
}
