/**
 * Response writers of the errors middleware: CodeCatcher sits in front of the
 * next handler and swallows a response whose status is watched; Capture
 * records the error service's answer (bounded) for re-sending.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../../http/response-writer.js';
import { inRanges, type CodeRanges } from './status-ranges.js';

export class CodeCatcher implements ResponseWriter {
  caught = false;
  code = 0;
  private passed = false;
  private fired = false;

  constructor(
    private readonly inner: ResponseWriter,
    private readonly ranges: CodeRanges,
    private readonly onCaught: (code: number) => void,
  ) {}

  get headersSent(): boolean {
    return this.caught || this.inner.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    if (this.caught || this.passed) return;
    if (inRanges(this.ranges, status)) {
      this.caught = true;
      this.code = status;
      return;
    }
    this.passed = true;
    this.inner.writeHead(status, headers);
  }
  write(chunk: Buffer): boolean {
    return this.caught ? true : this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (this.caught) this.fire();
    else this.inner.end(chunk);
  }
  onDrain(cb: () => void): void {
    if (this.caught) setImmediate(cb);
    else this.inner.onDrain(cb);
  }
  destroy(err?: Error): void {
    // A failure after a watched status still gets the error page.
    if (this.caught) this.fire();
    else this.inner.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    if (!this.caught) this.inner.addTrailers(trailers);
  }
  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.onCaught(this.code);
  }
}

/** Records status, headers and up to `limit` body bytes; `done` once on end (ok) or failure. */
export class Capture implements ResponseWriter {
  status = 200;
  headers: OutgoingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private finished = false;
  private sent = false;

  constructor(
    private readonly limit: number,
    private readonly done: (ok: boolean, body: Buffer) => void,
  ) {}

  get headersSent(): boolean {
    return this.sent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.sent = true;
    this.status = status;
    this.headers = headers;
  }
  write(chunk: Buffer): boolean {
    this.sent = true;
    this.size += chunk.length;
    if (this.size > this.limit) this.finish(false);
    else if (!this.finished) this.chunks.push(chunk);
    return true;
  }
  end(chunk?: Buffer | string): void {
    if (chunk !== undefined) this.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.finish(true);
  }
  onDrain(cb: () => void): void {
    setImmediate(cb);
  }
  destroy(): void {
    this.finish(false);
  }
  addTrailers(): void {}
  finish(ok: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.done(ok, ok ? Buffer.concat(this.chunks) : Buffer.alloc(0));
  }
}
