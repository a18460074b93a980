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
import { NodeResponseWriter, RequestContext, sendText, type Handler, type OutgoingHttpHeaders, type ResponseWriter } from './context.js';
import { normalizeHost, normalizeIp } from './make-context.js';
import { ForwardedHeaders, type ForwardedPolicy } from './forwarded.js';
import type { Logger } from '../log.js';

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

export class EntryPoint {
  private handler: Handler;
  private readonly h1: Http1Server;
  private readonly h2: Http2Server;
  private readonly net: NetServer;
  private readonly forwarded: ForwardedHeaders;
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  private closing = false;
  connections = 0;

  constructor(private readonly opts: EntryPointOptions, handler: Handler) {
    this.handler = handler;
    this.forwarded = new ForwardedHeaders(opts.forwarded, 'http');
    this.h1 = createHttp1({
      maxHeaderSize: opts.maxHeaderSize,
      requestTimeout: opts.readTimeout,
      headersTimeout: opts.readTimeout > 0 ? Math.min(opts.readTimeout, 60_000) : 60_000,
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
    this.net = createNet({ noDelay: true }, (socket) => this.onConnection(socket));
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
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      // "PRI * HTTP/2.0" is the HTTP/2 connection preface (h2c with prior knowledge).
      if (first.length >= 3 && first[0] === 0x50 && first[1] === 0x52 && first[2] === 0x49) {
        // node:http2 reads a net.Socket's handle natively and would miss the bytes
        // already read; hand it a stream that replays them instead.
        this.h2.emit('connection', replayStream(socket));
      } else {
        this.h1.emit('connection', socket);
        socket.resume();
      }
    });
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
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rw: ResponseWriter = res !== null ? new NodeResponseWriter(res) : new SocketResponseWriter(upgrade!.socket);
    const ctx = new RequestContext(req, rw, {
      entryPoint: this.opts.name,
      scheme: 'http',
      remoteIp,
      clientIp,
      host: normalizeHost(headers.host),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      start: performance.now(),
      upgrade,
    });
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
    if (!completed) ctx.upstream?.clientGone();
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
    this.h2.close();
  }
}
