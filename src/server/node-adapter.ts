/**
 * The part of an entry point that runs on node's own servers: node:http for
 * what the fast path does not serve (upgrades, Expect, CONNECT, absolute-form
 * targets, or every request with `http.server=node`), node:http2 for cleartext
 * HTTP/2 with prior knowledge (gRPC) and HTTP/2 over TLS, with the limits of
 * h2-limits.ts, and WebSocket upgrades, whose rejections are written on the raw
 * socket (SocketResponseWriter). It turns node's
 * request and response objects into an exchange of the entry point
 * (entrypoint.ts), which owns the context, the handler and the bookkeeping.
 */
import {
  createServer as createHttp1,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server as Http1Server,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2,
  type ServerHttp2Session,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { Socket } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import { ChunkedDecoder } from '../http1/chunked.js';
import type { RequestContext } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { reasonPhrase } from '../http1/reasons.js';
import { normalizeIp } from '../http/host.js';
import { NodeResponseWriter, SocketResponseWriter } from './node-writers.js';
import { guardSession, http2Limits, http2ServerOptions, type Http2Limits, type Http2Refusal } from './h2-limits.js';

/** The client socket of an upgrade request and the bytes read past its head. */
export interface Upgrade {
  socket: Duplex;
  head: Buffer;
}

/** What the adapter needs from its entry point. */
export interface NodeExchangeHost {
  readonly closing: boolean;
  /**
   * Open an exchange for a request node parsed: apply the forwarded-headers
   * policy to `headers`, build the context (its body is the request itself
   * when it has one) and count it in flight. The caller then runs it.
   */
  open(
    req: IncomingMessage,
    rw: ResponseWriter,
    remoteIp: string,
    headers: IncomingHttpHeaders,
    url: string,
    upgrade: Upgrade | null,
  ): RequestContext;
  /** Run the handler for an opened exchange. */
  run(ctx: RequestContext): void;
  /** The exchange is over: the response finished (`completed`), or the client went away. */
  finish(ctx: RequestContext, completed: boolean): void;
}

export interface NodeAdapterOptions {
  /** Max request header bytes (431 beyond). */
  maxHeaderSize: number;
  /** ms; 0 disables. */
  readTimeout: number;
  /** Time allowed for a request head, ms. */
  headersTimeout: number;
  idleTimeout: number;
  writeTimeout: number;
  /**
   * HTTP/2 limits (`entryPoints.<name>.http2.*`); what is left out has its default
   * (h2-limits.ts: 250 concurrent streams, header list = maxHeaderSize, settings
   * timeout = min(headersTimeout, 10 s)).
   */
  http2?: Partial<Http2Limits>;
  /** Told when an HTTP/2 session is ended by a limit (rapid reset, settings timeout); for a log line or a metric. */
  onHttp2Refused?: (why: Http2Refusal, remoteAddress: string | undefined) => void;
}

const PEER = Symbol('gatehouse.peer');

/** A plain-text answer written on a raw socket (no exchange exists), closing the connection. */
function rawAnswer(status: number): string {
  const body = reasonPhrase(status);
  return `HTTP/1.1 ${status} ${body}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
}

/** Only the obsolete h2c upgrade is offered (RFC 9113 §3.1): the request is served as HTTP/1.1. */
function onlyH2c(upgrade: string | undefined): boolean {
  if (upgrade === undefined) return false;
  for (const t of upgrade.split(',')) if (t.trim().toLowerCase() !== 'h2c' && t.trim() !== '') return false;
  return true;
}

/**
 * The body of a request node handed over as an upgrade (an `Upgrade: h2c`
 * request served as HTTP/1.1): the bytes past its head, then the socket's,
 * framed by its Content-Length or chunked coding. Null when it has none.
 */
function bodyAfterHead(socket: Duplex, head: Buffer, headers: IncomingHttpHeaders): Readable | null {
  const chunked = headers['transfer-encoding'] !== undefined;
  let left = chunked ? 0 : Number(headers['content-length'] ?? 0);
  if (!chunked && !(left > 0)) return null;
  const decoder = chunked ? new ChunkedDecoder() : null;
  const body = new Readable({
    read() {
      socket.resume();
    },
  });
  const push = (c: Buffer): void => {
    if (!body.push(c)) socket.pause();
  };
  const feed = (b: Buffer): void => {
    if (decoder !== null) {
      const at = decoder.feed(b, 0, push);
      if (at < 0) body.destroy(new Error(decoder.error ?? 'invalid chunked body'));
      else if (decoder.done) body.push(null);
      else return;
    } else {
      const n = Math.min(left, b.length);
      if (n > 0) push(b.subarray(0, n));
      left -= n;
      if (left > 0) return;
      body.push(null);
    }
    socket.off('data', feed);
  };
  socket.on('data', feed);
  socket.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  if (head.length > 0) feed(head);
  return body;
}

/** How long a closing connection's incoming bytes are read and dropped before it is destroyed, ms. */
const LINGER_MS = 1000;

/**
 * Close `socket` so that what was written last (an HTTP/2 GOAWAY) reaches the client:
 * flush and send FIN, then read and drop what the client still sends for at most
 * LINGER_MS. Destroying at once would drop unflushed bytes, and closing with unread
 * client bytes makes the kernel send RST, which can discard the GOAWAY at the client
 * before it reads it (nginx's lingering close).
 */
function lingeringClose(socket: Socket): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  if (!socket.writableEnded) socket.end();
  socket.resume();
}

/** A Duplex over `socket` that starts with the bytes already read (unshifted). */
export function replayStream(socket: Socket): Duplex {
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
      lingeringClose(socket);
      cb(err);
    },
  });
  (d as unknown as Record<symbol, string | undefined>)[PEER] = socket.remoteAddress;
  socket.on('data', (chunk: Buffer) => {
    // After destroy, what the client still sends is read and dropped (lingeringClose).
    if (!d.destroyed && !d.push(chunk)) socket.pause();
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

/** Peer address of an HTTP/2 session, also when it runs over a replay stream. */
function peerOfSession(s: ServerHttp2Session): string | undefined {
  const sock = s.socket as unknown as { remoteAddress?: string; stream?: Record<symbol, string | undefined> } | undefined;
  return sock?.remoteAddress ?? sock?.stream?.[PEER];
}

/** node:http and node:http2 servers that never listen themselves: the entry point hands them connections. */
export class NodeAdapter {
  private readonly h1: Http1Server;
  private readonly h2: Http2Server;
  /** The HTTP/2 limits in force, defaults filled in. */
  readonly h2limits: Readonly<Http2Limits>;
  /** Open HTTP/2 sessions: told to finish (GOAWAY) when the entry point closes. */
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Responses in progress per HTTP/1 socket, and what to do once none is (a refusal that must come after them). */
  private readonly busy = new WeakMap<object, { reqs: Set<IncomingMessage>; then: (() => void) | null }>();

  constructor(
    private readonly host: NodeExchangeHost,
    private readonly opts: NodeAdapterOptions,
  ) {
    this.h1 = createHttp1(
      {
        maxHeaderSize: opts.maxHeaderSize,
        requestTimeout: opts.readTimeout,
        headersTimeout: opts.headersTimeout,
        keepAliveTimeout: opts.idleTimeout,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => this.onRequest(req, res, null),
    );
    this.h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onRequest(req, null, { socket, head }));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const refuse = (): void => {
        if (socket.writable) socket.end(rawAnswer(code));
        else socket.destroy();
      };
      // Answers go out in request order (RFC 9112 §9.3.2): a malformed request pipelined behind
      // others is refused after their answers, never in their place.
      const b = this.busy.get(socket);
      if (b === undefined || b.reqs.size === 0) refuse();
      else if ([...b.reqs].some((r) => !r.complete)) {
        // A request still being read cannot complete (its body was cut, e.g. the client's FIN):
        // the client gave up on it; nothing can be answered in order.
        socket.destroy();
      } else if (b.then === null) b.then = refuse;
    });
    // CONNECT (a tunnel through a forward proxy) is not something the gateway does: say so.
    this.h1.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      if (socket.writable) socket.end(rawAnswer(501));
      else socket.destroy();
    });
    const given = opts.http2 ?? {};
    this.h2limits = http2Limits(
      { ...given, settingsTimeout: given.settingsTimeout ?? Math.min(opts.headersTimeout, 10_000) },
      opts.maxHeaderSize,
    );
    this.h2 = createHttp2(http2ServerOptions(this.h2limits));
    const refused = opts.onHttp2Refused;
    const onRefused = refused === undefined ? null : (why: Http2Refusal, s: ServerHttp2Session): void => refused(why, peerOfSession(s));
    this.h2.on('session', (session: ServerHttp2Session) => {
      // An HTTP/2 session with no activity for idleTimeout is closed (HTTP/1.1 uses keepAliveTimeout).
      if (opts.idleTimeout > 0) session.setTimeout(opts.idleTimeout, () => session.close());
      guardSession(session, this.h2limits, onRefused);
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    // A session error (a flood limit, a protocol error) ends only that session; node has already sent GOAWAY.
    this.h2.on('sessionError', () => undefined);
    // One event-loop turn late: a stream the client reset in the same read (HEADERS then
    // RST_STREAM, the rapid-reset pattern) is destroyed by then and never reaches a handler.
    this.h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => setImmediate(this.dispatchH2, req, res));
  }

  /**
   * node:http starts its header/request timeout checks when the server emits
   * 'listening'; this server never listens itself (connections come from the
   * entry point's net listener), so the entry point starts them explicitly.
   */
  started(): void {
    this.h1.emit('listening');
  }

  /** An HTTP/1.x connection for node:http; `first` are the bytes already read from it. */
  http1(socket: Socket, first: Buffer): void {
    socket.pause();
    socket.unshift(first);
    this.h1.emit('connection', socket);
    socket.resume();
  }

  /**
   * An HTTP/2 connection (the preface is in `first`). The bytes already read are
   * put back into the paused socket; node:http2 feeds what is buffered to its
   * session before it reads the socket's handle natively. (Over a JS stream,
   * node loses the GOAWAY of a connection error nghttp2 raises: the native path
   * keeps it.)
   */
  http2(socket: Socket, first: Buffer): void {
    socket.pause();
    socket.unshift(first);
    this.h2.emit('connection', socket);
  }

  /** An HTTP/1.x connection over TLS (after the handshake; nothing read yet). */
  http1Secure(socket: Duplex): void {
    this.h1.emit('connection', socket);
  }

  /**
   * An HTTP/2 connection over TLS (ALPN h2). node:http2 does not serve a TLSSocket made
   * outside a tls.Server (it stalls after the preface), so it gets a JS stream over it,
   * marked `encrypted` for the exchange's scheme.
   */
  http2Secure(socket: Socket): void {
    const d = replayStream(socket);
    (d as unknown as { encrypted: boolean }).encrypted = true;
    // passTLSClientCert reads the client certificate from the TLS socket underneath (src/middlewares/pass-tls-client-cert/).
    (d as unknown as Record<symbol, unknown>)[Symbol.for('gatehouse.tls-socket')] = socket;
    this.h2.emit('connection', d);
  }

  /**
   * Stop node's timeout checks, close idle HTTP/1 connections, and send every
   * HTTP/2 session GOAWAY (its open streams finish, then it closes). Called
   * repeatedly while the entry point drains; the entry point destroys what is
   * left when its grace period ends.
   */
  closeIdle(): void {
    this.h1.close(() => undefined);
    this.h1.closeIdleConnections();
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  close(): void {
    this.h2.close();
  }

  /** Count `req` as in progress on `socket` until its response closes; a deferred refusal runs when none is left. */
  private track(socket: object, req: IncomingMessage, res: ServerResponse): void {
    let b = this.busy.get(socket);
    if (b === undefined) {
      b = { reqs: new Set(), then: null };
      this.busy.set(socket, b);
    }
    const entry = b;
    entry.reqs.add(req);
    res.once('close', () => {
      entry.reqs.delete(req);
      if (entry.reqs.size === 0 && entry.then !== null) {
        const then = entry.then;
        entry.then = null;
        then();
      }
    });
  }

  /** Hand an HTTP/2 request on unless its stream was reset meanwhile (then nothing was opened, nothing to finish). */
  private readonly dispatchH2 = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    if (req.stream.destroyed || req.stream.closed) return;
    this.onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, null);
  };

  private onRequest(req: IncomingMessage, res: ServerResponse | null, upgrade: Upgrade | null): void {
    const host = this.host;
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
    let plain: Readable | null | undefined;
    if (upgrade !== null && onlyH2c(headers.upgrade)) {
      // The obsolete h2c upgrade (RFC 9113 §3.1) is not passed on: the request is served as HTTP/1.1
      // on the socket node handed over, and the connection closes after the answer.
      headers = { ...headers };
      delete headers.upgrade;
      delete headers['http2-settings'];
      plain = bodyAfterHead(upgrade.socket, upgrade.head, headers);
    }
    const rw: NodeResponseWriter | SocketResponseWriter =
      res !== null ? new NodeResponseWriter(res) : new SocketResponseWriter(upgrade!.socket);
    const ctx = host.open(req, rw, remoteIp, headers, req.url ?? '/', plain === undefined ? upgrade : null);
    rw.ctx = ctx;
    if (headers !== req.headers) ctx.headers = headers;
    if (plain !== undefined) ctx.body = plain;
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
          host.finish(ctx, res.writableFinished);
        });
      } else res.once('close', () => host.finish(ctx, res.writableFinished));
      if (host.closing) res.setHeader('connection', 'close');
      if (req.httpVersionMajor === 1) this.track(req.socket, req, res);
    } else {
      const s = upgrade!.socket;
      s.once('close', () => host.finish(ctx, plain !== undefined && rw.headersSent && s.writableFinished));
    }
    host.run(ctx);
  }
}
