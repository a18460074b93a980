import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from './context.js';

/**
 * A ResponseWriter that forwards everything to the writer it wraps (Go's
 * ResponseWriter-wrapping style). Subclasses override the calls they change,
 * typically `writeHead` to edit response headers.
 */
export class ForwardingWriter implements ResponseWriter {
  constructor(protected readonly inner: ResponseWriter) {}
  get headersSent(): boolean {
    return this.inner.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.inner.writeHead(status, headers);
  }
  write(chunk: Buffer): boolean {
    return this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    this.inner.end(chunk);
  }
  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }
  destroy(err?: Error): void {
    this.inner.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    this.inner.addTrailers(trailers);
  }
}
