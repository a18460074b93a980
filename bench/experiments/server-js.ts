/**
 * Prototype (b): raw `net` downstream with the strict JS head parser and a
 * JS body framer (Content-Length slices, strict chunked decoder), upstream over
 * the raw pool.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Body, ChunkedDecoder } from './http-shared.js';
import { ClientConn } from './client-conn.js';
import { parseRequestHead } from './js-head-parser.js';
import type { UpstreamPool } from './upstream-raw.js';

const MAX_HEADER = 16 * 1024;

class JsConn extends ClientConn {
  private state = 0; // 0 head, 1 length body, 2 chunked body, 9 dead
  private pending: Buffer | null = null;
  private remaining = 0;
  private readonly chunked = new ChunkedDecoder();
  private readonly onChunk = (c: Buffer): void => this.reqData(c);

  constructor(socket: Socket, pool: UpstreamPool) {
    super(socket, pool);
  }

  protected parse(input: Buffer): void {
    let b = input;
    let i = 0;
    if (this.pending !== null) {
      b = Buffer.concat([this.pending, input]);
      this.pending = null;
    }
    while (i < b.length && this.state !== 9) {
      if (this.state === 0) {
        const e = b.indexOf('\r\n\r\n', i, 'latin1');
        if (e < 0 || e - i > MAX_HEADER) {
          if (b.length - i > MAX_HEADER) return this.fail(431);
          this.pending = Buffer.from(b.subarray(i)); // keep only the partial head
          return;
        }
        const r = parseRequestHead(b.latin1Slice(i, e));
        if (typeof r === 'number') return this.fail(r);
        i = e + 4;
        this.request(r);
        if (r.body === Body.Length) {
          this.state = 1;
          this.remaining = r.contentLength;
        } else if (r.body === Body.Chunked) {
          this.state = 2;
          this.chunked.reset();
        }
      } else if (this.state === 1) {
        const n = Math.min(this.remaining, b.length - i);
        this.reqData(b.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          this.state = 0;
          this.reqEnd();
        }
      } else {
        const at = this.chunked.feed(b, i, this.onChunk);
        if (at < 0) return this.fail(400);
        i = at;
        if (this.chunked.done) {
          this.state = 0;
          this.reqEnd();
        }
      }
    }
  }

  private fail(status: number): void {
    this.state = 9;
    this.pending = null;
    this.reject(status);
  }

  protected dispose(): void {
    this.pending = null;
  }
}

export function createJsProxy(pool: UpstreamPool): Server {
  return createServer({ noDelay: true, highWaterMark: 64 * 1024 }, (s) => new JsConn(s, pool));
}
