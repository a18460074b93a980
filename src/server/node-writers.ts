/**
 * Base response writers over node's own servers: NodeResponseWriter over a
 * node:http or node:http2 ServerResponse, SocketResponseWriter on the raw
 * socket of an upgrade request (answers written before any upgrade happens).
 * The gateway's own HTTP/1.1 server has its writer in h1/writer.ts.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { statusLine } from '../http1/reasons.js';
import { INVALID_VALUE_CHAR, isToken } from '../http1/tokens.js';

/** Base writer over a node ServerResponse. */
export class NodeResponseWriter implements ResponseWriter {
  ctx: RequestContext | null = null;
  constructor(readonly res: ServerResponse) {}
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    // node validates first: a refused head (sent twice, a bad value) leaves ctx.status alone.
    const ctx = this.ctx;
    // The backend's own reason phrase travels with its status (HTTP/1 only: HTTP/2 has none).
    if (ctx !== null && ctx.originReason !== '' && status === ctx.originStatus && ctx.req.httpVersionMajor === 1)
      this.res.writeHead(status, ctx.originReason, headers);
    else this.res.writeHead(status, headers);
    if (ctx !== null) {
      ctx.status = status;
      if (ctx.onHead !== null) ctx.onHead(ctx);
    }
  }
  write(chunk: Buffer): boolean {
    const ctx = this.ctx;
    if (ctx === null) return this.res.write(chunk);
    ctx.bytesOut += chunk.length;
    if (this.res.headersSent) return this.res.write(chunk);
    const ok = this.res.write(chunk);
    this.implicitHead(ctx);
    return ok;
  }
  end(chunk?: Buffer | string): void {
    const ctx = this.ctx;
    const implicit = ctx !== null && !this.res.headersSent;
    if (chunk !== undefined) {
      if (ctx !== null) ctx.bytesOut += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.res.end(chunk);
    } else this.res.end();
    if (implicit) this.implicitHead(ctx);
  }
  /** node wrote its implicit head with the first body piece: record it as writeHead does. */
  private implicitHead(ctx: RequestContext): void {
    ctx.status = this.res.statusCode;
    if (ctx.onHead !== null) ctx.onHead(ctx);
  }
  onDrain(cb: () => void): void {
    this.res.once('drain', cb);
  }
  destroy(err?: Error): void {
    const res = this.res;
    // An HTTP/1.0 client's body without chunked framing ends when the connection does: a FIN
    // would read as its end, only a reset tells the client the answer was cut.
    if (res.headersSent && !res.chunkedEncoding && res.req?.httpVersion === '1.0') res.socket?.resetAndDestroy();
    res.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    this.res.addTrailers(trailers as Record<string, string>);
  }
}

/**
 * Writes a raw HTTP/1.1 response on an upgrade socket (rejections before the
 * upgrade happens). The body is close-delimited unless a content-length is
 * given; names and values get the same checks as every head the gateway
 * writes (src/http1/tokens.ts).
 */
export class SocketResponseWriter implements ResponseWriter {
  headersSent = false;
  ctx: RequestContext | null = null;
  constructor(private readonly socket: Duplex) {}
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    if (this.headersSent) throw new Error('response head already written');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    let head = `${statusLine(status)}connection: close\r\n`;
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined || k === 'connection' || k === 'transfer-encoding') continue;
      if (!isToken(k)) throw new TypeError(`invalid response header name "${k}"`);
      for (const x of Array.isArray(v) ? v : [v]) {
        const value = String(x);
        if (INVALID_VALUE_CHAR.test(value)) throw new TypeError(`invalid character in the value of response header "${k}"`);
        head += `${k}: ${value}\r\n`;
      }
    }
    this.headersSent = true;
    const ctx = this.ctx;
    if (ctx !== null) ctx.status = status;
    this.socket.write(head + '\r\n');
    if (ctx !== null && ctx.onHead !== null) ctx.onHead(ctx);
  }
  write(chunk: Buffer): boolean {
    if (!this.headersSent) this.writeHead(200, {});
    if (this.ctx !== null) this.ctx.bytesOut += chunk.length;
    return this.socket.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    const n = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (!this.headersSent) this.writeHead(200, { 'content-length': n });
    if (this.ctx !== null) this.ctx.bytesOut += n;
    if (chunk !== undefined) this.socket.end(chunk);
    else this.socket.end();
  }
  onDrain(cb: () => void): void {
    this.socket.once('drain', cb);
  }
  destroy(): void {
    const s = this.socket as Duplex & Partial<Pick<Socket, 'resetAndDestroy'>>;
    // The body ends with the connection: after the head, only a reset tells the client it was cut.
    if (this.headersSent && s.resetAndDestroy !== undefined) s.resetAndDestroy();
    else s.destroy();
  }
  addTrailers(): void {}
}
