/**
 * Review of the HTTP/1.1 fast path (src/server/h1/, src/upstream/raw/,
 * the H1Server part of src/server/entrypoint.ts): each test reproduces one
 * defect found in review of 760f2c2, against the real gateway or the units on
 * loopback sockets, ranked by severity. Every one failed on 760f2c2 and passes
 * since 06ab467; the comment above each test names the defect it guards against.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { startGateway, listenLoopback, eventually, type TestGateway } from './support/gateway.js';
import { EntryPoint } from '../src/server/entrypoint.js';
import type { RequestContext } from '../src/http/exchange.js';
import { RawPool } from '../src/upstream/raw/pool.js';
import { silentLogger } from '../src/log.js';

// ---------------------------------------------------------------------------
// A raw client: bytes in, bytes out.

class Raw {
  buf = Buffer.alloc(0);
  /** The gateway ended its side, or the connection is gone. */
  ended = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
    });
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }
  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        const r = new Raw(s);
        conns.add(r);
        resolve(r);
      });
      s.once('error', reject);
    });
  }
  write(b: string | Buffer): void {
    if (typeof b === 'string') this.socket.write(b, 'latin1');
    else this.socket.write(b);
  }
  get text(): string {
    return this.buf.toString('latin1');
  }
  /** Status lines received so far. */
  get answers(): number {
    return (this.text.match(/HTTP\/1\.[01] \d{3} /g) ?? []).length;
  }
  waitAnswers(n: number, ms: number): Promise<boolean> {
    return eventually(() => this.answers >= n, ms, 10);
  }
  waitEnded(ms: number): Promise<boolean> {
    return eventually(() => this.ended, ms, 20);
  }
  destroy(): void {
    this.socket.destroy();
  }
}
const conns = new Set<Raw>();

const get = (path: string, host = 'app.test'): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

// ---------------------------------------------------------------------------
// Backends.

const BIG = Buffer.alloc(60_000, 0x62);
/** Paths the node backend saw, in order. */
const seen: string[] = [];
/** A request to /hold is answered when the test calls `release`. */
let release: (() => void) | null = null;

const backend: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? '/';
  seen.push(url);
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    if (url === '/big') res.end(BIG);
    else if (url === '/hold') release = () => res.end('/hold');
    else res.end(`${url} ${Buffer.concat(parts).length}`);
  });
});

/** Requests the raw origin saw ("METHOD path"), in order. */
const rawSeen: string[] = [];
/** Raw origin, for answers node:http will not send. */
const rawBackend: NetServer = createNet((s) => {
  let buf = '';
  let served = 0;
  s.on('error', () => s.destroy());
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let e = buf.indexOf('\r\n\r\n'); e >= 0; e = buf.indexOf('\r\n\r\n')) {
      const line = buf.slice(0, buf.indexOf('\r\n'));
      buf = buf.slice(e + 4);
      const [method, path] = line.split(' ') as [string, string];
      rawSeen.push(`${method} ${path}`);
      if (path === '/head-with-body') {
        // A sloppy origin: its HEAD answer carries the body a GET would get.
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
      } else if (path === '/two-connection-fields') {
        s.write('HTTP/1.1 200 OK\r\nconnection: keep-alive\r\nconnection: x-hop\r\nx-hop: 1\r\ncontent-length: 2\r\n\r\nok');
      } else if (path === '/dies-on-reuse' && served > 0) {
        // The request was read whole and (say) acted upon; then the origin died without answering.
        s.destroy();
        return;
      } else s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${method === 'HEAD' ? '' : path}`);
      served++;
    }
  });
});

function routes(app: number, raw: number): string {
  return `
http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
    one:
      rule: Host(\`one.test\`)
      service: one
    raw:
      rule: Host(\`raw.test\`)
      service: raw
    limited:
      rule: Host(\`limited.test\`)
      service: app
      middlewares: [limit]
  middlewares:
    limit:
      buffering:
        maxRequestBodyBytes: 10
  serversTransports:
    single:
      maxIdleConnsPerHost: 1
  services:
    app:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${app}" }]
    one:
      loadBalancer:
        serversTransport: single
        servers: [{ url: "http://127.0.0.1:${app}" }]
    raw:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${raw}" }]
`;
}

let gw: TestGateway;
/** readTimeout=1s, idleTimeout=1s. */
let gwTimeouts: TestGateway;
/** http.server=node, for comparison. */
let gwNode: TestGateway;

before(async () => {
  const app = await listenLoopback(backend);
  const raw = await listenLoopback(rawBackend);
  const files = { 'routes.yaml': routes(app, raw) };
  [gw, gwTimeouts, gwNode] = await Promise.all([
    startGateway({ files, adminEntryPoint: false }),
    startGateway({
      files,
      adminEntryPoint: false,
      flags: [
        '--entrypoints.web.transport.respondingTimeouts.readTimeout=1s',
        '--entrypoints.web.transport.respondingTimeouts.idleTimeout=1s',
      ],
    }),
    startGateway({ files, adminEntryPoint: false, flags: ['--entrypoints.web.http.server=node'] }),
  ]);
});

after(async () => {
  for (const c of conns) c.destroy();
  await Promise.all([gw.close(), gwTimeouts.close(), gwNode.close()]);
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
  await new Promise<void>((r) => rawBackend.close(() => r()));
});

// ---------------------------------------------------------------------------
// 1. Process crash.

// Regression (760f2c2): entrypoint.ts onConnection has no error listener before the first data event: ECONNRESET is uncaught.
test('a client that resets its connection before sending a byte does not crash the process', async () => {
  // In a child process: the crash takes the whole process down.
  const entry = new URL('../src/server/entrypoint.js', import.meta.url).href;
  const log = new URL('../src/log.js', import.meta.url).href;
  const script = `
      import { EntryPoint } from ${JSON.stringify(entry)};
      import { silentLogger } from ${JSON.stringify(log)};
      const ep = new EntryPoint({ name: 'web', host: '127.0.0.1', port: 0, forwarded: { insecure: false, trustedIPs: [] },
        readTimeout: 5000, idleTimeout: 5000, writeTimeout: 0, maxHeaderSize: 16384, log: silentLogger, onEnd: null, onStart: null },
        (ctx) => { ctx.rw.writeHead(200, { 'content-length': 2 }); ctx.rw.end('ok'); });
      await ep.listen();
      process.stdout.write(ep.address.port + '\\n');
      setTimeout(() => process.exit(0), 3000);
    `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', () => reject(new Error(`child exited early: ${stderr}`)));
    });
    for (let i = 0; i < 5; i++) {
      const s = connect(port, '127.0.0.1');
      // Refused once the process is gone.
      const up = await new Promise<boolean>((r) => {
        s.once('connect', () => r(true));
        s.once('error', () => r(false));
      });
      if (!up) break;
      await sleep(20); // the server has accepted and is reading
      s.resetAndDestroy();
    }
    await sleep(300);
    const c = await Raw.open(port);
    c.write(get('/alive'));
    assert.ok(
      await c.waitAnswers(1, 2000),
      `the process died: ${stderr.split('\n').find((l) => /Error|ECONNRESET/.test(l)) ?? stderr.slice(0, 300)}`,
    );
    c.destroy();
  } finally {
    child.kill();
    await exited;
  }
});

// ---------------------------------------------------------------------------
// 2. Unbounded memory: no back-pressure between answers.

// Regression (760f2c2): connection.ts responseDone/consume start the next exchange whatever socket.writableNeedDrain says.
test('a client that pipelines requests and never reads: the gateway stops reading instead of buffering every answer', async () => {
  const served: number[] = [];
  for (const g of [gwNode, gw]) {
    const from = seen.length;
    const c = await Raw.open(g.port);
    c.socket.pause(); // never reads
    // 1000 small requests (40 kB), sent over 2 s: each answer is 60 kB.
    for (let i = 0; i < 100; i++) {
      c.write(get('/big').repeat(10));
      await sleep(20);
    }
    await sleep(1000);
    served.push(seen.slice(from).filter((u) => u === '/big').length);
    c.destroy();
  }
  const [viaNode, fast] = served as [number, number];
  // node:http pauses once its write buffer is full (what the kernel buffers hold, ~80 answers here).
  assert.ok(
    fast <= Math.max(2 * viaNode, 250),
    `answers buffered for a client that reads nothing: node:http ${viaNode}, fast path ${fast} (× 60 kB held in memory)`,
  );
});

// ---------------------------------------------------------------------------
// 3. Connections that never send a byte are never timed out.

// Regression (760f2c2): the H1Connection (and its headersTimeout) only exists after the first data event (entrypoint.ts onConnection).
test('a connection that never sends a byte is closed by the header timeout', async () => {
  const c = await Raw.open(gwTimeouts.port);
  // headersTimeout = min(readTimeout, 60 s) = 1 s, swept every second.
  assert.ok(await c.waitEnded(4000), 'a silent connection is still open after 4 s');
  c.destroy();
});

// ---------------------------------------------------------------------------
// 4. Keep-alive connection hangs after an upload.

// Regression (760f2c2): connection.ts pushBody pauses the socket on the last body piece; after push(null) _read never runs, so nothing resumes it.
test('keep-alive after a 64 KiB upload that waited for an upstream connection: the next request is answered', async () => {
  const holder = await Raw.open(gw.port);
  holder.write(get('/hold', 'one.test'));
  assert.ok(await eventually(() => release !== null, 2000, 10), 'the first request reached the backend');
  // The only upstream connection is busy: the gateway reads this body but nobody consumes it yet.
  const c = await Raw.open(gw.port);
  c.write('POST /upload HTTP/1.1\r\nHost: one.test\r\nContent-Length: 65536\r\n\r\n');
  c.write(Buffer.alloc(65536, 0x61));
  await sleep(200);
  release!();
  release = null;
  assert.ok(await c.waitAnswers(1, 3000), `upload answered: ${c.text.slice(0, 200)}`);
  assert.match(c.text, /\/upload 65536$/);
  c.write(get('/after-upload', 'one.test'));
  assert.ok(await c.waitAnswers(2, 3000), `no answer to the next request on the connection: ${JSON.stringify(c.text.slice(-80))}`);
  c.destroy();
  holder.destroy();
});

// ---------------------------------------------------------------------------
// 5. A shut connection comes back to life.

// Regression (760f2c2): connection.ts consume calls bodyComplete() after the answer shut the connection inside pushBody/feed, setting state back to Head.
test('a 413 answered while the body streams in: a request pipelined behind the body is not proxied', async () => {
  const c = await Raw.open(gw.port);
  c.write('POST /limited HTTP/1.1\r\nHost: limited.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  await sleep(100);
  // The chunk over the limit, the last chunk and a pipelined request, in one read:
  // the buffering middleware answers 413 synchronously inside the chunk push.
  c.write(`14\r\n${'x'.repeat(20)}\r\n0\r\n\r\n${get('/smuggled-after-413')}`);
  assert.ok(await c.waitAnswers(1, 2000));
  assert.match(c.text, /^HTTP\/1\.1 413 /);
  assert.match(c.text, /connection: close/i);
  await sleep(200);
  assert.ok(!seen.includes('/smuggled-after-413'), 'the gateway proxied a request it read after answering "connection: close"');
  c.destroy();
});

// ---------------------------------------------------------------------------
// 6. Non-idempotent requests replayed.

// Regression (760f2c2): the raw pool's lost()/takeRetry (raw/connection.ts, raw/exchange.ts) replays any request without a stream body, whatever its method.
test('a POST whose reused upstream connection dies before the answer is not sent twice', async () => {
  const warm = await Raw.open(gw.port);
  warm.write(get('/dies-on-reuse', 'raw.test'));
  assert.ok(await warm.waitAnswers(1, 2000));
  const from = rawSeen.length;
  warm.write('POST /dies-on-reuse HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 0\r\n\r\n');
  await warm.waitAnswers(2, 2000);
  const posts = rawSeen.slice(from).filter((r) => r === 'POST /dies-on-reuse').length;
  assert.equal(posts, 1, `the origin received the POST ${posts} times`);
  warm.destroy();
});

// ---------------------------------------------------------------------------
// 7. Slow readers lose their download.

// Regression (760f2c2): the raw pool (raw/exchange.ts) kept the socket inactivity timer (bodyTimeout) armed while the exchange is paused.
test('raw pool: a response body paused by a slow client longer than bodyTimeout is not aborted (as undici)', async () => {
  const body = Buffer.alloc(8 * 1024 * 1024, 1);
  const origin = createServer((_req, res) => res.end(body));
  const port = await listenLoopback(origin);
  const run = (d: { dispatch(o: Dispatcher.DispatchOptions, h: Dispatcher.DispatchHandler): boolean }): Promise<string> =>
    new Promise((resolve) => {
      let n = 0;
      let paused = false;
      d.dispatch(
        { path: '/', method: 'GET', headers: { host: 'x' }, bodyTimeout: 300, headersTimeout: 2000 },
        {
          onRequestStart() {},
          onResponseStart() {},
          onResponseData(c, chunk) {
            n += chunk.length;
            if (!paused) {
              // The client's socket is full for a while: paused longer than bodyTimeout.
              paused = true;
              c.pause();
              setTimeout(() => c.resume(), 1000);
            }
          },
          onResponseEnd() {
            resolve(`complete ${n}`);
          },
          onResponseError(_c, e) {
            resolve(`${(e as { code?: string }).code ?? e.message} after ${n} bytes`);
          },
        },
      );
    });
  const undici = new Pool(`http://127.0.0.1:${port}`);
  const raw = new RawPool(new URL(`http://127.0.0.1:${port}`), { connections: 4, keepAliveTimeout: 4000, connectTimeout: 1000 });
  try {
    assert.equal(await run(undici), `complete ${body.length}`, 'undici waits for the paused reader');
    assert.equal(await run(raw), `complete ${body.length}`, 'the raw pool');
  } finally {
    await Promise.all([undici.destroy(), raw.destroy()]);
    origin.closeAllConnections();
    await new Promise<void>((r) => origin.close(() => r()));
  }
});

// ---------------------------------------------------------------------------
// 8. A complete answer lost because of what follows it.

// Regression (760f2c2): the raw pool's complete() (raw/connection.ts) fails the exchange on bytes after a complete response, instead of only dropping the connection.
test('HEAD to an origin that also sends a body: the client gets the (complete) head', async () => {
  const c = await Raw.open(gw.port);
  c.write('HEAD /head-with-body HTTP/1.1\r\nHost: raw.test\r\n\r\n');
  await c.waitAnswers(1, 1000);
  assert.match(c.text, /^HTTP\/1\.1 200 /, `got ${JSON.stringify(c.text)} (closed: ${c.ended})`);
  c.destroy();
});

// ---------------------------------------------------------------------------
// 9. Linger defeated by a client that keeps sending.

// Regression (760f2c2): connection.ts linger() is the socket inactivity timeout: every byte the client sends restarts it.
test('after a 413 with connection: close, the connection is gone within the linger time even if the client keeps sending', async () => {
  const s = connect({ port: gw.port, host: '127.0.0.1', allowHalfOpen: true });
  let closed = false;
  let text = '';
  s.on('close', () => (closed = true));
  s.on('error', () => undefined);
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  await new Promise((r) => s.once('connect', r));
  s.write('POST /limited HTTP/1.1\r\nHost: limited.test\r\nContent-Length: 100000000\r\n\r\n');
  assert.ok(await eventually(() => text.startsWith('HTTP/1.1 413 '), 2000, 10), text);
  const t0 = Date.now();
  while (!closed && Date.now() - t0 < 9000) {
    s.write('x'); // the rest of a large upload, trickled
    await sleep(500);
  }
  s.destroy();
  assert.ok(closed, 'still open 9 s after the answer (linger is 5 s)');
});

// ---------------------------------------------------------------------------
// 10. Half-close.

// Changed on purpose (issue 11, "an abandoned request keeps its upstream exchange"): a FIN before
// the answers are complete means the client gave up on them, as nginx, Go and node:http read it.
// The exchange in progress is cancelled and the requests pipelined behind it are not started.
test('a client that half-closes after two pipelined requests gave up: neither is answered, the second never starts', async () => {
  const before = seen.length;
  const c = await Raw.open(gw.port);
  c.write(get('/hold') + get('/second'));
  assert.ok(await eventually(() => release !== null, 2000, 10));
  c.socket.end();
  assert.ok(await c.waitEnded(2000), 'the gateway closed the connection');
  release!();
  release = null;
  await sleep(100);
  assert.equal(c.answers, 0, JSON.stringify(c.text));
  assert.deepEqual(seen.slice(before), ['/hold']);
});

// ---------------------------------------------------------------------------
// 11. Access log: the gateway's own refusals logged as 499.

// Regression (760f2c2): connection.ts refuse() calls exchangeDone(w, false) without setting ctx.status; finish() turns 0 into 499.
test('a 408 (read timeout) or 400 (broken chunked body) sent by the connection is what ctx.status reports, not 499', async () => {
  const statuses: number[] = [];
  const ep = new EntryPoint(
    {
      name: 'web',
      host: '127.0.0.1',
      port: 0,
      forwarded: { insecure: false, trustedIPs: [] },
      readTimeout: 1000,
      idleTimeout: 5000,
      writeTimeout: 0,
      maxHeaderSize: 16384,
      log: silentLogger,
      onEnd: (ctx: RequestContext) => statuses.push(ctx.status),
      onStart: null,
    },
    (ctx) => {
      // Waits for the whole body before answering.
      (ctx.body as NodeJS.ReadableStream).resume();
    },
  );
  await ep.listen();
  try {
    const sent: string[] = [];
    for (const [first, later] of [
      ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', ''],
      ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'zz\r\n'],
    ] as const) {
      const c = await Raw.open(ep.address.port);
      c.write(first);
      if (later !== '') {
        await sleep(50);
        c.write(later);
      }
      assert.ok(await c.waitAnswers(1, 4000));
      sent.push(c.text.slice(9, 12));
      c.destroy();
    }
    assert.deepEqual(sent, ['408', '400']);
    await eventually(() => statuses.length === 2, 1000, 10);
    assert.deepEqual(statuses, [408, 400], 'status reported to the access log and metrics');
  } finally {
    await ep.close(100);
  }
});

// ---------------------------------------------------------------------------
// 12. A repeated Connection field from the origin.

// Regression (760f2c2): upstream/headers.ts downstreamResponseHeaders calls split() on the array the raw pool reports for a repeated field.
test('an origin that repeats the Connection field: the answer is relayed', async () => {
  const c = await Raw.open(gw.port);
  c.write(get('/two-connection-fields', 'raw.test'));
  await c.waitAnswers(1, 1000);
  assert.match(c.text, /^HTTP\/1\.1 200 /, `got ${JSON.stringify(c.text)} (closed: ${c.ended})`);
  assert.doesNotMatch(c.text, /x-hop/i, 'the field the Connection header names is not relayed');
  c.destroy();
});
