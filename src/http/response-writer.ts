/**
 * The response writer interface (Go's http.ResponseWriter) and the wrapper
 * base every middleware that edits a response extends.
 */
import type { OutgoingHttpHeaders } from 'node:http';

/**
 * The response side of one exchange, as a middleware or service sees it.
 * Modelled on Go's http.ResponseWriter: a middleware that needs to observe or
 * change the response (headers, compress, errors, circuitBreaker, buffering)
 * replaces `ctx.rw` with a wrapper that forwards to the writer it replaced.
 * Header names are lower-case.
 */
export interface ResponseWriter {
  readonly headersSent: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): void;
  /** Returns false when the client is slow: wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): void;
  onDrain(cb: () => void): void;
  /** Abort the response: the client sees a reset / truncated chunked stream, never a clean end. */
  destroy(err?: Error): void;
  addTrailers(trailers: OutgoingHttpHeaders): void;
  /**
   * Implemented by writers that hand chunks straight to the client socket:
   * true when nothing written so far is still queued, i.e. no chunk passed to
   * `write` is referenced any more. The proxy then lends the upstream pool's
   * read memory instead of copying it (src/upstream/raw/). Wrappers that keep chunks
   * must not inherit it.
   */
  readonly flushed?: boolean;
}

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
