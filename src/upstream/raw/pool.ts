/**
 * HTTP/1.1 upstream pool over raw `net` sockets for plain `http://` origins:
 * a drop-in for undici's `Pool.dispatch` with undici 7's handler API, without
 * undici's per-chunk copies and callbacks (docs/fast-path-study.md). It plays
 * undici's `pool.js` over three layers of its own, as undici splits its
 * dispatchers: this pool (LIFO idle stack, FIFO waiters beyond `connections`,
 * close versus destroy), connection.ts (one socket, the response parser) and
 * exchange.ts (one request, the handler's controller); the request head is
 * written by src/http1/request-writer.ts. Upgrade requests (WebSocket) go to a
 * lazily created undici Pool, which handles 101 and the handover of the socket.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { requestHead } from '../../http1/request-writer.js';
import { Connection, type ConnectionPool } from './connection.js';
import { RawPoolError, toError } from './errors.js';
import { Exchange, type ExchangeQueue } from './exchange.js';

export { RawPoolError, type RawPoolErrorCode } from './errors.js';
export type { ViewDataHandler } from './exchange.js';

export interface RawPoolOptions {
  /** Max connections to the origin, active and idle (queued FIFO beyond); Infinity for no cap. */
  connections: number;
  /**
   * Idle keep-alive connections kept (Traefik's `maxIdleConnsPerHost`, Go's
   * `Transport.MaxIdleConnsPerHost`): a connection freed beyond this many idle
   * ones is closed. It does not limit active connections. Default: no limit.
   */
  maxIdle?: number;
  /** Idle keep-alive connections are closed after this many ms (also capped by the origin's `Keep-Alive: timeout=N` hint minus 1 s, as undici does). */
  keepAliveTimeout: number;
  /** ms to establish a TCP connection; error code UND_ERR_CONNECT_TIMEOUT. */
  connectTimeout: number;
}

/** How often idle connections past their keep-alive limit are closed. */
const SWEEP_MS = 1000;
const IDEMPOTENT: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  GET: true,
  HEAD: true,
  OPTIONS: true,
  TRACE: true,
  PUT: true,
  DELETE: true,
});
/** undici's default when a request sets no headers timeout (or 0). */
const DEFAULT_HEADERS_TIMEOUT = 300_000;
/** undici's default body timeout when a request sets none (0 disables it). */
const DEFAULT_BODY_TIMEOUT = 300_000;
/** A Buffer body up to this size is copied behind the head: one write, one packet. */
const COALESCE_LIMIT = 8 * 1024;

export class RawPool implements ConnectionPool, ExchangeQueue {
  /** Connect address (IPv6 without brackets) and port. */
  readonly hostname: string;
  readonly port: number;
  /** host[:port] for the Host header and messages. */
  readonly host: string;
  private readonly idle: Connection[] = [];
  private readonly queue: Exchange[] = [];
  private readonly conns = new Set<Connection>();
  private closing = false;
  private destroyed = false;
  private readonly closeWaiters: Array<() => void> = [];
  private upgrades: Pool | null = null;
  /** Closes idle connections past their keep-alive limit (runs while some are idle). */
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly origin: URL,
    readonly opts: RawPoolOptions,
  ) {
    if (origin.protocol !== 'http:') throw new TypeError(`RawPool serves http: origins only, not ${origin.protocol}`);
    const hn = origin.hostname;
    this.hostname = hn.startsWith('[') ? hn.slice(1, -1) : hn;
    this.port = origin.port === '' ? 80 : Number(origin.port);
    this.host = origin.host;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closing) {
      refuse(
        handler,
        this.destroyed
          ? new RawPoolError('UND_ERR_DESTROYED', 'the pool is destroyed')
          : new RawPoolError('UND_ERR_CLOSED', 'the pool is closed'),
      );
      return false;
    }
    if (opts.upgrade !== null && opts.upgrade !== undefined && opts.upgrade !== false) {
      if (this.upgrades === null) {
        const o = this.opts;
        this.upgrades = new Pool(this.origin.origin, {
          connections: Number.isFinite(o.connections) ? o.connections : null,
          keepAliveTimeout: o.keepAliveTimeout,
          connectTimeout: o.connectTimeout,
        });
      }
      return this.upgrades.dispatch(opts, handler);
    }
    let ex: Exchange;
    try {
      ex = this.exchange(opts, handler);
    } catch (err) {
      refuse(handler, toError(err));
      return false;
    }
    const c = this.takeIdle();
    if (c !== null) c.run(ex);
    else if (this.conns.size < this.opts.connections) this.open(ex);
    else {
      ex.queued = true;
      this.queue.push(ex);
    }
    return true;
  }

  /** The most recently used idle connection still within its keep-alive limit. */
  private takeIdle(): Connection | null {
    const idle = this.idle;
    if (idle.length === 0) return null;
    const now = Date.now();
    for (;;) {
      const c = idle.pop();
      if (c === undefined) return null;
      if (!c.expired(now)) return c;
      c.drop();
    }
  }

  private sweep(): void {
    const now = Date.now();
    // Oldest first: the stack's bottom went idle first.
    while (this.idle.length > 0 && this.idle[0]!.expired(now)) this.idle.shift()!.drop();
    if (this.idle.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Graceful: new dispatches fail, in-flight exchanges finish, idle sockets close; resolves when all are gone. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of this.idle.splice(0)) c.drop();
    const done = this.conns.size === 0 && this.queue.length === 0 ? Promise.resolve() : new Promise<void>((r) => this.closeWaiters.push(r));
    await Promise.all([done, this.upgrades?.close()]);
  }

  /** Everything closed now; in-flight exchanges get onResponseError. */
  async destroy(): Promise<void> {
    this.closing = true;
    this.destroyed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    const err = new RawPoolError('UND_ERR_DESTROYED', 'the pool is destroyed');
    for (const ex of this.queue.splice(0)) {
      ex.queued = false;
      ex.fail(err);
    }
    for (const c of [...this.conns]) c.kill(err);
    await this.upgrades?.destroy();
  }

  /** A connection finished an exchange and may be reused. */
  release(c: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      next.queued = false;
      c.run(next);
    } else if (this.closing || this.idle.length >= (this.opts.maxIdle ?? Infinity)) c.drop();
    else {
      c.goIdle();
      this.idle.push(c);
      if (this.sweeper === null) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
        this.sweeper.unref();
      }
    }
  }

  /** A connection is gone. `retry`: an exchange to replay on a fresh connection, in the slot just freed. */
  forget(c: Connection, retry: Exchange | null): void {
    this.conns.delete(c);
    if (c.idle) {
      const i = this.idle.lastIndexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
    }
    if (retry !== null) this.open(retry);
    while (this.queue.length > 0 && this.conns.size < this.opts.connections) {
      const ex = this.queue.shift()!;
      ex.queued = false;
      this.open(ex);
    }
    if (this.closing && this.conns.size === 0 && this.queue.length === 0) {
      for (const r of this.closeWaiters.splice(0)) r();
    }
  }

  dequeue(ex: Exchange): void {
    ex.queued = false;
    const i = this.queue.indexOf(ex);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private open(ex: Exchange): void {
    this.conns.add(new Connection(this, ex));
  }

  private exchange(o: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): Exchange {
    const body = o.body;
    let bytes: Buffer | null = null;
    let stream: Readable | null = null;
    if (body === null || body === undefined) bytes = null;
    else if (typeof body === 'string') bytes = Buffer.from(body);
    else if (body instanceof Uint8Array) bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    else if (body instanceof Readable) stream = body;
    else throw new TypeError('unsupported request body type');
    const { head, declared } = requestHead(o, this.host, bytes === null ? (stream === null ? 0 : -1) : bytes.length, stream !== null);
    let out: string | Buffer = head;
    let payload: Buffer | null = null;
    if (bytes !== null && bytes.length > 0) {
      if (bytes.length <= COALESCE_LIMIT) {
        // One buffer, one write, one packet: the head is latin1, one byte per char.
        const buf = Buffer.allocUnsafe(head.length + bytes.length);
        buf.write(head, 0, 'latin1');
        bytes.copy(buf, head.length);
        out = buf;
      } else payload = bytes;
    }
    const ht = o.headersTimeout;
    const bt = o.bodyTimeout;
    return new Exchange(
      this,
      handler,
      out,
      payload,
      stream,
      declared,
      o.method === 'HEAD',
      IDEMPOTENT[o.method] === true,
      ht === null || ht === undefined || ht === 0 ? DEFAULT_HEADERS_TIMEOUT : ht,
      bt === null || bt === undefined ? DEFAULT_BODY_TIMEOUT : bt,
    );
  }
}

/** Fail a dispatch that never got an exchange of its own (pool closed, invalid request). */
function refuse(handler: Dispatcher.DispatchHandler, err: Error): void {
  const controller: Dispatcher.DispatchController = {
    aborted: false,
    paused: false,
    reason: null,
    abort: ignore,
    pause: ignore,
    resume: ignore,
  };
  handler.onResponseError?.(controller, err);
}

function ignore(): void {}
