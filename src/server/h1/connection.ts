/**
 * One client connection on the gateway's own HTTP/1.1 server (the fast path;
 * see docs/http1-server.md). It reads request heads with the strict parser,
 * streams request bodies with back-pressure, runs one exchange at a time
 * (pipelined requests wait, in order), owns keep-alive and the
 * header/request/idle timeouts, answers `Expect: 100-continue`, and hands the
 * connection to node:http for what it does not serve itself (upgrades).
 * A client that ends its side (FIN) before its answers are complete has given
 * up on them: the exchange in progress is cancelled (docs/http1.md).
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { ChunkedDecoder } from '../../http1/chunked.js';
import { BodyKind, parseRequestHead, type RequestHead } from '../../http1/request-head.js';
import { reasonPhrase } from '../../http1/reasons.js';
import type { ClientRequest } from '../../http/exchange.js';
import { H1ResponseWriter, type WriterHost } from './writer.js';

/** What a connection needs from its entry point. */
export interface H1Server {
  readonly maxHeaderSize: number;
  readonly closing: boolean;
  /** Build the context for one request and run the handler; the answer goes to `w`. */
  exchange(conn: H1Connection, head: RequestHead, body: RequestBody | null, w: H1ResponseWriter): void;
  /** The exchange answered by `w` is over: completely, or not (client gone, aborted). */
  exchangeDone(w: H1ResponseWriter, completed: boolean): void;
  /** Give the connection to node:http, replaying `bytes` (a request this server does not serve). */
  handOver(socket: Socket, bytes: Buffer): void;
  /** The connection is closed (or handed over). */
  forget(conn: H1Connection): void;
}

/** The request as the client sent it, for middlewares and telemetry that look at it. */
export class H1Request implements ClientRequest {
  readonly httpVersionMajor = 1;
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly httpVersion: string,
    readonly socket: Socket,
  ) {}
}

/** A request body as a Readable; the connection pushes what it decodes and pauses the socket while the reader is slow. */
export class RequestBody extends Readable {
  constructor(private readonly conn: H1Connection) {
    super({ highWaterMark: 64 * 1024 });
  }
  override _read(): void {
    this.conn.bodyWanted();
  }
}

const enum State {
  Head,
  LengthBody,
  ChunkedBody,
  Dead,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Bytes of pipelined requests held while an exchange runs; beyond this the socket is paused. */
const MAX_PIPELINED = 64 * 1024;
/**
 * An answer sent before its request body ended keeps the connection when at most this
 * much body remains (announced by Content-Length): the rest is read and dropped, as Go
 * does. A longer or chunked remainder closes the connection.
 */
const MAX_DISCARD = 256 * 1024;
/** A connection closed by the server is destroyed if the client has not closed its side after this long. */
const LINGER_MS = 5_000;

function errorAnswer(status: number, reason: string): string {
  const text = reasonPhrase(status);
  const body = `${text}: ${reason}\n`;
  return `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export class H1Connection implements WriterHost {
  private state = State.Head;
  /** Bytes received but not parsed yet (a partial head, or pipelined requests). */
  private pending: Buffer | null = null;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private body: RequestBody | null = null;
  private writer: H1ResponseWriter | null = null;
  private parsing = false;
  private drainWaiters: Array<() => void> | null = null;
  /** The client ended its side (FIN). */
  private clientEnded = false;
  /** The request asked for 100 Continue and it has not been sent yet (it is, when the body is first read). */
  private continuePending = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** Request body fully read (true between requests). */
  requestComplete = true;
  /** performance-independent clock (Date.now()) of when the current head started, 0 when not reading one. */
  headStart: number;
  /** When the current request started, 0 once its body has been read. */
  requestStart = 0;
  /** When the connection became idle (no exchange, no partial head). */
  idleSince = 0;

  readonly onDrain = (): void => {
    const w = this.drainWaiters;
    if (w === null) return;
    this.drainWaiters = null;
    for (const cb of w) cb();
  };
  private readonly onChunk = (c: Buffer): void => this.pushBody(c);
  // Per-connection listeners (never properties on node's socket: that would slow node's own code).
  private readonly onSocketData = (c: Buffer): void => this.onData(c);
  private readonly onSocketEnd = (): void => this.onEnd();
  private readonly onSocketClose = (): void => this.onClose();
  private readonly onSocketError = (): void => {
    this.socket.destroy();
  };

  constructor(
    private readonly server: H1Server,
    readonly socket: Socket,
    now: number,
  ) {
    this.headStart = now;
    socket.on('data', this.onSocketData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onSocketEnd);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onSocketError);
  }

  get closing(): boolean {
    return this.server.closing;
  }

  /** The rest of the request body is short enough to read and drop after an early answer. */
  get canDiscardBody(): boolean {
    // A client waiting for 100 Continue that never came may never send the rest: close instead (node:http does too).
    return this.state === State.LengthBody && this.remaining <= MAX_DISCARD && !this.continuePending;
  }

  /** An exchange is running. */
  get busy(): boolean {
    return this.writer !== null;
  }

  onData(chunk: Buffer): void {
    if (this.state === State.Dead) return;
    let buf = chunk;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      buf = Buffer.concat([p, chunk]);
    }
    this.consume(buf);
  }

  private consume(buf: Buffer): void {
    this.parsing = true;
    const len = buf.length;
    let i = 0;
    while (i < len) {
      const state = this.state;
      if (state === State.Head) {
        if (this.writer !== null || this.socket.writableNeedDrain) {
          // A pipelined request waits for the answer in progress, and for a client
          // that does not read its answers (memory stays bounded).
          this.pending = i === 0 ? buf : buf.subarray(i);
          if (this.writer === null) {
            this.socket.pause();
            this.waitDrain(this.resumePipeline);
          } else if (this.pending.length > MAX_PIPELINED) this.socket.pause();
          break;
        }
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        while (i < len && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
        if (i === len) break;
        if (this.headStart === 0) this.headStart = Date.now();
        const max = this.server.maxHeaderSize;
        const e = buf.indexOf(CRLFCRLF, i);
        if (e < 0 || e - i > max) {
          if (len - i > max) return this.refuse(431, 'request header too large');
          // A head with bare LF line endings never shows CRLF CRLF: refuse it now, not at the timeout.
          if (hasBareLf(buf, i)) return this.refuse(400, 'bare LF');
          this.pending = buf.subarray(i);
          break;
        }
        const head = parseRequestHead(buf.toString('latin1', i, e));
        if ('status' in head) return this.refuse(head.status, head.reason);
        if (head.fallback) {
          this.parsing = false;
          this.handOver(i === 0 ? buf : buf.subarray(i));
          return;
        }
        i = e + 4;
        this.begin(head);
      } else if (state === State.LengthBody) {
        const n = Math.min(this.remaining, len - i);
        this.pushBody(i === 0 && n === len ? buf : buf.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.bodyComplete();
      } else if (state === State.ChunkedBody) {
        const d = this.decoder!;
        const at = d.feed(buf, i, this.onChunk);
        if (at < 0) return this.refuse(400, d.error ?? 'invalid chunked body');
        i = at;
        if (d.done) this.bodyComplete();
      } else break;
    }
    this.parsing = false;
    // A half-closed client sends nothing more: with no exchange running, nothing else can come.
    if (this.clientEnded && this.writer === null && this.pending === null && this.state !== State.Dead) this.shut();
  }

  private begin(head: RequestHead): void {
    this.headStart = 0;
    const now = Date.now();
    let body: RequestBody | null = null;
    this.continuePending = head.expectContinue && head.body !== BodyKind.None;
    if (head.body !== BodyKind.None) {
      body = new RequestBody(this);
      this.body = body;
      this.requestComplete = false;
      this.requestStart = now;
      if (head.body === BodyKind.Length) {
        this.state = State.LengthBody;
        this.remaining = head.contentLength;
      } else {
        this.state = State.ChunkedBody;
        (this.decoder ??= new ChunkedDecoder()).reset();
      }
    }
    const w = new H1ResponseWriter(this, head.method === 'HEAD', head.minor, head.keepAlive);
    this.writer = w;
    this.server.exchange(this, head, body, w);
  }

  private pushBody(chunk: Buffer): void {
    const b = this.body;
    if (b !== null && !b.destroyed && !b.push(chunk)) this.socket.pause();
  }

  private bodyComplete(): void {
    // The answer may already have closed the connection (e.g. 413 while the body streamed in):
    // a dead connection stays dead, so nothing read after it is ever served.
    if (this.state !== State.Dead) this.state = State.Head;
    this.requestComplete = true;
    this.requestStart = 0;
    const b = this.body;
    this.body = null;
    if (b !== null) b.push(null);
    // Paused for a slow body reader: the body is whole, reading may go on (pipelined bytes are bounded apart).
    if (this.pending === null && this.state === State.Head && this.socket.isPaused()) this.socket.resume();
    if (this.writer === null) this.idleSince = Date.now();
  }

  /** The body reader wants more. */
  bodyWanted(): void {
    if (this.continuePending) {
      // Expect: 100-continue: the client sends its body once told to (RFC 9110 §10.1.1). Not after a final answer began.
      this.continuePending = false;
      const w = this.writer;
      if (w !== null && !w.headersSent && this.state !== State.Dead) this.socket.write(CONTINUE, 'latin1');
    }
    if (this.pending === null && this.socket.isPaused()) this.socket.resume();
  }

  waitDrain(cb: () => void): void {
    (this.drainWaiters ??= []).push(cb);
  }

  /** Called by the writer when its answer is complete. */
  responseDone(w: H1ResponseWriter): void {
    if (this.writer !== w) return;
    this.writer = null;
    this.server.exchangeDone(w, true);
    if (w.close || this.server.closing) {
      this.shut();
      return;
    }
    if (!this.requestComplete) {
      // Answered before the body ended (401, 404, 413…): the rest of the body is read and
      // dropped (bounded by canDiscardBody, which the writer checked), then the next request.
      const b = this.body;
      this.body = null;
      if (b !== null) destroyBody(b);
      if (this.pending === null && this.socket.isPaused()) this.socket.resume();
      return;
    }
    this.idleSince = Date.now();
    const p = this.pending;
    if (p === null && this.clientEnded && !this.parsing) {
      this.shut();
      return;
    }
    if (p !== null && !this.parsing) {
      // Pipelined requests resume on the next tick: the answer may have ended
      // inside an upstream callback, which must return before a new exchange starts.
      process.nextTick(this.resumePipeline);
    }
  }

  /** Go on with pipelined bytes held while an answer ran (or while the client was not reading). */
  private readonly resumePipeline = (): void => {
    const p = this.pending;
    if (this.state === State.Dead || this.writer !== null || p === null) return;
    if (this.socket.writableNeedDrain) {
      this.waitDrain(this.resumePipeline);
      return;
    }
    this.pending = null;
    this.socket.resume();
    this.onData(p);
  };

  /** Answer a request that cannot be read (or trusted) with `status` and close. */
  private refuse(status: number, reason: string): void {
    this.parsing = false;
    this.pending = null;
    const w = this.writer;
    const b = this.body;
    this.body = null;
    if (b !== null) b.destroy();
    if (w === null || !w.headersSent) {
      if (w !== null) {
        w.ended = true;
        this.writer = null;
        if (w.ctx !== null) w.ctx.status = status; // the access log shows what the client got
        this.server.exchangeDone(w, false);
      }
      this.state = State.Dead;
      this.socket.end(errorAnswer(status, reason), 'latin1');
      this.linger();
    } else {
      this.state = State.Dead;
      this.socket.destroy();
    }
  }

  /** No more requests on this connection: close it once the last answer is flushed. */
  private shut(): void {
    this.state = State.Dead;
    this.pending = null;
    this.socket.end();
    this.linger();
  }

  private linger(): void {
    // A real timer, not the socket's inactivity timeout: a client that keeps sending must not keep it open.
    if (this.lingerTimer !== null) return;
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  private handOver(bytes: Buffer): void {
    this.state = State.Dead;
    const s = this.socket;
    s.off('data', this.onSocketData);
    s.off('drain', this.onDrain);
    s.off('end', this.onSocketEnd);
    s.off('close', this.onSocketClose);
    s.off('error', this.onSocketError);
    this.server.forget(this);
    this.server.handOver(s, bytes);
  }

  /** Checked about once a second by the entry point (node:http's headersTimeout, requestTimeout and keepAliveTimeout). */
  checkTimeouts(now: number, headersTimeout: number, readTimeout: number, idleTimeout: number): void {
    if (this.state === State.Dead) return;
    if (this.headStart !== 0 && headersTimeout > 0 && now - this.headStart > headersTimeout) {
      this.timeout();
      return;
    }
    if (this.requestStart !== 0 && readTimeout > 0 && now - this.requestStart > readTimeout) {
      this.timeout();
      return;
    }
    // Idle: no exchange running (pipelined bytes may wait for a client that does not read its answers).
    if (this.writer === null && this.headStart === 0 && idleTimeout > 0 && this.idleSince !== 0 && now - this.idleSince > idleTimeout) {
      this.state = State.Dead;
      this.socket.destroy();
    }
  }

  private timeout(): void {
    const w = this.writer;
    if (w === null || !w.headersSent) this.refuse(408, 'the request was not received in time');
    else {
      this.state = State.Dead;
      this.socket.destroy();
    }
  }

  /** The server is closing: an idle connection closes now, a busy one after its answer. */
  closeIfIdle(): void {
    if (this.writer === null && this.state === State.Head && this.pending === null) this.shut();
  }

  private onEnd(): void {
    this.clientEnded = true;
    if (this.state === State.Dead) {
      this.socket.destroy();
      return;
    }
    if (this.writer !== null || this.pending !== null || !this.requestComplete) {
      // The client ended its side before its answers were complete: it gave up on them, as nginx
      // ("client prematurely closed connection"), Go's server (the request context is cancelled) and
      // node:http read a FIN. A client that closed its socket cannot be told apart from one that only
      // half-closed, and the upstream exchange must not outlive the client: cancel it (onClose).
      this.socket.destroy();
      return;
    }
    if (!this.parsing) this.shut();
  }

  private onClose(): void {
    this.state = State.Dead;
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.pending = null;
    const b = this.body;
    this.body = null;
    if (b !== null) destroyBody(b);
    const w = this.writer;
    this.writer = null;
    if (w !== null) {
      w.ended = true;
      this.server.exchangeDone(w, false);
    }
    this.drainWaiters = null;
    this.server.forget(this);
  }
}

/** True when buf[from..] has a LF not preceded by CR. */
function hasBareLf(buf: Buffer, from: number): boolean {
  let k = buf.indexOf(0x0a, from);
  while (k >= 0) {
    if (k === from || buf[k - 1] !== 0x0d) return true;
    k = buf.indexOf(0x0a, k + 1);
  }
  return false;
}

/** End a body the client abandoned; an error only reaches readers that listen for one. */
function destroyBody(b: RequestBody): void {
  if (b.destroyed) return;
  if (b.listenerCount('error') > 0)
    b.destroy(Object.assign(new Error('the client closed the connection before the request body was complete'), { code: 'ECONNRESET' }));
  else b.destroy();
}
