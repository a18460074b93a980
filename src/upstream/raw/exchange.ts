/**
 * One request/response exchange of the raw pool, and the DispatchController
 * its handler holds (undici's request object in `lib/core/request.js`): it
 * writes the request through the connection it runs on, streams a request
 * body with back-pressure, and passes response events to the handler.
 *
 * Body pieces go to a handler that implements `onResponseDataView` as views
 * of the connection's read memory; when the handler still holds one after the
 * call (the client's socket queued it), the connection reads into fresh memory
 * from then on and the old buffer belongs to the handler. Other handlers get
 * copies.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { RawPoolError } from './errors.js';

/**
 * A handler that takes response body pieces as views of the pool's read memory,
 * valid only during the call. It returns true when it still references `chunk`
 * afterwards (e.g. a socket queued it): the pool then never reuses that memory.
 */
export interface ViewDataHandler extends Dispatcher.DispatchHandler {
  onResponseDataView(controller: Dispatcher.DispatchController, chunk: Buffer): boolean;
}

/** What an exchange uses of the connection running it (connection.ts). */
export interface ExchangeConnection {
  readonly socket: Socket;
  readonly connecting: boolean;
  /** Socket inactivity timeout, ms (0: none). */
  arm(ms: number): void;
  /** Destroy the socket without reporting to any exchange. */
  drop(): void;
  // Request-body listeners, made once per connection and routed to its current exchange.
  readonly onBodyData: (chunk: Buffer | string) => void;
  readonly onBodyEnd: () => void;
  readonly onBodyError: (err: Error) => void;
  readonly onBodyClose: () => void;
}

/** What an exchange uses of its pool (pool.ts): leaving the wait queue when it fails there. */
export interface ExchangeQueue {
  dequeue(ex: Exchange): void;
}

const NO_CONTEXT: Readonly<Record<string, never>> = Object.freeze({});
const LAST_CHUNK = '0\r\n\r\n';

/** A copy of `b[start, end)` that outlives the shared read buffer (small copies come from Node's Buffer pool). */
export function copyOut(b: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  b.copy(out, 0, start, end);
  return out;
}

/**
 * One request/response exchange. It is also the DispatchController handed
 * to the handler: one object per request.
 */
export class Exchange implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;

  /** Connection running (or connecting for) this exchange. */
  conn: ExchangeConnection | null = null;
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
  private bodyConn: ExchangeConnection | null = null;
  private bodyPaused = false;

  constructor(
    private readonly pool: ExchangeQueue,
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
  send(conn: ExchangeConnection): void {
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
    if (!stream.readableEnded) {
      // An error emitted after this point must not crash the process (a destroyed stream emits it
      // on the next tick: the client's body, cut when the client went away and the exchange was aborted).
      stream.on('error', ignore);
      if (!stream.destroyed) stream.resume();
    }
  }
}

function ignore(): void {}

function lengthMismatch(declared: number, what: 'longer' | 'shorter'): RawPoolError {
  return new RawPoolError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', `request body ${what} than its content-length (${declared})`);
}
