/**
 * Fast-path study: upstream side over raw `net` sockets. A keep-alive pool
 * (LIFO idle stack, max connections, FIFO waiters) of connections that each
 * run one exchange at a time; responses parsed either with Node's llhttp
 * binding or with the strict JS head parser + chunked decoder.
 */
import { connect, type Socket } from 'node:net';
import { Body, ChunkedDecoder } from './http-shared.js';
import { parseResponseHead } from './js-head-parser.js';
import { llhttp, type NativeParser } from './llhttp.js';

/** Whoever runs an exchange on an upstream connection. */
export interface UpstreamOwner {
  upHead(status: number, headers: string[], body: Body, contentLength: number): void;
  upData(chunk: Buffer): void;
  upEnd(): void;
  /** started: response bytes were already handed to the owner. */
  upError(err: Error, started: boolean): void;
  /** End of one upstream read: flush anything batched. */
  upFlush(): void;
  /** The upstream socket drained (request body back-pressure). */
  upDrain(): void;
}

export type ParserKind = 'llhttp' | 'js';
const MAX_HEAD = 64 * 1024;
const TIMEOUT_MS = 30_000;

export class UpstreamConn {
  readonly socket: Socket;
  owner: UpstreamOwner | null = null;
  private isHead = false;
  private started = false;
  private reqDone = false;
  private dead = false;
  // JS parser state
  private state = 0; // 0 head, 1 length, 2 chunked, 3 until close
  private pending: Buffer | null = null;
  private remaining = 0;
  private readonly chunked = new ChunkedDecoder();
  // llhttp state
  private readonly native: NativeParser | null;
  private nativeHeaders: string[] = [];
  private readonly onChunkData: (c: Buffer) => void;

  constructor(private readonly pool: UpstreamPool, host: string, port: number, kind: ParserKind) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.setTimeout(TIMEOUT_MS);
    this.socket.on('data', (b: Buffer) => this.onData(b));
    this.socket.on('drain', () => this.owner?.upDrain());
    this.socket.on('error', (e: Error) => this.fail(e));
    this.socket.on('timeout', () => this.fail(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.fail(new Error('upstream closed')));
    this.onChunkData = (c: Buffer) => this.owner?.upData(c);
    this.native = kind === 'llhttp' ? this.makeNative() : null;
  }

  /** Start an exchange: the request head (and possibly a first body piece) in one write. */
  start(owner: UpstreamOwner, head: string, isHead: boolean, reqDone: boolean): void {
    this.owner = owner;
    this.isHead = isHead;
    this.started = false;
    this.reqDone = reqDone;
    if (this.socket.isPaused()) this.socket.resume(); // the last owner may have left it paused (back-pressure)
    this.socket.write(head, 'latin1');
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk as Buffer);
  }

  requestDone(): void {
    this.reqDone = true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.owner = null;
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.pool.forget(this);
  }

  private fail(err: Error): void {
    const o = this.owner;
    this.owner = null;
    if (!this.dead) {
      this.dead = true;
      this.socket.destroy();
      this.pool.forget(this);
    }
    if (o !== null) o.upError(err, this.started);
  }

  private onEnd(): void {
    if (this.native !== null) {
      const r = this.native.finish();
      if (r instanceof Error) return this.fail(r);
    } else if (this.state === 3 && this.owner !== null) {
      this.state = 0;
      this.complete(false);
      return;
    }
    this.fail(new Error('upstream closed'));
  }

  private complete(reusable: boolean): void {
    const o = this.owner;
    this.owner = null;
    if (o !== null) o.upEnd();
    if (reusable && this.reqDone && !this.dead) this.pool.release(this);
    else if (!this.dead) this.destroy();
  }

  private onData(b: Buffer): void {
    const owner = this.owner;
    if (owner === null) {
      this.fail(new Error('unexpected upstream data')); // bytes with no exchange: never reuse
      return;
    }
    if (this.native !== null) {
      const r = this.native.execute(b);
      if (typeof r !== 'number') return this.fail(r);
    } else this.parseJs(b);
    owner.upFlush();
  }

  private parseJs(b: Buffer): void {
    let i = 0;
    while (i < b.length && this.owner !== null) {
      if (this.state === 0) {
        let buf = b;
        let from = i;
        if (this.pending !== null) {
          buf = Buffer.concat([this.pending, b.subarray(i)]);
          from = 0;
          i = b.length;
        }
        const e = buf.indexOf('\r\n\r\n', from, 'latin1');
        if (e < 0) {
          if (buf.length - from > MAX_HEAD) return this.fail(new Error('upstream head too large'));
          this.pending = buf === b ? Buffer.from(b.subarray(from)) : buf;
          return;
        }
        this.pending = null;
        const h = parseResponseHead(buf.latin1Slice(from, e), this.isHead);
        if (h === null) return this.fail(new Error('invalid upstream response'));
        const next = e + 4;
        // leftover of a concatenated buffer continues as `b`
        if (buf !== b) {
          b = buf;
        }
        i = next;
        if (h.status < 200) continue; // 1xx: dropped, the final answer follows
        this.started = true;
        this.owner.upHead(h.status, h.headers, h.body, h.contentLength);
        if (h.body === Body.None) {
          this.complete(h.keepAlive);
          if (i < b.length) this.fail(new Error('extra upstream bytes'));
          return;
        }
        this.state = h.body === Body.Length ? 1 : h.body === Body.Chunked ? 2 : 3;
        this.remaining = h.contentLength;
        this.keepAlive = h.keepAlive;
        if (this.state === 2) this.chunked.reset();
      } else if (this.state === 1) {
        const n = Math.min(this.remaining, b.length - i);
        this.owner.upData(i === 0 && n === b.length ? b : b.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          this.state = 0;
          this.complete(this.keepAlive);
          if (i < b.length) this.fail(new Error('extra upstream bytes'));
          return;
        }
      } else if (this.state === 2) {
        const at = this.chunked.feed(b, i, this.onChunkData);
        if (at < 0) return this.fail(new Error(`upstream chunked: ${this.chunked.error ?? ''}`));
        i = at;
        if (this.chunked.done) {
          this.state = 0;
          this.complete(this.keepAlive);
          if (i < b.length) this.fail(new Error('extra upstream bytes'));
          return;
        }
      } else {
        this.owner.upData(i === 0 ? b : b.subarray(i));
        return;
      }
    }
  }

  private keepAlive = true;

  private makeNative(): NativeParser {
    const { HTTPParser } = llhttp();
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, MAX_HEAD, HTTPParser.kLenientNone);
    p[HTTPParser.kOnHeaders] = (headers: string[]) => {
      for (const x of headers) this.nativeHeaders.push(x);
    };
    p[HTTPParser.kOnHeadersComplete] = (
      _maj: number, _min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, _sm: string, _upg: boolean, ka: boolean,
    ): number => {
      if (headers === undefined) {
        headers = this.nativeHeaders;
        this.nativeHeaders = [];
      }
      if (status < 200) return 0; // 1xx: llhttp reports the final answer as its own message
      this.keepAlive = ka;
      let body = Body.UntilClose;
      let cl = 0;
      if (this.isHead || status === 204 || status === 304) body = Body.None;
      else {
        for (let i = 0; i < headers.length; i += 2) {
          const n = headers[i]!.toLowerCase();
          if (n === 'content-length') {
            cl = Number(headers[i + 1]);
            body = cl === 0 ? Body.None : Body.Length;
          } else if (n === 'transfer-encoding' && headers[i + 1]!.toLowerCase().endsWith('chunked')) body = Body.Chunked;
        }
      }
      this.started = true;
      this.owner?.upHead(status, headers, body, cl);
      return this.isHead ? 1 : 0;
    };
    p[HTTPParser.kOnBody] = (b: Buffer) => this.owner?.upData(b);
    p[HTTPParser.kOnMessageComplete] = () => {
      if (this.started) this.complete(this.keepAlive);
    };
    return p;
  }
}

export class UpstreamPool {
  private readonly idle: UpstreamConn[] = [];
  private readonly waiters: Array<(c: UpstreamConn) => void> = [];
  private count = 0;
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly kind: ParserKind,
    private readonly max = 128,
  ) {}

  /** cb runs synchronously when a connection is free, else later (FIFO). */
  acquire(cb: (c: UpstreamConn) => void): void {
    const c = this.idle.pop();
    if (c !== undefined) return cb(c);
    if (this.count < this.max) {
      this.count++;
      return cb(new UpstreamConn(this, this.host, this.port, this.kind));
    }
    this.waiters.push(cb);
  }

  release(c: UpstreamConn): void {
    const w = this.waiters.shift();
    if (w !== undefined) w(c);
    else this.idle.push(c);
  }

  forget(c: UpstreamConn): void {
    this.count--;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const w = this.waiters.shift();
    if (w !== undefined) {
      this.count++;
      w(new UpstreamConn(this, this.host, this.port, this.kind));
    }
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
