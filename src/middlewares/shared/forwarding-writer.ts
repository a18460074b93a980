import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../../server/context.js';

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

/** A header value as one string (`a, b` for repeated headers), '' when absent. */
export function headerString(v: string | string[] | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : v.join(', ');
}

/** Append a request header value the way Go's Header.Add does (a repeated header). */
export function addRequestHeader(headers: Record<string, string | string[] | undefined>, name: string, value: string): void {
  const cur = headers[name];
  if (cur === undefined) headers[name] = value;
  else if (typeof cur === 'string') headers[name] = [cur, value];
  else headers[name] = [...cur, value];
}
