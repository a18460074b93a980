/**
 * The response writer of the gateway's own HTTP/1.1 server: serialises the
 * head itself (no node OutgoingMessage), sends it together with the first
 * body piece in one write, frames the body (Content-Length as given, chunked
 * otherwise, close-delimited for HTTP/1.0 clients), writes trailers after the
 * last chunk, and tells the connection when the exchange is over.
 */
import type { Socket } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../../http/exchange.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import { hasToken } from '../../http1/request-head.js';
import { statusLine } from '../../http1/reasons.js';
import { INVALID_VALUE_CHAR, isToken } from '../../http1/tokens.js';

/** What the writer needs from its connection. */
export interface WriterHost {
  readonly socket: Socket;
  /** The request body has been read completely (the connection can be reused after the answer). */
  readonly requestComplete: boolean;
  /** The server is shutting down: every answer closes its connection. */
  readonly closing: boolean;
  /** What remains of an unfinished request body may be read and dropped after the answer. */
  readonly canDiscardBody: boolean;
  responseDone(w: H1ResponseWriter): void;
  waitDrain(cb: () => void): void;
}

/** Head and body up to this size are copied into one buffer (one send); larger bodies go out corked (one writev). */
const COALESCE = 4096;
const LAST_CHUNK = '0\r\n\r\n';

let dateSecond = -1;
let dateValue = '';
/** RFC 9110 IMF-fixdate, computed at most once a second. */
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

function headerLine(k: string, v: string): string {
  if (INVALID_VALUE_CHAR.test(v)) throw new TypeError(`invalid character in the value of response header "${k}"`);
  return `${k}: ${v}\r\n`;
}

/**
 * Heads written without a body piece in the same turn are sent by one
 * microtask per turn of the event loop (not one callback per response).
 */
let flushQueue: H1ResponseWriter[] = [];
let flushScheduled = false;
function flushHeads(): void {
  flushScheduled = false;
  const q = flushQueue;
  flushQueue = [];
  for (let i = 0; i < q.length; i++) q[i]!.flushHead();
}

export class H1ResponseWriter implements ResponseWriter {
  headersSent = false;
  ctx: RequestContext | null = null;
  /** This answer closes the connection. */
  close: boolean;
  /** The exchange is over (end() was called or the writer was destroyed). */
  ended = false;
  /** The entry point's writeTimeout timer for this exchange. */
  timer: NodeJS.Timeout | null = null;
  private head: string | null = null;
  private chunked = false;
  private noBody = false;
  /** Declared Content-Length, -1 when none. */
  private length = -1;
  private written = 0;
  private trailers = '';

  constructor(
    private readonly conn: WriterHost,
    private readonly isHeadRequest: boolean,
    private readonly minor: number,
    keepAlive: boolean,
  ) {
    this.close = !keepAlive;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    if (this.headersSent) throw new Error('response head already written');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    const ctx0 = this.ctx;
    // The backend's own reason phrase travels with its status (as nginx and HAProxy pass it); ours otherwise.
    let out =
      ctx0 !== null && ctx0.originReason !== '' && status === ctx0.originStatus && !INVALID_VALUE_CHAR.test(ctx0.originReason)
        ? `HTTP/1.1 ${status} ${ctx0.originReason}\r\n`
        : statusLine(status);
    let hasDate = false;
    let length = -1;
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      switch (k.length) {
        case 4:
          if (k === 'date') hasDate = true;
          break;
        case 10:
          if (k === 'connection') {
            // Connection management is the server's: only a request to close is honoured.
            if (hasToken(String(v), 'close')) this.close = true;
            continue;
          }
          if (k === 'keep-alive') continue;
          break;
        case 14:
          if (k === 'content-length') {
            const n = Number(Array.isArray(v) ? v[0] : v);
            if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`invalid content-length ${String(v)}`);
            length = n;
            out += `content-length: ${n}\r\n`;
            continue;
          }
          break;
        case 17:
          if (k === 'transfer-encoding') continue; // framing is derived below
          break;
        default:
      }
      if (!isToken(k)) throw new TypeError(`invalid response header name "${k}"`);
      if (typeof v === 'object') for (const x of v) out += headerLine(k, x);
      else out += headerLine(k, typeof v === 'string' ? v : String(v));
    }
    if (!hasDate) out += `date: ${httpDate()}\r\n`;
    this.noBody = this.isHeadRequest || status === 204 || status === 304 || status < 200;
    if (!this.noBody) {
      if (length >= 0) this.length = length;
      else if (this.minor === 1) {
        this.chunked = true;
        out += 'transfer-encoding: chunked\r\n';
      } else this.close = true; // HTTP/1.0 client: the body ends when the connection does
    }
    const conn = this.conn;
    // A body still arriving is read and dropped when it is short; otherwise the connection ends with this answer.
    if ((!conn.requestComplete && !conn.canDiscardBody) || conn.closing) this.close = true;
    if (this.close) out += 'connection: close\r\n\r\n';
    else out += this.minor === 0 ? 'connection: keep-alive\r\n\r\n' : '\r\n';
    this.head = out;
    this.headersSent = true;
    const ctx = this.ctx;
    if (ctx !== null) {
      ctx.status = status;
      ctx.sentHeaders = headers;
      if (ctx.onHead !== null) ctx.onHead(ctx);
    }
    // Sent with the first body piece when one follows in this turn, else on its own.
    flushQueue.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flushHeads);
    }
  }

  /** Send the head now if it is still waiting for a body piece. */
  flushHead(): void {
    const h = this.head;
    if (h === null || this.ended) return;
    this.head = null;
    this.conn.socket.write(h, 'latin1');
  }

  write(chunk: Buffer): boolean {
    if (this.ended) return false;
    if (!this.headersSent) this.writeHead(200, {});
    const n = chunk.length;
    if (this.ctx !== null) this.ctx.bytesOut += n;
    if (this.noBody || n === 0) {
      if (this.head !== null) this.flushHead();
      return !this.conn.socket.writableNeedDrain;
    }
    if (this.length >= 0) {
      this.written += n;
      if (this.written > this.length) {
        // More than announced would be read as the start of the next response.
        this.destroy(new Error('response body longer than its content-length'));
        return false;
      }
    }
    const head = this.head;
    this.head = null;
    if (this.chunked) return this.send(head === null ? `${n.toString(16)}\r\n` : `${head}${n.toString(16)}\r\n`, chunk, '\r\n');
    return head === null ? this.conn.socket.write(chunk) : this.send(head, chunk, '');
  }

  end(chunk?: Buffer | string): void {
    if (this.ended) return;
    let body: Buffer | null = null;
    if (chunk !== undefined) body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.headersSent) this.writeHead(200, { 'content-length': body === null ? 0 : body.length });
    const n = body === null ? 0 : body.length;
    if (this.ctx !== null) this.ctx.bytesOut += n;
    const head = this.head ?? '';
    this.head = null;
    const socket = this.conn.socket;
    if (this.noBody) {
      if (head !== '') socket.write(head, 'latin1');
    } else if (this.chunked) {
      const tail = this.trailers === '' ? LAST_CHUNK : `0\r\n${this.trailers}\r\n`;
      if (n > 0) this.send(`${head}${n.toString(16)}\r\n`, body!, `\r\n${tail}`);
      else socket.write(head + tail, 'latin1');
    } else {
      this.written += n;
      if (this.length >= 0 && this.written !== this.length) {
        // A body shorter or longer than announced: the client must not take it as complete.
        if (head !== '') socket.write(head, 'latin1');
        if (n > 0 && this.written <= this.length) socket.write(body!);
        this.destroy(new Error('response body does not match its content-length'));
        return;
      }
      if (n > 0) this.send(head, body!, '');
      else if (head !== '') socket.write(head, 'latin1');
    }
    this.ended = true;
    this.conn.responseDone(this);
  }

  /** prefix + chunk + suffix in one buffer when small, else corked writes (one writev). */
  private send(prefix: string, chunk: Buffer, suffix: string): boolean {
    const socket = this.conn.socket;
    const total = prefix.length + chunk.length + suffix.length;
    if (total <= COALESCE) {
      const out = Buffer.allocUnsafe(total);
      out.write(prefix, 0, 'latin1');
      chunk.copy(out, prefix.length);
      if (suffix.length > 0) out.write(suffix, prefix.length + chunk.length, 'latin1');
      return socket.write(out);
    }
    socket.cork();
    if (prefix.length > 0) socket.write(prefix, 'latin1');
    let ok = socket.write(chunk);
    if (suffix.length > 0) ok = socket.write(suffix, 'latin1');
    socket.uncork();
    return ok;
  }

  onDrain(cb: () => void): void {
    this.conn.waitDrain(cb);
  }

  get flushed(): boolean {
    return this.conn.socket.writableLength === 0;
  }

  destroy(_err?: Error): void {
    this.head = null;
    if (this.ended) return; // over, or detached by the connection (which answers on its own)
    this.ended = true;
    const socket = this.conn.socket;
    // A close-delimited body (HTTP/1.0 client, no content-length) ends when the connection
    // does: a FIN would read as its end, only a reset tells the client it was cut.
    if (this.headersSent && !this.noBody && !this.chunked && this.length < 0) socket.resetAndDestroy();
    else socket.destroy();
  }

  addTrailers(trailers: OutgoingHttpHeaders): void {
    if (!this.chunked) return; // only a chunked body can carry trailers
    let t = this.trailers;
    for (const k in trailers) {
      const v = trailers[k];
      if (v === undefined) continue;
      if (!isToken(k)) throw new TypeError(`invalid trailer name "${k}"`);
      if (typeof v === 'object') for (const x of v) t += headerLine(k, x);
      else t += headerLine(k, String(v));
    }
    this.trailers = t;
  }
}
