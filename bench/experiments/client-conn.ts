/**
 * Fast-path study: one downstream connection over a raw `net` socket, shared
 * by the llhttp (a) and the JS-parser (b) prototypes. The subclass parses and
 * calls request() / reqData() / reqEnd(); this class runs the exchanges one at
 * a time in order (pipelined requests wait in a short queue, the socket is
 * paused meanwhile), streams bodies both ways with back-pressure, and writes
 * each response head together with the first body piece in one write.
 */
import type { Socket } from 'node:net';
import { Body, chunkPrefix, downstreamHead, errorResponse, LAST_CHUNK, upstreamHead, type ProxyRequest } from './http-shared.js';
import type { UpstreamConn, UpstreamOwner, UpstreamPool } from './upstream-raw.js';

const IDLE_MS = 60_000;
/** Head + body up to this size are copied into one buffer (one send); larger ones go out as writev. */
const COALESCE = 4 * 1024;

interface Queued {
  req: ProxyRequest;
  chunks: Buffer[];
  ended: boolean;
}

export abstract class ClientConn implements UpstreamOwner {
  protected readonly clientIp: string;
  private active: ProxyRequest | null = null;
  private queue: Queued[] | null = null;
  private up: UpstreamConn | null = null;
  /** Body pieces that arrived before an upstream connection was attached. */
  private early: Buffer[] | null = null;
  private reqEnded = false;
  private respDone = false;
  private close = false;
  private outHead: string | null = null;
  private outChunked = false;
  private closed = false;
  private readonly gotUpstream = (c: UpstreamConn): void => this.attach(c);

  constructor(protected readonly socket: Socket, private readonly pool: UpstreamPool) {
    const ip = socket.remoteAddress ?? '';
    this.clientIp = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS);
    socket.on('data', (b: Buffer) => this.parse(b));
    socket.on('drain', () => this.up?.resume());
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('end', () => this.onClientEnd());
    socket.on('close', () => this.onClose());
  }

  protected abstract parse(b: Buffer): void;
  /** Called when the connection closes (free native resources). */
  protected abstract dispose(): void;

  /** Refuse a malformed request and close (the byte stream can no longer be trusted). */
  protected reject(status: number): void {
    if (this.active === null && !this.closed) this.socket.end(errorResponse(status), 'latin1');
    else this.socket.destroy();
    this.closed = true;
  }

  protected request(req: ProxyRequest): void {
    if (this.closed) return;
    if (this.active !== null || this.queue !== null) {
      (this.queue ??= []).push({ req, chunks: [], ended: req.body === Body.None });
      this.socket.pause(); // at most one read buffer of pipelined bytes is held
      if (this.queue.length > 32) this.reject(400);
      return;
    }
    this.begin(req, null);
  }

  protected reqData(chunk: Buffer): void {
    const q = this.queue;
    if (q !== null) {
      q[q.length - 1]!.chunks.push(Buffer.from(chunk)); // copy: the parser may reuse its input
      return;
    }
    const up = this.up;
    if (up === null) {
      (this.early ??= []).push(Buffer.from(chunk));
      this.socket.pause();
      return;
    }
    if (!this.sendBody(up, chunk)) this.socket.pause();
  }

  protected reqEnd(): void {
    const q = this.queue;
    if (q !== null) {
      q[q.length - 1]!.ended = true;
      return;
    }
    this.reqEnded = true;
    const up = this.up;
    if (up !== null) {
      if (this.active!.body === Body.Chunked) up.write(LAST_CHUNK);
      up.requestDone();
    }
  }

  private begin(req: ProxyRequest, queued: Queued | null): void {
    this.active = req;
    this.respDone = false;
    this.reqEnded = req.body === Body.None;
    this.close = !req.keepAlive;
    if (queued !== null && queued.chunks.length > 0) this.early = queued.chunks;
    if (queued !== null) this.reqEnded = queued.ended;
    this.pool.acquire(this.gotUpstream);
  }

  private attach(up: UpstreamConn): void {
    const req = this.active;
    if (req === null || this.closed) {
      up.destroy();
      return;
    }
    this.up = up;
    up.start(this, upstreamHead(req, this.clientIp), req.method === 'HEAD', req.body === Body.None);
    const early = this.early;
    if (early !== null) {
      this.early = null;
      for (const c of early) this.sendBody(up, c);
      this.socket.resume();
    }
    if (this.reqEnded && req.body !== Body.None) {
      if (req.body === Body.Chunked) up.write(LAST_CHUNK);
      up.requestDone();
    }
  }

  private sendBody(up: UpstreamConn, chunk: Buffer): boolean {
    if (this.active!.body !== Body.Chunked) return up.write(chunk);
    up.write(chunkPrefix(chunk.length));
    up.write(chunk);
    return up.write('\r\n');
  }

  // ---- UpstreamOwner ----

  upHead(status: number, headers: string[], body: Body, contentLength: number): void {
    const req = this.active!;
    if (!this.reqEnded) this.close = true; // answered before the request body ended: cannot resync
    if (body === Body.UntilClose && req.http10) this.close = true;
    const noBody = req.method === 'HEAD' || status === 204 || status === 304;
    this.outChunked = body === Body.Chunked || (body === Body.UntilClose && !req.http10);
    this.outHead = downstreamHead(status, headers, body, contentLength, this.close, req.http10, noBody);
  }

  upData(chunk: Buffer): void {
    const head = this.outHead;
    let ok: boolean;
    if (this.outChunked) {
      const prefix = head === null ? chunkPrefix(chunk.length) : head + chunkPrefix(chunk.length);
      ok = this.send(prefix, chunk, '\r\n');
    } else ok = head === null ? this.socket.write(chunk) : this.send(head, chunk, '');
    this.outHead = null;
    if (!ok) this.up?.pause();
  }

  /** prefix + chunk + suffix as one buffer when small, else corked writes (one writev). */
  private send(prefix: string, chunk: Buffer, suffix: string): boolean {
    const total = prefix.length + chunk.length + suffix.length;
    if (total <= COALESCE) {
      const out = Buffer.allocUnsafe(total);
      out.latin1Write(prefix, 0);
      chunk.copy(out, prefix.length);
      if (suffix.length > 0) out.latin1Write(suffix, prefix.length + chunk.length);
      return this.socket.write(out);
    }
    this.socket.cork();
    this.socket.write(prefix, 'latin1');
    this.socket.write(chunk);
    const ok = suffix.length > 0 ? this.socket.write(suffix, 'latin1') : this.socket.writableLength < this.socket.writableHighWaterMark;
    this.socket.uncork();
    return ok;
  }

  upFlush(): void {
    const head = this.outHead;
    if (head !== null && !this.respDone) {
      this.outHead = null;
      this.socket.write(head, 'latin1');
    }
  }

  upEnd(): void {
    const head = this.outHead;
    this.outHead = null;
    const tail = this.outChunked ? LAST_CHUNK : '';
    const out = head === null ? tail : head + tail;
    if (out !== '') this.socket.write(out, 'latin1');
    this.respDone = true;
    this.up = null;
    this.next();
  }

  upError(_err: Error, started: boolean): void {
    this.up = null;
    if (!started && this.outHead === null && !this.closed) {
      this.closed = true;
      this.socket.end(errorResponse(502), 'latin1');
    } else this.socket.destroy();
  }

  upDrain(): void {
    this.socket.resume();
  }

  private next(): void {
    this.active = null;
    if (this.close) {
      this.closed = true;
      this.socket.end();
      return;
    }
    const q = this.queue;
    if (q !== null) {
      const n = q.shift()!;
      if (q.length === 0) this.queue = null;
      this.begin(n.req, n);
    }
    if (this.queue === null) this.socket.resume();
  }

  private onClientEnd(): void {
    // half-close from the client: finish the exchange in flight, then close
    if (this.active === null) this.socket.end();
    else this.close = true;
  }

  private onClose(): void {
    this.closed = true;
    const up = this.up;
    this.up = null;
    if (up !== null) up.destroy(); // client gone mid-exchange: abort upstream
    this.active = null;
    this.queue = null;
    this.dispose();
  }
}
