/**
 * A ResponseWriter that forwards everything to the writer it wraps and calls
 * `onDone(status, aborted)` exactly once, when the response ends or is
 * destroyed. Used by inFlightReq (release a slot) and circuitBreaker (record
 * status and latency).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../../http/response-writer.js';

export class DoneWriter implements ResponseWriter {
  status = 0;
  private done = false;

  constructor(
    private readonly inner: ResponseWriter,
    private readonly onDone: (status: number, aborted: boolean) => void,
  ) {}

  get headersSent(): boolean {
    return this.inner.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.status = status;
    this.inner.writeHead(status, headers);
  }
  write(chunk: Buffer): boolean {
    return this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    this.inner.end(chunk);
    this.finish(false);
  }
  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }
  destroy(err?: Error): void {
    this.inner.destroy(err);
    this.finish(true);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    this.inner.addTrailers(trailers);
  }
  private finish(aborted: boolean): void {
    if (this.done) return;
    this.done = true;
    this.onDone(this.status, aborted);
  }
}
