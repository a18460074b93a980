/**
 * What telemetry follows while an exchange is in flight, only when it has to:
 *  - live tap events: `req` when the request starts (before routing), `rsp`
 *    when the response head is written (latency = time to headers), `end`
 *    when the exchange is over. Built only when a tap was open when the
 *    request started (`bus.hasSubscribers`, a boolean);
 *  - request body bytes actually read (chunked uploads too), counted by a
 *    plain EventEmitter 'data' listener on the request: it sees every chunk
 *    the consumer reads (flowing or `read()`), never switches the stream to
 *    flowing mode itself, and is dropped with the other 'data' listeners when
 *    node dumps an unread body.
 *
 * A request without a body and without a tap costs one boolean check in
 * `onStart`, and one `Map.size` check in `end`. State is kept per request in
 * a Map deleted when the exchange ends (bounded by the requests in flight).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../http/exchange.js';
import { callerOf, responseHeadersOf } from './from-context.js';
import type { TapBus, TapEvent } from './tap.js';

export interface LiveOptions {
  /** Count request body bytes (metrics on). */
  countBodyBytes: boolean;
  /** Header naming the caller when no verified token does (lower-case), or null. */
  callerHeader: string | null;
}

class Watch {
  /** The `req` event (tapped exchanges), base of `rsp` and `end`. */
  req: TapEvent | null = null;
  /** The `rsp` event once published. */
  rsp: TapEvent | null = null;
  counted = false;
  bytesIn = 0;
}

const addListener = EventEmitter.prototype.on;

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `ip:port` (`[v6]:port`) of the client. */
function sourceOf(ctx: RequestContext): string {
  const port = ctx.req.socket?.remotePort;
  if (port === undefined) return ctx.clientIp;
  return ctx.clientIp.includes(':') ? `[${ctx.clientIp}]:${port}` : `${ctx.clientIp}:${port}`;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export class LiveExchanges {
  private readonly watches = new Map<object, Watch>();
  /** Request body streams being counted → their watch (the body is the node request itself, or a separate stream). */
  private readonly counted = new WeakMap<object, Watch>();
  /** The entry points' `onStart` hook (bound once). */
  readonly onStart: (ctx: RequestContext) => void;
  private readonly onHead: (ctx: RequestContext) => void;
  private readonly countChunk: (this: object, chunk: Buffer | string) => void;

  constructor(
    private readonly bus: TapBus,
    private readonly opts: LiveOptions,
  ) {
    const counted = this.counted;
    this.countChunk = function countChunk(this: object, chunk: Buffer | string): void {
      const w = counted.get(this);
      if (w !== undefined) w.bytesIn += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    };
    this.onStart = (ctx) => this.start(ctx);
    this.onHead = (ctx) => this.head(ctx);
  }

  /** Exchanges followed right now. */
  get size(): number {
    return this.watches.size;
  }

  private start(ctx: RequestContext): void {
    const tapping = this.bus.hasSubscribers;
    const count = this.opts.countBodyBytes && ctx.body !== null && !Buffer.isBuffer(ctx.body);
    if (!tapping && !count) return;
    const w = new Watch();
    this.watches.set(ctx.req, w);
    if (count) {
      w.counted = true;
      const body = ctx.body as NodeJS.EventEmitter;
      this.counted.set(body, w);
      addListener.call(body, 'data', this.countChunk);
    }
    if (tapping) {
      const e: TapEvent = {
        type: 'req',
        id: this.bus.nextId(),
        method: ctx.req.method ?? ctx.method,
        authority: headerValue(ctx.req.headers.host) ?? headerValue(ctx.req.headers[':authority']) ?? '',
        path: ctx.originalPath,
        status: 0,
        latencyMs: 0,
        router: ctx.routerName,
        service: ctx.serviceName,
        server: ctx.serverUrl,
        caller: callerOf(ctx, this.opts.callerHeader),
        source: sourceOf(ctx),
        grpcStatus: null,
        bytes: 0,
        requestHeaders: ctx.req.headers,
      };
      w.req = e;
      ctx.onHead = this.onHead;
      this.bus.publish(e);
    }
  }

  /** `grpcStatus` undefined: read it from the response headers (a trailers-only gRPC answer). */
  private rspEvent(ctx: RequestContext, req: TapEvent, at: number, grpcStatus: number | null | undefined): TapEvent {
    const rh = responseHeadersOf(ctx);
    if (grpcStatus === undefined) {
      const g = rh === undefined ? undefined : Number(rh['grpc-status'] ?? NaN);
      grpcStatus = g !== undefined && Number.isInteger(g) && g >= 0 ? g : null;
    }
    const e: TapEvent = {
      ...req,
      type: 'rsp',
      status: ctx.status,
      latencyMs: round3(at - ctx.start),
      router: ctx.routerName,
      service: ctx.serviceName,
      server: ctx.serverUrl,
      caller: callerOf(ctx, this.opts.callerHeader),
      grpcStatus,
    };
    if (rh !== undefined) e.responseHeaders = rh;
    if (ctx.code !== null) e.code = ctx.code;
    return e;
  }

  private head(ctx: RequestContext): void {
    ctx.onHead = null;
    const w = this.watches.get(ctx.req);
    if (w === undefined || w.req === null || w.rsp !== null) return;
    w.rsp = this.rspEvent(ctx, w.req, performance.now(), undefined);
    this.bus.publish(w.rsp);
  }

  /**
   * The exchange is over: forget it and publish its remaining tap events.
   * Returns the request body bytes read, or undefined when they were not
   * counted (no body, or counting off).
   */
  end(ctx: RequestContext, endMs: number, grpcStatus: number | null): number | undefined {
    if (this.watches.size === 0) return undefined;
    const w = this.watches.get(ctx.req);
    if (w === undefined) return undefined;
    this.watches.delete(ctx.req);
    ctx.onHead = null;
    if (w.req !== null) {
      // No head was written (client gone, upgrade, …): the response event is published now.
      const rsp = w.rsp ?? this.rspEvent(ctx, w.req, endMs, grpcStatus);
      if (w.rsp === null) this.bus.publish(rsp);
      const end: TapEvent = {
        ...rsp,
        type: 'end',
        status: ctx.status,
        latencyMs: round3(endMs - ctx.start),
        grpcStatus,
        bytes: ctx.bytesOut,
      };
      if (ctx.code !== null) end.code = ctx.code;
      if (w.counted) end.requestBytes = w.bytesIn;
      this.bus.publish(end);
    }
    return w.counted ? w.bytesIn : undefined;
  }
}
