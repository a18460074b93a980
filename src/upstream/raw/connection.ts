/**
 * One socket to an `http://` origin, running one exchange at a time (undici's
 * `client-h1.js`): it connects, hands the socket to the exchange to write the
 * request, parses the response with the strict JS parser of
 * `src/http1/response-head.ts` and the chunked decoder, and returns itself to
 * the pool when the response is complete and the connection may be reused.
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
 * Body pieces are lent to the exchange (exchange.ts); a piece a handler kept
 * makes the next read go into fresh memory.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { ChunkedDecoder } from '../../http1/chunked.js';
import { MAX_RESPONSE_HEAD, ResponseBody, parseResponseHead, parseTrailers } from '../../http1/response-head.js';
import { RawPoolError, toError } from './errors.js';
import { copyOut, type Exchange, type ExchangeConnection } from './exchange.js';

/** Size of a connection's read buffer: a 16 KiB body and its head arrive in one read. */
const READ_SIZE = 32 * 1024;

const enum Parse {
  Head,
  Length,
  Chunked,
  UntilClose,
}

/** What a connection uses of its pool (pool.ts). */
export interface ConnectionPool {
  /** Connect address (IPv6 without brackets) and port. */
  readonly hostname: string;
  readonly port: number;
  /** host[:port], for messages. */
  readonly host: string;
  readonly opts: { readonly connectTimeout: number; readonly keepAliveTimeout: number };
  /** The connection finished an exchange and may be reused. */
  release(c: Connection): void;
  /** The connection is gone; `retry` is an exchange to replay on a fresh connection. */
  forget(c: Connection, retry: Exchange | null): void;
}

/** One socket to the origin, running one exchange at a time. */
export class Connection implements ExchangeConnection {
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

  constructor(
    private readonly pool: ConnectionPool,
    first: Exchange,
  ) {
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
    if (this.connecting)
      ex.fail(
        new RawPoolError('UND_ERR_CONNECT_TIMEOUT', `connect timeout to ${this.pool.host} after ${this.pool.opts.connectTimeout} ms`),
      );
    else if (this.state === Parse.Head)
      ex.fail(new RawPoolError('UND_ERR_HEADERS_TIMEOUT', `no response head from ${this.pool.host} within ${ex.headersTimeout} ms`));
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
            // A head with bare LF line ends never shows CRLF CRLF: refuse it now (502), not at the headers timeout.
            if (hasBareLf(b, i, len)) return this.invalid(ex, 'bare LF in the response head');
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

/** True when b[from, to) has a LF not preceded by CR. */
function hasBareLf(b: Buffer, from: number, to: number): boolean {
  let k = b.indexOf(0x0a, from);
  while (k >= 0 && k < to) {
    if (k === from || b[k - 1] !== 0x0d) return true;
    k = b.indexOf(0x0a, k + 1);
  }
  return false;
}
