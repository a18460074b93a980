/**
 * One proxied exchange over an undici dispatcher: streams the request body
 * up and the response body down with back-pressure, forwards trailers, maps
 * upstream failures to 502/504, and hands WebSocket (Upgrade) connections
 * over to a raw two-way pipe.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { answer } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';
import { statusLine } from '../http1/reasons.js';
import { downstreamResponseHeaders, downstreamTrailers, upstreamRequestHeaders } from './headers.js';
import type { ViewDataHandler } from './raw/pool.js';

/**
 * An upstream connection pool as the proxy uses it: undici's `dispatch` with
 * the new handler API. undici's Pool, the raw HTTP/1.1 pool (raw/pool.ts) and
 * the h2c client (h2c.ts) implement it.
 */
export interface UpstreamDispatcher {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export interface ProxyTarget {
  /** Server URL as configured (for logs and ctx.serverUrl). */
  readonly url: string;
  /** Path prefix from the server URL ('' when none). */
  readonly basePath: string;
  /** host:port of the server (Host header when passHostHeader is false). */
  readonly authority: string;
  readonly dispatcher: UpstreamDispatcher;
}

export interface ProxyOptions {
  readonly passHostHeader: boolean;
  /** Fixed Host header for every server (overrides passHostHeader). */
  readonly hostHeader: string | undefined;
  /** Wait for response headers, ms (0 = undici's default of 300 s). */
  readonly headersTimeout: number;
  /** Idle time between body chunks, ms. */
  readonly bodyTimeout: number;
}

/** Called once the exchange is over: err is null on success. */
export type ProxyDone = (err: Error | null) => void;

const TIMEOUT_CODES: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  UND_ERR_HEADERS_TIMEOUT: true,
  UND_ERR_CONNECT_TIMEOUT: true,
  UND_ERR_BODY_TIMEOUT: true,
  ETIMEDOUT: true,
});

export function isTimeout(err: Error): boolean {
  return TIMEOUT_CODES[(err as { code?: string }).code ?? ''] === true;
}

const GRPC_STATUS_HEADERS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'] as const;

class Exchange implements ViewDataHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private started = false;
  private grpcTrailers: Record<string, string> | null = null;
  private finished = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly target: ProxyTarget,
    private readonly done: ProxyDone | null,
  ) {}

  start(opts: ProxyOptions): void {
    const ctx = this.ctx;
    const headers = upstreamRequestHeaders(ctx.headers, ctx.remoteIp);
    if (opts.hostHeader !== undefined) headers.host = opts.hostHeader;
    else if (!opts.passHostHeader) headers.host = this.target.authority;
    const body = ctx.body;
    if (Buffer.isBuffer(body)) {
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
    }
    ctx.serverUrl = this.target.url;
    ctx.upstream = this;
    const upgrade = ctx.upgrade !== null ? (ctx.headers.upgrade ?? 'websocket') : null;
    this.target.dispatcher.dispatch(
      {
        path: this.target.basePath === '' ? ctx.url : this.target.basePath + ctx.url,
        method: ctx.method as Dispatcher.HttpMethod,
        headers,
        body: upgrade !== null ? null : body,
        upgrade: upgrade as string | null,
        headersTimeout: opts.headersTimeout,
        bodyTimeout: upgrade !== null ? 0 : opts.bodyTimeout,
      },
      this,
    );
  }

  /** The client went away before the answer was complete: stop the upstream exchange. */
  clientGone(): void {
    if (this.finished || this.controller === null || this.controller.aborted) return;
    try {
      this.controller.abort(new Error('client closed the connection'));
    } catch {
      /* the exchange ended meanwhile */
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The client left while the request waited for a connection: do not send it.
    if (this.ctx.clientGone) controller.abort(new Error('client closed the connection'));
  }

  onRequestUpgrade(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, upstream: Duplex): void {
    const up = this.ctx.upgrade;
    this.started = true;
    this.ctx.originStatus = statusCode;
    this.ctx.status = statusCode;
    if (up === null) {
      upstream.destroy();
      return;
    }
    const client = up.socket;
    let head = statusLine(statusCode);
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) head += `${k}: ${x}\r\n`;
    }
    client.write(head + '\r\n');
    if (up.head.length > 0) upstream.write(up.head);
    const finish = (): void => {
      if (this.finished) return;
      this.finished = true;
      client.destroy();
      upstream.destroy();
      this.done?.(null);
    };
    upstream.on('error', finish).on('close', finish);
    client.on('error', finish).on('close', finish);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, reason?: string): void {
    if (statusCode < 200) return; // 1xx informational: not forwarded
    this.started = true;
    this.ctx.originStatus = statusCode;
    // The origin's reason phrase goes to the client with its status, as nginx and HAProxy pass it.
    this.ctx.originReason = typeof reason === 'string' ? reason : '';
    if (this.ctx.upgrade !== null) {
      // The backend refused the upgrade: relay its answer and close.
      this.ctx.rw.writeHead(statusCode, downstreamResponseHeaders(headers));
      return;
    }
    const rw = this.ctx.rw;
    const out = downstreamResponseHeaders(headers);
    if (out['grpc-status'] !== undefined) {
      // gRPC "trailers-only" answer: send the status as trailers, which every client reads.
      this.grpcTrailers = {};
      for (const k of GRPC_STATUS_HEADERS) {
        if (out[k] !== undefined) {
          this.grpcTrailers[k] = String(out[k]);
          delete out[k];
        }
      }
    }
    try {
      rw.writeHead(statusCode, out);
    } catch (err) {
      // A header the client side refuses (e.g. a configured value with a line break): answer 500, drop the upstream.
      this.finished = true;
      this.ctx.upstreamError = err as Error;
      controller.abort(err as Error);
      answer(this.ctx, 'GH_INTERNAL');
      this.done?.(err as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.ctx.rw.write(chunk)) {
      controller.pause();
      this.ctx.rw.onDrain(() => controller.resume());
    }
  }

  /** `chunk` is the raw pool's read memory, reused once this returns unless we say we kept it. */
  onResponseDataView(controller: Dispatcher.DispatchController, chunk: Buffer): boolean {
    const rw = this.ctx.rw;
    if (rw.flushed === undefined) {
      this.onResponseData(controller, Buffer.from(chunk));
      return false;
    }
    this.onResponseData(controller, chunk);
    return !rw.flushed;
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.finished = true;
    const passed = downstreamTrailers(trailers);
    if (passed !== null) this.ctx.rw.addTrailers(passed);
    else if (this.grpcTrailers !== null) this.ctx.rw.addTrailers(this.grpcTrailers);
    this.ctx.rw.end();
    this.done?.(null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.finished) return;
    this.finished = true;
    const ctx = this.ctx;
    if (!this.started) {
      ctx.upstreamError = err;
      // A retry middleware may take over (only when nothing was answered yet).
      const hook = ctx.retryHook;
      if (hook !== null && hook(err, this.controller !== null)) {
        this.done?.(err);
        return;
      }
      if (ctx.upgrade !== null) {
        const status = isTimeout(err) ? 504 : 502;
        ctx.status = status;
        ctx.code = isTimeout(err) ? 'GH_UPSTREAM_TIMEOUT' : 'GH_UPSTREAM_FAILED';
        ctx.upgrade.socket.end(`${statusLine(status)}connection: close\r\ncontent-length: 0\r\n\r\n`);
      } else if (isTimeout(err)) answer(ctx, 'GH_UPSTREAM_TIMEOUT');
      else if (ctx.clientGone || (ctx.res !== null && ctx.res.destroyed && !ctx.res.writableFinished)) {
        ctx.status = 499;
        ctx.rw.destroy();
      } else answer(ctx, 'GH_UPSTREAM_FAILED');
    } else {
      // Mid-response failure: abort so the client never mistakes a truncated body for a complete one.
      ctx.upstreamError = err;
      ctx.rw.destroy(err);
    }
    this.done?.(err);
  }
}

/** Proxy ctx to target; the answer goes to ctx.rw. */
export function proxyRequest(ctx: RequestContext, target: ProxyTarget, opts: ProxyOptions, done: ProxyDone | null): void {
  new Exchange(ctx, target, done).start(opts);
}
