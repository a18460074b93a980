/**
 * One entry point: a TCP listener that speaks HTTP/1.1 and cleartext HTTP/2
 * (prior knowledge, for gRPC) on the same port, applies the forwarded-headers
 * policy and timeouts, and hands every request to the current router table.
 * Swapping the handler is atomic; in-flight requests finish on the handler
 * they started with.
 */
import { createServer as createHttp1, type IncomingMessage, type Server as Http1Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2, type ServerHttp2Session, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { NodeResponseWriter } from './node-writers.js';
import { RequestContext, type ClientRequest } from '../http/exchange.js';
import { sendText } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../http/response-writer.js';
import { normalizeHost, normalizeIp } from '../http/host.js';
import { ForwardedHeaders, type ForwardedPolicy } from './forwarded.js';
import type { Logger } from '../log.js';
import { H1Connection, H1Request, type H1Server, type RequestBody } from './h1/connection.js';
import type { H1ResponseWriter } from './h1/writer.js';
import type { RequestHead } from '../http1/request-head.js';

export interface EntryPointOptions {
  name: string;
  host: string | undefined;
  port: number;
  forwarded: ForwardedPolicy;
  /** ms; 0 disables. */
  readTimeout: number;
  idleTimeout: number;
  writeTimeout: number;
  /** Max request header bytes (431 beyond). */
  maxHeaderSize: number;
  log: Logger;
  /** Called when an exchange is over (telemetry, access log). */
  onEnd: ((ctx: RequestContext) => void) | null;
  /** Called right before the handler runs (live tap, request body byte count); null when unused. */
  onStart: ((ctx: RequestContext) => void) | null;
  /**
   * HTTP/1.x server: 'gatehouse' (default) is the gateway's own (src/server/h1/),
   * 'node' is node:http for every request. Upgrades and Expect always go to node:http.
   */
  http1?: 'gatehouse' | 'node';
}


/** Writes a raw HTTP/1.1 response on an upgrade socket (rejections before the upgrade happens). */
class SocketResponseWriter implements ResponseWriter {
  headersSent = false;
  ctx: RequestContext | null = null;
  constructor(private readonly socket: Duplex) {}
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.headersSent = true;
    const ctx = this.ctx;
    if (ctx !== null) ctx.status = status;
    let head = `HTTP/1.1 ${status} ${statusText(status)}\r\nconnection: close\r\n`;
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined || k === 'connection' || k === 'transfer-encoding') continue;
      for (const x of Array.isArray(v) ? v : [v]) head += `${k}: ${x}\r\n`;
    }
    this.socket.write(head + '\r\n');
    if (ctx !== null && ctx.onHead !== null) ctx.onHead(ctx);
  }
  write(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (chunk !== undefined) this.socket.end(chunk);
    else this.socket.end();
  }
  onDrain(cb: () => void): void {
    this.socket.once('drain', cb);
  }
  destroy(): void {
    this.socket.destroy();
  }
  addTrailers(): void {}
}

const PEER = Symbol('gatehouse.peer');

/** A Duplex over `socket` that starts with the bytes already read (unshifted). */
function replayStream(socket: Socket): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  (d as unknown as Record<symbol, string | undefined>)[PEER] = socket.remoteAddress;
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.once('end', () => d.push(null));
  socket.once('close', () => d.destroy());
  socket.once('error', (err) => d.destroy(err));
  socket.resume();
  return d;
}

/** Peer address of a request, also for HTTP/2 streams carried over a replay stream. */
function peerAddress(req: IncomingMessage): string | undefined {
  const direct = req.socket?.remoteAddress;
  if (direct !== undefined) return direct;
  const inner = (req.socket as unknown as { stream?: Record<symbol, string | undefined> } | undefined)?.stream;
  return inner?.[PEER];
}

function statusText(s: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' } as Record<number, string>)[s] ?? 'Status';
}

export class EntryPoint implements H1Server {
  private handler: Handler;
  private readonly h1: Http1Server;
  private readonly h2: Http2Server;
  private readonly net: NetServer;
  private readonly forwarded: ForwardedHeaders;
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  closing = false;
  connections = 0;
  private readonly h1conns = new Set<H1Connection>();
  private sweep: NodeJS.Timeout | null = null;
  private readonly fastPath: boolean;
  readonly maxHeaderSize: number;
  private readonly headersTimeout: number;

  constructor(private readonly opts: EntryPointOptions, handler: Handler) {
    this.handler = handler;
    this.fastPath = opts.http1 !== 'node';
    this.maxHeaderSize = opts.maxHeaderSize;
    this.headersTimeout = opts.readTimeout > 0 ? Math.min(opts.readTimeout, 60_000) : 60_000;
    this.forwarded = new ForwardedHeaders(opts.forwarded, 'http');
    this.h1 = createHttp1({
      maxHeaderSize: opts.maxHeaderSize,
      requestTimeout: opts.readTimeout,
      headersTimeout: this.headersTimeout,
      keepAliveTimeout: opts.idleTimeout,
      connectionsCheckingInterval: 1000,
    }, (req, res) => this.onRequest(req, res, null));
    this.h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onRequest(req, null, { socket, head }));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = code === 431 ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${code} ${body}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
    this.h2 = createHttp2({ maxSessionMemory: 64, settings: { maxHeaderListSize: opts.maxHeaderSize } });
    // An HTTP/2 session with no activity for idleTimeout is closed (HTTP/1.1 uses keepAliveTimeout).
    if (opts.idleTimeout > 0) this.h2.on('session', (session: ServerHttp2Session) => session.setTimeout(opts.idleTimeout, () => session.close()));
    this.h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, null));
    // Half-open like node:http's own server (a client may half-close after its request);
    // a 64 KiB write high-water mark keeps a 16 KiB answer from tripping back-pressure.
    this.net = createNet({ noDelay: true, allowHalfOpen: true, highWaterMark: 64 * 1024 }, (socket) => this.onConnection(socket));
  }

  get address(): { host: string; port: number } {
    const a = this.net.address();
    return typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: '', port: 0 };
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen({ port: this.opts.port, host: this.opts.host, exclusive: false }, () => {
        this.net.off('error', reject);
        // node:http starts its header/request timeout checks when the server emits
        // 'listening'; this server never listens itself (connections come from the
        // net listener), so start them explicitly.
        this.h1.emit('listening');
        if (this.fastPath) {
          this.sweep = setInterval(() => this.checkTimeouts(), 1000);
          this.sweep.unref();
        }
        resolve();
      });
    });
  }

  /** Replace the router table; in-flight requests keep theirs. */
  setHandler(h: Handler): void {
    this.handler = h;
  }

  private onConnection(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.once('close', () => {
      this.connections--;
      this.sockets.delete(socket);
    });
    // A connection that never sends a byte is closed after the header timeout (slowloris);
    // from the first byte on, the HTTP/1.1 or HTTP/2 server keeps time.
    const silent = (): void => {
      socket.destroy();
    };
    // A reset before the first byte must not be an uncaught 'error' (the servers add their own handlers later).
    socket.on('error', silent);
    socket.setTimeout(this.headersTimeout, silent);
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', silent);
      // "PRI * HTTP/2.0" is the HTTP/2 connection preface (h2c with prior knowledge).
      if (first.length >= 3 && first[0] === 0x50 && first[1] === 0x52 && first[2] === 0x49) {
        socket.pause();
        socket.unshift(first);
        // node:http2 reads a net.Socket's handle natively and would miss the bytes
        // already read; hand it a stream that replays them instead.
        this.h2.emit('connection', replayStream(socket));
      } else if (this.fastPath) {
        const conn = new H1Connection(this, socket, Date.now());
        this.h1conns.add(conn);
        conn.onData(first);
      } else {
        socket.pause();
        socket.unshift(first);
        this.h1.emit('connection', socket);
        socket.resume();
      }
    });
  }

  private checkTimeouts(): void {
    if (this.h1conns.size === 0) return;
    const now = Date.now();
    for (const c of this.h1conns) c.checkTimeouts(now, this.headersTimeout, this.opts.readTimeout, this.opts.idleTimeout);
  }

  // ---- H1Server: the gateway's own HTTP/1.1 server ----

  exchange(conn: H1Connection, head: RequestHead, body: RequestBody | null, w: H1ResponseWriter): void {
    const socket = conn.socket;
    const remoteIp = normalizeIp(socket.remoteAddress);
    const headers = head.headers;
    const clientIp = this.forwarded.apply(headers, remoteIp);
    const req = new H1Request(head.method, head.url, headers, head.minor === 1 ? '1.1' : '1.0', socket);
    const ctx = this.newContext(req, w, remoteIp, clientIp, headers, head.url, null, body);
    w.ctx = ctx;
    this.inFlight++;
    const wt = this.opts.writeTimeout;
    // writeTimeout: the whole response must be written within this time (Go's WriteTimeout).
    if (wt > 0) w.timer = setTimeout(() => socket.destroy(), wt);
    this.run(ctx);
  }

  exchangeDone(w: H1ResponseWriter, completed: boolean): void {
    if (w.timer !== null) clearTimeout(w.timer);
    if (w.ctx !== null) this.finish(w.ctx, completed);
  }

  handOver(socket: Socket, bytes: Buffer): void {
    socket.pause();
    socket.unshift(bytes);
    this.h1.emit('connection', socket);
    socket.resume();
  }

  forget(conn: H1Connection): void {
    this.h1conns.delete(conn);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse | null, upgrade: { socket: Duplex; head: Buffer } | null): void {
    const remoteIp = normalizeIp(peerAddress(req));
    let headers = req.headers;
    if (req.httpVersionMajor === 2) {
      // Pseudo-headers stay on the request (its method/url read them); upstream gets a clean copy.
      const clean: IncomingMessage['headers'] = {};
      for (const k in headers) if (k.charCodeAt(0) !== 58 /* : */) clean[k] = headers[k];
      const authority = headers[':authority'];
      if (clean.host === undefined && typeof authority === 'string') clean.host = authority;
      headers = clean;
    }
    const clientIp = this.forwarded.apply(headers, remoteIp);
    const rw: ResponseWriter = res !== null ? new NodeResponseWriter(res) : new SocketResponseWriter(upgrade!.socket);
    const ctx = this.newContext(req, rw, remoteIp, clientIp, headers, req.url ?? '/', upgrade, undefined);
    (rw as NodeResponseWriter | SocketResponseWriter).ctx = ctx;
    if (headers !== req.headers) ctx.headers = headers;
    this.inFlight++;
    // One listener per exchange (never extra properties on node's objects: that would
    // change their hidden classes and slow node's own code down).
    if (res !== null) {
      ctx.res = res;
      const wt = this.opts.writeTimeout;
      if (wt > 0) {
        // writeTimeout: the whole response must be written within this time (Go's WriteTimeout).
        const timer = setTimeout(() => res.destroy(), wt);
        res.once('close', () => {
          clearTimeout(timer);
          this.finish(ctx, res.writableFinished);
        });
      } else res.once('close', () => this.finish(ctx, res.writableFinished));
      if (this.closing) res.setHeader('connection', 'close');
    } else {
      upgrade!.socket.once('close', () => this.finish(ctx, false));
    }
    this.run(ctx);
  }

  private newContext(
    req: ClientRequest,
    rw: ResponseWriter,
    remoteIp: string,
    clientIp: string,
    headers: IncomingMessage['headers'],
    url: string,
    upgrade: { socket: Duplex; head: Buffer } | null,
    body: RequestBody | null | undefined,
  ): RequestContext {
    const q = url.indexOf('?');
    return new RequestContext(req, rw, {
      entryPoint: this.opts.name,
      scheme: 'http',
      remoteIp,
      clientIp,
      host: normalizeHost(headers.host),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      start: performance.now(),
      upgrade,
      body,
    });
  }

  private run(ctx: RequestContext): void {
    const onStart = this.opts.onStart;
    if (onStart !== null) onStart(ctx);
    try {
      this.handler(ctx);
    } catch (err) {
      this.opts.log.error({ err, router: ctx.routerName }, 'handler failed');
      sendText(ctx, 500, 'Internal Server Error');
    }
  }

  /** The exchange is over (response finished, or the client went away). */
  private finish(ctx: RequestContext, completed: boolean): void {
    this.inFlight--;
    if (!completed) {
      ctx.clientGone = true;
      ctx.upstream?.clientGone();
    }
    ctx.runDone();
    if (ctx.status === 0) ctx.status = 499; // client went away before an answer
    const onEnd = this.opts.onEnd;
    if (onEnd !== null) onEnd(ctx);
    if (this.inFlight === 0 && this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  /**
   * Stop accepting, let in-flight requests finish (up to graceMs), then close
   * every connection.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.net.close();
    this.h1.close(() => undefined); // stops node's timeout checks; connections are handled below
    this.h1.closeIdleConnections();
    for (const c of this.h1conns) c.closeIfIdle();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        t.unref();
        this.drainWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const s of this.sockets) s.destroy();
    if (this.sweep !== null) clearInterval(this.sweep);
    this.h2.close();
  }
}
