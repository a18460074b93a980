/**
 * The raw pool lends its read memory to handlers that implement
 * `onResponseDataView` (raw/connection.ts, raw/exchange.ts): these tests check that memory a handler
 * said it kept is never read into again, that memory it released is reused,
 * and that handlers without the method get copies they may keep.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { RawPool, type ViewDataHandler } from './pool.js';

const servers: Server[] = [];
const pools: RawPool[] = [];
after(async () => {
  for (const p of pools) await p.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** A body of `pieces` distinct 1 KiB pieces, each written on its own after a pause (so each is its own read). */
function pieceBody(pieces: number): Buffer[] {
  return Array.from({ length: pieces }, (_, i) => Buffer.alloc(1024, 0x41 + (i % 26)));
}

/** An origin that answers every request with `pieces` (content-length or chunked framing), one piece per write, 15 ms apart. */
async function slowOrigin(pieces: Buffer[], chunked: boolean): Promise<URL> {
  const server = createServer((sock: Socket) => {
    sock.on('error', () => undefined);
    sock.once('data', () => {
      const total = pieces.reduce((n, p) => n + p.length, 0);
      sock.write(`HTTP/1.1 200 OK\r\n${chunked ? 'transfer-encoding: chunked' : `content-length: ${total}`}\r\n\r\n`);
      let i = 0;
      const next = (): void => {
        if (i === pieces.length) {
          if (chunked) sock.write('0\r\n\r\n');
          return;
        }
        const p = pieces[i++]!;
        sock.write(chunked ? Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]) : p);
        setTimeout(next, 15);
      };
      next();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

class Collector implements Dispatcher.DispatchHandler {
  readonly chunks: Buffer[] = [];
  error: Error | null = null;
  readonly done: Promise<void>;
  protected finish!: () => void;
  constructor() {
    this.done = new Promise((r) => (this.finish = r));
  }
  onResponseStart(_c: Dispatcher.DispatchController, _s: number, _h: IncomingHttpHeaders): void {}
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk); // kept without copying: the pool must have handed over a copy
  }
  onResponseEnd(): void {
    this.finish();
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.error = err;
    this.finish();
  }
}

/** Keeps every view and says so: the pool must read into fresh memory after each. */
class Keeper extends Collector implements ViewDataHandler {
  onResponseDataView(_c: Dispatcher.DispatchController, chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

/** Copies each view and releases it: the pool may reuse the memory, and does. */
class Releaser extends Collector implements ViewDataHandler {
  readonly memories = new Set<ArrayBufferLike>();
  onResponseDataView(_c: Dispatcher.DispatchController, chunk: Buffer): boolean {
    this.memories.add(chunk.buffer);
    this.chunks.push(Buffer.from(chunk));
    return false;
  }
}

async function fetchWith<H extends Collector>(origin: URL, h: H): Promise<H> {
  const pool = new RawPool(origin, { connections: 2, keepAliveTimeout: 4000, connectTimeout: 2000 });
  pools.push(pool);
  pool.dispatch({ method: 'GET', path: '/', headers: {} }, h);
  await h.done;
  assert.equal(h.error, null);
  return h;
}

for (const chunked of [false, true]) {
  const framing = chunked ? 'chunked' : 'content-length';

  test(`${framing}: views a handler kept are never overwritten by later reads`, async () => {
    const pieces = pieceBody(12);
    const h = await fetchWith(await slowOrigin(pieces, chunked), new Keeper());
    assert.ok(h.chunks.length >= 6, `expected the pieces in separate reads, got ${h.chunks.length}`);
    assert.ok(Buffer.concat(h.chunks).equals(Buffer.concat(pieces)), 'a kept view was overwritten');
  });

  test(`${framing}: released views reuse the connection's read memory`, async () => {
    const pieces = pieceBody(8);
    const h = await fetchWith(await slowOrigin(pieces, chunked), new Releaser());
    assert.ok(Buffer.concat(h.chunks).equals(Buffer.concat(pieces)));
    assert.ok(h.chunks.length >= 4, `expected the pieces in separate reads, got ${h.chunks.length}`);
    assert.equal(h.memories.size, 1, 'each read allocated fresh memory although every view was released');
  });

  test(`${framing}: a handler without onResponseDataView gets copies it may keep`, async () => {
    const pieces = pieceBody(10);
    const h = await fetchWith(await slowOrigin(pieces, chunked), new Collector());
    assert.ok(Buffer.concat(h.chunks).equals(Buffer.concat(pieces)), 'a kept chunk was overwritten');
  });
}
