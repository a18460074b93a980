/**
 * HTTP/1.1 upstream pool over raw `net` sockets for plain `http://` origins:
 * a drop-in for undici's `Pool.dispatch` with undici 7's handler API, without
 * undici's per-chunk copies and callbacks (docs/fast-path-study.md). One
 * exchange at a time per connection (no pipelining), LIFO idle stack, FIFO
 * waiters beyond `connections`, responses read by the strict JS parser of
 * `src/http1/response-head.ts`. Upgrade requests (WebSocket) go to a lazily
 * created undici Pool, which handles 101 and the handover of the socket.
 *
 * Hot-path rules: every listener is a function created once per connection
 * and routed to the connection's current exchange; timeouts are the socket's
 * own idle timer (connect, then headers, then body, then keep-alive), never a
 * timer per request.
 *
 * Reads go into a buffer of the connection's own (`onread`), reused read after
 * read, instead of Node's fresh 64 KiB allocation per read: with 16 KiB bodies
 * that churn kept V8 in back-to-back scavenges and mark-compacts ("external
 * memory pressure") and cost a third of the throughput (docs/benchmarks.md).
 * Body pieces go to a handler that implements `onResponseDataView` as views of
 * that buffer; when the handler still holds one after the call (the client's
 * socket queued it), the connection reads into fresh memory from then on and
 * the old buffer belongs to the handler. Other handlers get copies.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { ChunkedDecoder } from '../http1/chunked.js';
import { MAX_RESPONSE_HEAD, ResponseBody, parseResponseHead, parseTrailers } from '../http1/response-head.js';
import { TCHAR, VCHAR } from '../http1/tokens.js';

/**
 * A handler that takes response body pieces as views of the pool's read memory,
 * valid only during the call. It returns true when it still references `chunk`
 * afterwards (e.g. a socket queued it): the pool then never reuses that memory.
 */
export interface ViewDataHandler extends Dispatcher.DispatchHandler {
  onResponseDataView(controller: Dispatcher.DispatchController, chunk: Buffer): boolean;
}

export interface RawPoolOptions {
  /** Max connections to the origin (queued FIFO beyond). */
  connections: number;
  /** Idle keep-alive connections are closed after this many ms (also capped by the origin's `Keep-Alive: timeout=N` hint minus 1 s, as undici does). */
  keepAliveTimeout: number;
  /** ms to establish a TCP connection; error code UND_ERR_CONNECT_TIMEOUT. */
  connectTimeout: number;
}

/** Error codes of the pool, the same as undici's for the same failures (the proxy maps the timeouts to 504). */
export type RawPoolErrorCode =
  | 'UND_ERR_CONNECT_TIMEOUT'
  | 'UND_ERR_HEADERS_TIMEOUT'
  | 'UND_ERR_BODY_TIMEOUT'
  | 'UND_ERR_SOCKET'
  | 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
  | 'UND_ERR_CLOSED'
  | 'UND_ERR_DESTROYED';

export class RawPoolError extends Error {
  readonly code: RawPoolErrorCode;
  constructor(code: RawPoolErrorCode, message: string) {
    super(message);
    this.name = 'RawPoolError';
    this.code = code;
  }
}

/** undici's default when a request sets no headers timeout (or 0). */
/** How often idle connections past their keep-alive limit are closed. */
const SWEEP_MS = 1000;
const IDEMPOTENT: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  GET: true, HEAD: true, OPTIONS: true, TRACE: true, PUT: true, DELETE: true,
});
const DEFAULT_HEADERS_TIMEOUT = 300_000;
/** undici's default body timeout when a request sets none (0 disables it). */
const DEFAULT_BODY_TIMEOUT = 300_000;
/** A Buffer body up to this size is copied behind the head: one write, one packet. */
const COALESCE_LIMIT = 8 * 1024;
const NO_CONTEXT: Readonly<Record<string, never>> = Object.freeze({});
const LAST_CHUNK = '0\r\n\r\n';
/** Size of a connection's read buffer: a 16 KiB body and its head arrive in one read. */
const READ_SIZE = 32 * 1024;

/** A copy of `b[start, end)` that outlives the shared read buffer (small copies come from Node's Buffer pool). */
function copyOut(b: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  b.copy(out, 0, start, end);
  return out;
}

const enum Parse {
  Head,
  Length,
  Chunked,
  UntilClose,
}

/**
 * One request/response exchange. It is also the DispatchController handed
 * to the handler: one object per request.
 */
class Exchange implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;

  /** Connection running (or connecting for) this exchange. */
  conn: Connection | null = null;
  queued = false;
  /** onRequestStart was called (not repeated on a transparent retry). */
  private started = false;
  finished = false;
  /** Retried once on a fresh connection after a stale keep-alive failure. */
  retried = false;
  /** Every request byte has been handed to the socket. */
  requestDone = false;
  /** Stream body: bytes written, and the connection whose listeners are attached to it. */
  private sent = 0;
  private bodyConn: Connection | null = null;
  private bodyPaused = false;

  constructor(
    private readonly pool: RawPool,
    private readonly handler: Dispatcher.DispatchHandler,
    /** The request head, or the head and a small body in one buffer. */
    private readonly out: string | Buffer,
    /** A Buffer body too large to be coalesced with the head. */
    private readonly payload: Buffer | null,
    private readonly stream: Readable | null,
    /** Stream body: the declared content-length, -1 for chunked framing. */
    private readonly declared: number,
    readonly isHead: boolean,
    /** Safe to send twice (RFC 9110 §9.2.2): only such a request is replayed after a stale-socket failure. */
    readonly idempotent: boolean,
    readonly headersTimeout: number,
    readonly bodyTimeout: number,
  ) {}

  // --- DispatchController ---------------------------------------------------

  abort(reason: Error): void {
    if (this.finished) return;
    this.aborted = true;
    this.reason = reason;
    this.fail(reason);
  }

  pause(): void {
    this.paused = true;
    const c = this.conn;
    if (c !== null && !c.connecting) {
      c.socket.pause();
      // Waiting for a slow client is not an idle origin: no body timeout while paused.
      c.arm(0);
    }
  }

  resume(): void {
    this.paused = false;
    const c = this.conn;
    if (c !== null && !c.connecting) {
      c.socket.resume();
      c.arm(this.bodyTimeout);
    }
  }

  // --- driven by the connection ---------------------------------------------

  /** The connection is ready: tell the handler, then write the request. */
  send(conn: Connection): void {
    if (!this.started) {
      this.started = true;
      this.handler.onRequestStart?.(this, NO_CONTEXT);
      if (this.conn !== conn) return; // aborted from inside the callback
    }
    const s = conn.socket;
    if (this.paused) s.pause();
    const stream = this.stream;
    if (stream === null) {
      if (this.payload === null) {
        if (typeof this.out === 'string') s.write(this.out, 'latin1');
        else s.write(this.out);
      } else {
        s.cork();
        s.write(this.out as string, 'latin1');
        s.write(this.payload);
        s.uncork();
      }
      this.requestDone = true;
      return;
    }
    s.write(this.out as string, 'latin1');
    if (stream.readableEnded) return this.bodyEnd();
    if (stream.destroyed) return this.fail(stream.errored ?? new Error('request body stream destroyed before it was sent'));
    this.bodyConn = conn;
    stream.on('data', conn.onBodyData);
    stream.on('end', conn.onBodyEnd);
    stream.on('error', conn.onBodyError);
    stream.on('close', conn.onBodyClose);
    // A 'data' listener does not restart a stream someone paused explicitly.
    stream.resume();
  }

  bodyData(chunk: Buffer | string): void {
    const conn = this.conn;
    if (conn === null) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const n = buf.length;
    if (n === 0) return; // a zero-length chunk would end a chunked body early
    this.sent += n;
    const s = conn.socket;
    let ok: boolean;
    if (this.declared >= 0) {
      if (this.sent > this.declared) return this.fail(lengthMismatch(this.declared, 'longer'));
      ok = s.write(buf);
    } else {
      s.cork();
      s.write(`${n.toString(16)}\r\n`, 'latin1');
      s.write(buf);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    }
    if (!ok) {
      this.bodyPaused = true;
      this.stream!.pause();
    }
  }

  bodyEnd(): void {
    const conn = this.conn;
    if (conn === null) return;
    if (this.declared >= 0 && this.sent !== this.declared) return this.fail(lengthMismatch(this.declared, 'shorter'));
    if (this.declared < 0) conn.socket.write(LAST_CHUNK, 'latin1');
    this.requestDone = true;
    this.detachBody();
  }

  bodyClosed(): void {
    if (!this.requestDone) this.fail(new Error('request body stream closed before its end'));
  }

  /** The socket drained: let a paused request body flow again. */
  drained(): void {
    if (this.bodyPaused) {
      this.bodyPaused = false;
      this.stream!.resume();
    }
  }

  responseStart(status: number, headers: IncomingHttpHeaders, reason: string): void {
    this.handler.onResponseStart?.(this, status, headers, reason);
  }

  /** A body piece as a view of the connection's read memory; true when the handler kept a reference to it. */
  data(view: Buffer): boolean {
    const h = this.handler as Partial<ViewDataHandler>;
    if (h.onResponseDataView !== undefined) return h.onResponseDataView(this, view);
    h.onResponseData?.(this, copyOut(view, 0, view.length));
    return false;
  }

  /** The response is complete; the connection has already been released or destroyed. */
  end(trailers: IncomingHttpHeaders): void {
    this.finished = true;
    this.conn = null;
    this.detachBody();
    this.handler.onResponseEnd?.(this, trailers);
  }

  /** May this exchange be replayed on a fresh connection? (Marks it retried.) */
  takeRetry(): boolean {
    if (this.retried || this.finished || this.stream !== null || !this.idempotent) return false;
    this.retried = true;
    this.requestDone = false;
    return true;
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) conn.drop();
    else if (this.queued) this.pool.dequeue(this);
    this.detachBody();
    this.handler.onResponseError?.(this, err);
  }

  /**
   * Stop reading the request body. What is left of it is drained (flowing,
   * with nobody listening) so the downstream connection can move on.
   */
  private detachBody(): void {
    const stream = this.stream;
    const conn = this.bodyConn;
    if (stream === null || conn === null) return;
    this.bodyConn = null;
    stream.off('data', conn.onBodyData);
    stream.off('end', conn.onBodyEnd);
    stream.off('error', conn.onBodyError);
    stream.off('close', conn.onBodyClose);
    if (!stream.readableEnded && !stream.destroyed) {
      // An error emitted after this point must not crash the process.
      stream.on('error', ignore);
      stream.resume();
    }
  }
}

function ignore(): void {}

function lengthMismatch(declared: number, what: 'longer' | 'shorter'): RawPoolError {
  return new RawPoolError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', `request body ${what} than its content-length (${declared})`);
}

/** One socket to the origin, running one exchange at a time. */
class Connection {
  readonly socket: Socket;
  exchange: Exchange | null;
  connecting = true;
  idle = false;
  private dead = false;
  /** A complete exchange already ran here: a failure before any response byte may be the stale keep-alive race. */
  private reused = false;
  private gotBytes = false;
  private unreferenced = false;
  // response parser state
  private state = Parse.Head;
  private pending: Buffer | null = null;
  private remaining = 0;
  private keepAlive = false;
  private idleMs = 0;
  /** Date.now() when the connection went idle (the keep-alive limit is checked against it). */
  idleSince = 0;
  /** The inactivity timeout armed on the socket now (re-arming costs, so only changes are applied). */
  private armed = -1;
  private decoder: ChunkedDecoder | null = null;
  /** Memory for the next read, and whether a handler kept a view of it (then it is never reused). */
  private buf: Buffer | null = null;
  private lent = false;

  constructor(private readonly pool: RawPool, first: Exchange) {
    this.exchange = first;
    first.conn = this;
    const s = connect({
      host: pool.hostname,
      port: pool.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      onread: { buffer: this.nextBuffer, callback: this.onRead },
    });
    this.socket = s;
    this.arm(pool.opts.connectTimeout);
    s.on('connect', this.onConnect);
    s.on('drain', this.onDrain);
    s.on('timeout', this.onTimeout);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
  }

  /** Run `ex` on this (connected, free) connection. */
  run(ex: Exchange): void {
    this.exchange = ex;
    ex.conn = this;
    this.idle = false;
    this.gotBytes = false;
    this.state = Parse.Head;
    this.pending = null;
    const s = this.socket;
    if (this.unreferenced) {
      this.unreferenced = false;
      s.ref();
    }
    // The previous handler may have left the socket paused (back-pressure); send() pauses it again if this one asked.
    if (s.isPaused()) s.resume();
    this.arm(ex.headersTimeout);
    try {
      ex.send(this);
    } catch (err) {
      ex.fail(toError(err));
    }
  }

  /** Socket inactivity timeout, applied only when it changes. */
  arm(ms: number): void {
    if (this.armed === ms) return;
    this.armed = ms;
    this.socket.setTimeout(ms);
  }

  /** The keep-alive limit of this idle connection has passed (the origin may be closing it). */
  expired(now: number): boolean {
    return now - this.idleSince >= this.idleMs;
  }

  /**
   * Park in the idle stack: resume reading (to see the origin close it). The
   * keep-alive limit is checked when the connection is taken again and by the
   * pool's sweep, not by a timer per exchange.
   */
  goIdle(): void {
    this.idle = true;
    this.idleSince = Date.now();
    const s = this.socket;
    if (s.isPaused()) s.resume();
    // An idle pool must not keep the process alive (undici does the same).
    s.unref();
    this.unreferenced = true;
  }

  /** Destroy the socket without reporting to any exchange. */
  drop(): void {
    this.exchange = null;
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.pool.forget(this, null);
  }

  /** The pool is being destroyed. */
  kill(err: Error): void {
    const ex = this.exchange;
    if (ex !== null) ex.fail(err);
    else this.drop();
  }

  /** The socket failed or closed under us. */
  private lost(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    const ex = this.exchange;
    this.exchange = null;
    if (ex === null) {
      this.pool.forget(this, null);
      return;
    }
    ex.conn = null;
    // Stale keep-alive race: the origin closed a reused connection before answering; replay the
    // request once on a fresh connection, unseen by the handler.
    if (this.reused && !this.gotBytes && ex.takeRetry()) this.pool.forget(this, ex);
    else {
      this.pool.forget(this, null);
      ex.fail(err);
    }
  }

  readonly onConnect = (): void => {
    this.connecting = false;
    // The exchange that opened this connection is still attached: aborting it destroys a connecting socket.
    this.run(this.exchange!);
  };

  /** Node asks for the memory of the next read after each read: the same buffer unless a handler kept a view of it. */
  private readonly nextBuffer = (): Buffer => {
    let b = this.buf;
    if (b === null || this.lent) {
      b = this.buf = Buffer.allocUnsafe(READ_SIZE);
      this.lent = false;
    }
    return b;
  };

  /** `n` bytes arrived in `buf`, which the next read reuses unless `lent` is set by then. */
  readonly onRead = (n: number, buf: Buffer): boolean => {
    const ex = this.exchange;
    if (ex === null) {
      // Bytes on an idle connection answer nothing: the connection can never be trusted again.
      this.drop();
      return false;
    }
    this.gotBytes = true;
    try {
      this.parse(ex, buf.subarray(0, n));
    } catch (err) {
      // A handler callback threw: the exchange ends as if aborted with that error.
      if (ex.finished) throw err;
      ex.fail(toError(err));
    }
    return true;
  };

  readonly onDrain = (): void => {
    this.exchange?.drained();
  };

  readonly onTimeout = (): void => {
    const ex = this.exchange;
    if (ex === null) {
      this.drop(); // keep-alive timer of an idle connection
      return;
    }
    if (this.connecting) ex.fail(new RawPoolError('UND_ERR_CONNECT_TIMEOUT', `connect timeout to ${this.pool.host} after ${this.pool.opts.connectTimeout} ms`));
    else if (this.state === Parse.Head) ex.fail(new RawPoolError('UND_ERR_HEADERS_TIMEOUT', `no response head from ${this.pool.host} within ${ex.headersTimeout} ms`));
    else ex.fail(new RawPoolError('UND_ERR_BODY_TIMEOUT', `response body from ${this.pool.host} idle for ${ex.bodyTimeout} ms`));
  };

  readonly onEnd = (): void => {
    const ex = this.exchange;
    if (ex !== null && this.state === Parse.UntilClose) {
      // A close-delimited body ends here; the connection cannot be reused.
      this.state = Parse.Head;
      this.drop();
      ex.end({});
      return;
    }
    this.lost(new RawPoolError('UND_ERR_SOCKET', 'other side closed'));
  };

  readonly onError = (err: Error): void => {
    this.lost(err);
  };

  readonly onClose = (): void => {
    this.lost(new RawPoolError('UND_ERR_SOCKET', 'socket closed'));
  };

  // Request-body listeners: created once per connection, routed to the current exchange.
  readonly onBodyData = (chunk: Buffer | string): void => {
    this.exchange?.bodyData(chunk);
  };

  readonly onBodyEnd = (): void => {
    this.exchange?.bodyEnd();
  };

  readonly onBodyError = (err: Error): void => {
    this.exchange?.fail(err);
  };

  readonly onBodyClose = (): void => {
    this.exchange?.bodyClosed();
  };

  private readonly onChunk = (chunk: Buffer): void => {
    if (this.exchange?.data(chunk) === true) this.lent = true;
  };

  private invalid(ex: Exchange, why: string): void {
    ex.fail(new RawPoolError('UND_ERR_SOCKET', `invalid upstream response: ${why}`));
  }

  /**
   * Parse one read for `ex`. Returns as soon as the exchange ends or leaves this
   * connection. `b` is a view of the read buffer: a partial head is copied, body pieces are lent (`Exchange.data`).
   */
  private parse(ex: Exchange, b: Buffer): void {
    let i = 0;
    let len = b.length;
    while (i < len) {
      switch (this.state) {
        case Parse.Head: {
          let search = i;
          if (this.pending !== null) {
            const p = this.pending;
            this.pending = null;
            search = p.length > 3 ? p.length - 3 : 0;
            b = Buffer.concat([p, b.subarray(i, len)]);
            len = b.length;
            i = 0;
          }
          const e = b.indexOf('\r\n\r\n', search, 'latin1');
          if (e < 0) {
            if (len - i > MAX_RESPONSE_HEAD) return this.invalid(ex, 'head too large');
            this.pending = copyOut(b, i, len);
            return;
          }
          if (e - i > MAX_RESPONSE_HEAD) return this.invalid(ex, 'head too large');
          const h = parseResponseHead(b.toString('latin1', i, e), ex.isHead);
          if ('error' in h) return this.invalid(ex, h.error);
          i = e + 4;
          if (h.status < 200) {
            // 101 without an upgrade request would hand us a foreign protocol.
            if (h.status === 101) return this.invalid(ex, 'unexpected 101 Switching Protocols');
            continue; // interim answer: the final one follows
          }
          const pool = this.pool;
          this.idleMs = h.keepAliveHint >= 0 ? Math.min(pool.opts.keepAliveTimeout, h.keepAliveHint - 1000) : pool.opts.keepAliveTimeout;
          this.keepAlive = h.keepAlive && this.idleMs > 0;
          if (h.body !== ResponseBody.None) this.arm(ex.bodyTimeout);
          ex.responseStart(h.status, h.headers, h.reason);
          if (this.exchange !== ex) return;
          if (h.body === ResponseBody.None) return this.complete(ex, i < len, {});
          if (h.body === ResponseBody.Length) {
            this.state = Parse.Length;
            this.remaining = h.contentLength;
          } else if (h.body === ResponseBody.Chunked) {
            this.state = Parse.Chunked;
            if (this.decoder === null) this.decoder = new ChunkedDecoder();
            else this.decoder.reset();
          } else this.state = Parse.UntilClose;
          continue;
        }
        case Parse.Length: {
          const n = this.remaining < len - i ? this.remaining : len - i;
          if (ex.data(i === 0 && n === len ? b : b.subarray(i, i + n))) this.lent = true;
          if (this.exchange !== ex) return;
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) return this.complete(ex, i < len, {});
          continue;
        }
        case Parse.Chunked: {
          const d = this.decoder!;
          const at = d.feed(b, i, this.onChunk);
          if (this.exchange !== ex) return;
          if (at < 0) return this.invalid(ex, `chunked body: ${d.error ?? ''}`);
          if (!d.done) return;
          const trailers = parseTrailers(d.trailers);
          if ('error' in trailers) return this.invalid(ex, `trailers: ${trailers.error}`);
          return this.complete(ex, at < len, trailers);
        }
        default:
          if (ex.data(i === 0 ? b : b.subarray(i, len))) this.lent = true;
          return;
      }
    }
  }

  /** The response is complete: hand the connection back (or close it), then tell the handler. */
  private complete(ex: Exchange, extraBytes: boolean, trailers: IncomingHttpHeaders): void {
    // Bytes after a complete response (a body on a HEAD answer, more than the
    // Content-Length): the response as framed is delivered, as nginx does, and the
    // connection is never reused, so those bytes never reach anyone.
    this.state = Parse.Head;
    this.exchange = null;
    ex.conn = null;
    if (this.keepAlive && ex.requestDone && !extraBytes) {
      this.reused = true;
      this.pool.release(this);
    } else this.drop();
    ex.end(trailers);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Request line and header section, with framing derived from the body. Throws TypeError on unsafe input. */
function requestHead(o: Dispatcher.DispatchOptions, defaultHost: string, bodyLength: number, stream: boolean): { head: string; declared: number } {
  const method = o.method;
  if (!isToken(method)) throw new TypeError(`invalid request method ${JSON.stringify(method)}`);
  const path = o.path;
  for (let k = 0; k < path.length; k++) {
    const c = path.charCodeAt(k);
    if (c < 0x21 || c > 0xff) throw new TypeError('invalid request path');
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let declared = -1;
  const h = o.headers;
  if (h !== null && h !== undefined) {
    if (Array.isArray(h) || typeof (h as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
      throw new TypeError('request headers must be a plain object');
    }
    const rec = h as Record<string, string | string[] | undefined>;
    for (const name in rec) {
      const v = rec[name];
      if (v === undefined) continue;
      if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
      const n = name.length;
      const lower = n === 4 || n === 14 || n === 17 ? name.toLowerCase() : name;
      if (lower === 'content-length') {
        // Framing is ours: only a stream body's declared length is used.
        declared = declaredLength(v, declared);
        continue;
      }
      if (lower === 'transfer-encoding') continue;
      if (lower === 'host') hasHost = true;
      if (typeof v === 'string') head += `${name}: ${checkValue(name, v)}\r\n`;
      else if (Array.isArray(v)) for (const x of v) head += `${name}: ${checkValue(name, x)}\r\n`;
      else throw new TypeError(`invalid value for header ${name}`);
    }
  }
  if (!hasHost) head += `host: ${defaultHost}\r\n`;
  if (stream) {
    head += declared >= 0 ? `content-length: ${declared}\r\n\r\n` : 'transfer-encoding: chunked\r\n\r\n';
  } else if (bodyLength > 0 || (bodyLength === 0 && (method === 'POST' || method === 'PUT' || method === 'PATCH'))) {
    head += `content-length: ${bodyLength}\r\n\r\n`;
  } else head += '\r\n';
  return { head, declared: stream ? declared : -1 };
}

function isToken(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0) return false;
  for (let k = 0; k < s.length; k++) if (TCHAR[s.charCodeAt(k)] !== 1) return false;
  return true;
}

/** A value that would let a caller inject a header or a second request (CR, LF, NUL, other controls, > 0xff) is refused. */
function checkValue(name: string, v: string): string {
  if (typeof v !== 'string') throw new TypeError(`invalid value for header ${name}`);
  for (let k = 0; k < v.length; k++) {
    const c = v.charCodeAt(k);
    if (c > 0xff || VCHAR[c] !== 1) throw new TypeError(`invalid character in header ${name}`);
  }
  return v;
}

function declaredLength(v: string | string[], prev: number): number {
  let n = prev;
  for (const x of Array.isArray(v) ? v : [v]) {
    if (typeof x !== 'string' || x.length === 0 || x.length > 15) throw new TypeError('invalid content-length header');
    for (let k = 0; k < x.length; k++) {
      const c = x.charCodeAt(k);
      if (c < 0x30 || c > 0x39) throw new TypeError('invalid content-length header');
    }
    const m = Number(x);
    if (n !== -1 && n !== m) throw new TypeError('conflicting content-length headers');
    n = m;
  }
  return n;
}

export class RawPool {
  /** Connect address (IPv6 without brackets) and port. */
  readonly hostname: string;
  readonly port: number;
  /** host[:port] for the Host header and messages. */
  readonly host: string;
  private readonly idle: Connection[] = [];
  private readonly queue: Exchange[] = [];
  private readonly conns = new Set<Connection>();
  private closing = false;
  private destroyed = false;
  private readonly closeWaiters: Array<() => void> = [];
  private upgrades: Pool | null = null;
  /** Closes idle connections past their keep-alive limit (runs while some are idle). */
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly origin: URL, readonly opts: RawPoolOptions) {
    if (origin.protocol !== 'http:') throw new TypeError(`RawPool serves http: origins only, not ${origin.protocol}`);
    const hn = origin.hostname;
    this.hostname = hn.startsWith('[') ? hn.slice(1, -1) : hn;
    this.port = origin.port === '' ? 80 : Number(origin.port);
    this.host = origin.host;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closing) {
      refuse(handler, this.destroyed ? new RawPoolError('UND_ERR_DESTROYED', 'the pool is destroyed') : new RawPoolError('UND_ERR_CLOSED', 'the pool is closed'));
      return false;
    }
    if (opts.upgrade !== null && opts.upgrade !== undefined && opts.upgrade !== false) {
      if (this.upgrades === null) {
        const o = this.opts;
        this.upgrades = new Pool(this.origin.origin, { connections: o.connections, keepAliveTimeout: o.keepAliveTimeout, connectTimeout: o.connectTimeout });
      }
      return this.upgrades.dispatch(opts, handler);
    }
    let ex: Exchange;
    try {
      ex = this.exchange(opts, handler);
    } catch (err) {
      refuse(handler, toError(err));
      return false;
    }
    const c = this.takeIdle();
    if (c !== null) c.run(ex);
    else if (this.conns.size < this.opts.connections) this.open(ex);
    else {
      ex.queued = true;
      this.queue.push(ex);
    }
    return true;
  }

  /** The most recently used idle connection still within its keep-alive limit. */
  private takeIdle(): Connection | null {
    const idle = this.idle;
    if (idle.length === 0) return null;
    const now = Date.now();
    for (;;) {
      const c = idle.pop();
      if (c === undefined) return null;
      if (!c.expired(now)) return c;
      c.drop();
    }
  }

  private sweep(): void {
    const now = Date.now();
    // Oldest first: the stack's bottom went idle first.
    while (this.idle.length > 0 && this.idle[0]!.expired(now)) this.idle.shift()!.drop();
    if (this.idle.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Graceful: new dispatches fail, in-flight exchanges finish, idle sockets close; resolves when all are gone. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of this.idle.splice(0)) c.drop();
    const done = this.conns.size === 0 && this.queue.length === 0 ? Promise.resolve() : new Promise<void>((r) => this.closeWaiters.push(r));
    await Promise.all([done, this.upgrades?.close()]);
  }

  /** Everything closed now; in-flight exchanges get onResponseError. */
  async destroy(): Promise<void> {
    this.closing = true;
    this.destroyed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    const err = new RawPoolError('UND_ERR_DESTROYED', 'the pool is destroyed');
    for (const ex of this.queue.splice(0)) {
      ex.queued = false;
      ex.fail(err);
    }
    for (const c of [...this.conns]) c.kill(err);
    await this.upgrades?.destroy();
  }

  /** A connection finished an exchange and may be reused. */
  release(c: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      next.queued = false;
      c.run(next);
    } else if (this.closing) c.drop();
    else {
      c.goIdle();
      this.idle.push(c);
      if (this.sweeper === null) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
        this.sweeper.unref();
      }
    }
  }

  /** A connection is gone. `retry`: an exchange to replay on a fresh connection, in the slot just freed. */
  forget(c: Connection, retry: Exchange | null): void {
    this.conns.delete(c);
    if (c.idle) {
      const i = this.idle.lastIndexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
    }
    if (retry !== null) this.open(retry);
    while (this.queue.length > 0 && this.conns.size < this.opts.connections) {
      const ex = this.queue.shift()!;
      ex.queued = false;
      this.open(ex);
    }
    if (this.closing && this.conns.size === 0 && this.queue.length === 0) {
      for (const r of this.closeWaiters.splice(0)) r();
    }
  }

  dequeue(ex: Exchange): void {
    ex.queued = false;
    const i = this.queue.indexOf(ex);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private open(ex: Exchange): void {
    this.conns.add(new Connection(this, ex));
  }

  private exchange(o: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): Exchange {
    const body = o.body;
    let bytes: Buffer | null = null;
    let stream: Readable | null = null;
    if (body === null || body === undefined) bytes = null;
    else if (typeof body === 'string') bytes = Buffer.from(body);
    else if (body instanceof Uint8Array) bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    else if (body instanceof Readable) stream = body;
    else throw new TypeError('unsupported request body type');
    const { head, declared } = requestHead(o, this.host, bytes === null ? (stream === null ? 0 : -1) : bytes.length, stream !== null);
    let out: string | Buffer = head;
    let payload: Buffer | null = null;
    if (bytes !== null && bytes.length > 0) {
      if (bytes.length <= COALESCE_LIMIT) {
        // One buffer, one write, one packet: the head is latin1, one byte per char.
        const buf = Buffer.allocUnsafe(head.length + bytes.length);
        buf.write(head, 0, 'latin1');
        bytes.copy(buf, head.length);
        out = buf;
      } else payload = bytes;
    }
    const ht = o.headersTimeout;
    const bt = o.bodyTimeout;
    return new Exchange(
      this,
      handler,
      out,
      payload,
      stream,
      declared,
      o.method === 'HEAD',
      IDEMPOTENT[o.method] === true,
      ht === null || ht === undefined || ht === 0 ? DEFAULT_HEADERS_TIMEOUT : ht,
      bt === null || bt === undefined ? DEFAULT_BODY_TIMEOUT : bt,
    );
  }
}

/** Fail a dispatch that never got an exchange of its own (pool closed, invalid request). */
function refuse(handler: Dispatcher.DispatchHandler, err: Error): void {
  const controller: Dispatcher.DispatchController = { aborted: false, paused: false, reason: null, abort: ignore, pause: ignore, resume: ignore };
  handler.onResponseError?.(controller, err);
}
