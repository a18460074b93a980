/** Base response writers over node's own servers (node:http, node:http2). */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { RequestContext } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';

/** Base writer over a node ServerResponse. */
export class NodeResponseWriter implements ResponseWriter {
  ctx: RequestContext | null = null;
  constructor(readonly res: ServerResponse) {}
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const ctx = this.ctx;
    if (ctx !== null) ctx.status = status;
    this.res.writeHead(status, headers);
    if (ctx !== null && ctx.onHead !== null) ctx.onHead(ctx);
  }
  write(chunk: Buffer): boolean {
    if (this.ctx !== null) this.ctx.bytesOut += chunk.length;
    return this.res.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (chunk !== undefined) {
      if (this.ctx !== null) this.ctx.bytesOut += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.res.end(chunk);
    } else this.res.end();
  }
  onDrain(cb: () => void): void {
    this.res.once('drain', cb);
  }
  destroy(err?: Error): void {
    this.res.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    this.res.addTrailers(trailers as Record<string, string>);
  }
}

