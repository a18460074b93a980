/**
 * Response writer that holds the whole response and sends it with an exact
 * Content-Length. Past `memBytes` with no maximum it stops holding and streams
 * the rest (Traefik spills to disk instead); past `maxBytes` the client gets
 * 500 and the backend's body is discarded.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../../http/response-writer.js';
import { ForwardingWriter } from '../../http/response-writer.js';

export class BufferingWriter extends ForwardingWriter {
  private headWritten = false;
  private status = 0;
  private head: OutgoingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private streaming = false;
  private tooLarge = false;

  constructor(
    inner: ResponseWriter,
    private readonly maxBytes: number,
    private readonly memBytes: number,
    /** Told when the response was over the limit (the exchange records GH_RESPONSE_TOO_LARGE). */
    private readonly onTooLarge: () => void = () => undefined,
  ) {
    super(inner);
  }

  override get headersSent(): boolean {
    return this.headWritten || this.inner.headersSent;
  }

  override writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.headWritten = true;
    this.status = status;
    this.head = headers;
  }

  override write(chunk: Buffer): boolean {
    if (this.streaming) return this.inner.write(chunk);
    if (this.tooLarge) return true;
    this.size += chunk.length;
    if (this.maxBytes > 0 && this.size > this.maxBytes) {
      this.tooLarge = true;
      this.chunks = [];
      return true;
    }
    this.chunks.push(chunk);
    if (this.maxBytes === 0 && this.size > this.memBytes) {
      // No limit configured: stop holding, stream what we have and the rest.
      this.streaming = true;
      delete this.head['content-length'];
      this.inner.writeHead(this.status, this.head);
      let ok = true;
      for (const c of this.chunks) ok = this.inner.write(c);
      this.chunks = [];
      return ok;
    }
    return true;
  }

  override end(chunk?: Buffer | string): void {
    if (this.streaming) {
      this.inner.end(chunk);
      return;
    }
    if (chunk !== undefined) this.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (this.streaming) {
      this.inner.end();
      return;
    }
    if (this.tooLarge) {
      this.onTooLarge();
      const body = Buffer.from('Internal Server Error');
      this.inner.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
      this.inner.end(body);
      return;
    }
    const body = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    const head = this.head;
    delete head['transfer-encoding'];
    if (this.status !== 204 && this.status !== 304 && !(this.status >= 100 && this.status < 200)) head['content-length'] = body.length;
    this.inner.writeHead(this.headWritten ? this.status : 200, head);
    this.inner.end(body);
  }

  override onDrain(cb: () => void): void {
    if (this.streaming) this.inner.onDrain(cb);
    else setImmediate(cb);
  }

  /** Trailers cannot follow a body sent with Content-Length: dropped unless streaming. */
  override addTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.streaming) this.inner.addTrailers(trailers);
  }
}
