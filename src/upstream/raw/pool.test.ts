import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type IncomingHttpHeaders, type RequestListener, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { RawPool, type RawPoolOptions } from './pool.js';

// --- a handler that records what it is told (undici 7's handler API) --------

class Recorder implements Dispatcher.DispatchHandler {
  readonly events: string[] = [];
  controller: Dispatcher.DispatchController | null = null;
  status = 0;
  reason = '';
  headers: IncomingHttpHeaders = {};
  chunks: Buffer[] = [];
  received = 0;
  trailers: IncomingHttpHeaders | null = null;
  error: (Error & { code?: string }) | null = null;
  upgraded: Duplex | null = null;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly keepChunks = true) {
    this.done = new Promise((r) => (this.finish = r));
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.events.push('requestStart');
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, reason?: string): void {
    this.status = status;
    this.headers = headers;
    this.reason = reason ?? '';
    this.events.push(`responseStart ${status}`);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.keepChunks) this.chunks.push(chunk);
    if (this.events.at(-1) !== 'data') this.events.push('data');
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.trailers = trailers;
    this.events.push('end');
    this.finish();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.error = err;
    this.events.push('error');
    this.finish();
  }

  onRequestUpgrade(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.status = status;
    this.headers = headers;
    this.upgraded = socket;
    this.events.push(`upgrade ${status}`);
    this.finish();
  }
}

// --- real loopback origins -------------------------------------------------

const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Origin {
  url: URL;
  port: number;
  /** Sockets accepted, in order; `closed` counts those the origin saw close. */
  conns: Socket[];
  closed: number;
}

function track(server: Server | HttpServer, o: Origin): void {
  server.on('connection', (s: Socket) => {
    o.conns.push(s);
    s.on('close', () => o.closed++);
  });
}

async function listen(server: Server | HttpServer, o: Omit<Origin, 'url' | 'port'>): Promise<Origin> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of (o as Origin).conns) s.destroy();
        server.close(() => r());
      }),
  );
  return Object.assign(o as Origin, { port, url: new URL(`http://127.0.0.1:${port}`) });
}

async function httpOrigin(listener: RequestListener, setup?: (s: HttpServer) => void): Promise<Origin> {
  const server = createHttpServer(listener);
  setup?.(server);
  const o = { conns: [], closed: 0 } as unknown as Origin;
  track(server, o);
  return listen(server, o);
}

interface RawRequest {
  head: string;
  body: Buffer;
  /** Index of the connection (0-based) and of the request on it. */
  conn: number;
  n: number;
}

/**
 * A raw origin: parses request heads (bodies by content-length, or up to the
 * last chunk) and lets the test write any bytes back.
 */
async function rawOrigin(respond: (sock: Socket, req: RawRequest) => void): Promise<Origin & { requests: RawRequest[] }> {
  const o = { conns: [], closed: 0, requests: [] as RawRequest[] } as unknown as Origin & { requests: RawRequest[] };
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let n = 0;
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        const head = buf.toString('latin1', 0, e);
        const cl = /\r\ncontent-length: (\d+)/i.exec(head);
        let end = e + 4;
        if (cl !== null) end += Number(cl[1]);
        else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
          const last = buf.indexOf('\r\n0\r\n\r\n', e);
          const first = buf.indexOf('0\r\n\r\n', e + 4);
          if (first === e + 4) end = e + 9;
          else if (last >= 0) end = last + 7;
          else return;
        }
        if (buf.length < end) return;
        const req = { head, body: buf.subarray(e + 4, end), conn: o.conns.indexOf(sock), n: n++ };
        buf = buf.subarray(end);
        o.requests.push(req);
        respond(sock, req);
      }
    });
  });
  track(server, o);
  return listen(server, o) as Promise<Origin & { requests: RawRequest[] }>;
}

const OPTS: RawPoolOptions = { connections: 8, keepAliveTimeout: 4000, connectTimeout: 2000 };

function pool(origin: Origin | URL, opts: Partial<RawPoolOptions> = {}): RawPool {
  const p = new RawPool(origin instanceof URL ? origin : origin.url, { ...OPTS, ...opts });
  cleanups.push(() => p.destroy());
  return p;
}

async function send(p: RawPool, o: Partial<Dispatcher.DispatchOptions> = {}, h = new Recorder()): Promise<Recorder> {
  p.dispatch({ method: 'GET', path: '/', headers: {}, ...o } as Dispatcher.DispatchOptions, h);
  await h.done;
  return h;
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- tests -----------------------------------------------------------------

test('GET with a small body: handler calls in order, headers as an object', async () => {
  const o = await httpOrigin((req, res) => {
    res.setHeader('x-path', req.url ?? '');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.end('hello');
  });
  const p = pool(o);
  const r = await send(p, { path: '/a/b?c=d' });
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'end']);
  assert.equal(r.reason, 'OK');
  assert.equal(r.body, 'hello');
  assert.equal(r.headers['x-path'], '/a/b?c=d');
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(r.headers['content-length'], '5');
  assert.deepEqual(r.trailers, {});
});

test('GET with a 1 MiB body arrives whole, in several pieces', async () => {
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const o = await httpOrigin((_req, res) => res.end(big));
  const p = pool(o);
  const r = await send(p);
  assert.equal(r.status, 200);
  assert.ok(r.chunks.length > 1);
  assert.ok(Buffer.concat(r.chunks).equals(big));
});

test('Host is added when absent and kept when given; framing headers given by the caller are replaced', async () => {
  const o = await rawOrigin((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  const p = pool(o);
  await send(p, { headers: { 'x-a': ['1', '2'], 'transfer-encoding': 'chunked', 'content-length': '99' } });
  await send(p, { headers: { host: 'example.test' } });
  assert.equal(o.requests[0]!.head, `GET / HTTP/1.1\r\nx-a: 1\r\nx-a: 2\r\nhost: 127.0.0.1:${o.port}`);
  assert.equal(o.requests[1]!.head, 'GET / HTTP/1.1\r\nhost: example.test');
});

test('POST with a Buffer body (coalesced and large), a string body, and no body', async () => {
  const seen: Array<{ cl: string | undefined; te: string | undefined; body: Buffer }> = [];
  const o = await httpOrigin((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      seen.push({ cl: req.headers['content-length'], te: req.headers['transfer-encoding'], body: Buffer.concat(parts) });
      res.end('ok');
    });
  });
  const p = pool(o);
  const large = Buffer.alloc(200_000, 'z');
  assert.equal((await send(p, { method: 'POST', body: Buffer.from('small body') })).body, 'ok');
  assert.equal((await send(p, { method: 'PUT', body: large, headers: { 'content-length': '3' } })).body, 'ok');
  assert.equal((await send(p, { method: 'POST', body: 'héllo' })).body, 'ok');
  assert.equal((await send(p, { method: 'POST', body: null })).body, 'ok');
  assert.deepEqual(seen[0], { cl: '10', te: undefined, body: Buffer.from('small body') });
  assert.equal(seen[1]!.cl, '200000');
  assert.ok(seen[1]!.body.equals(large));
  assert.deepEqual(seen[2], { cl: '6', te: undefined, body: Buffer.from('héllo') });
  assert.deepEqual(seen[3], { cl: '0', te: undefined, body: Buffer.alloc(0) });
  assert.equal(o.conns.length, 1, 'all four on one connection');
});

test('POST with a Readable body and a content-length: sent as is', async () => {
  const o = await rawOrigin((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  const p = pool(o);
  const r = await send(p, {
    method: 'POST',
    headers: { 'content-length': '11' },
    body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
  });
  assert.equal(r.body, 'ok');
  assert.equal(o.requests[0]!.head, `POST / HTTP/1.1\r\nhost: 127.0.0.1:${o.port}\r\ncontent-length: 11`);
  assert.equal(o.requests[0]!.body.toString(), 'hello world');
  // the connection is reusable after a streamed body
  await send(p);
  assert.equal(o.conns.length, 1);
  // a body someone paused explicitly is still sent
  const paused = Readable.from([Buffer.from('abc')]);
  paused.pause();
  const r2 = await send(p, { method: 'POST', headers: { 'content-length': '3' }, body: paused, headersTimeout: 1000 });
  assert.equal(r2.body, 'ok');
  assert.equal(o.requests[2]!.body.toString(), 'abc');
});

test('POST with a Readable body and no content-length: chunked, no empty chunk but the last', async () => {
  const o = await rawOrigin((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  const p = pool(o);
  const r = await send(p, { method: 'POST', body: Readable.from([Buffer.from('abc'), Buffer.alloc(0), 'defghijklmnopqr']) });
  assert.equal(r.body, 'ok');
  assert.equal(o.requests[0]!.head, `POST / HTTP/1.1\r\nhost: 127.0.0.1:${o.port}\r\ntransfer-encoding: chunked`);
  assert.equal(o.requests[0]!.body.toString(), '3\r\nabc\r\nf\r\ndefghijklmnopqr\r\n0\r\n\r\n');
  // an empty stream is one last chunk
  await send(p, { method: 'POST', body: Readable.from([]) });
  assert.equal(o.requests[1]!.body.toString(), '0\r\n\r\n');
});

test('a large Readable body streams with back-pressure and arrives intact', async () => {
  let got = 0;
  const o = await httpOrigin((req, res) => {
    req.on('data', (d: Buffer) => (got += d.length));
    req.on('end', () => res.end(String(got)));
  });
  const p = pool(o);
  const piece = Buffer.alloc(64 * 1024, 'q');
  let n = 0;
  const body = new Readable({
    read() {
      this.push(n++ < 256 ? piece : null);
    },
  });
  const r = await send(p, { method: 'POST', body });
  assert.equal(r.body, String(256 * piece.length));
});

test('a Readable body that does not match its content-length errors the exchange and closes the socket', async () => {
  const o = await rawOrigin(() => undefined);
  const p = pool(o);
  const more = await send(p, { method: 'POST', headers: { 'content-length': '3' }, body: Readable.from([Buffer.from('abcdef')]) });
  assert.equal(more.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  const fewer = await send(p, { method: 'POST', headers: { 'content-length': '10' }, body: Readable.from([Buffer.from('abc')]) });
  assert.equal(fewer.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  await until(() => o.closed === 2, 'the origin to see both sockets close');
});

test('a request body stream error aborts the exchange with that error', async () => {
  const o = await rawOrigin(() => undefined);
  const p = pool(o);
  const body = new Readable({ read() {} });
  const h = new Recorder();
  p.dispatch({ method: 'POST', path: '/', headers: {}, body }, h);
  await until(() => o.conns.length === 1, 'a connection');
  body.push('partial');
  const boom = new Error('client went away');
  setTimeout(() => body.destroy(boom), 20);
  await h.done;
  assert.equal(h.error, boom);
  await until(() => o.closed === 1, 'the origin to see the close');
});

test('chunked response with trailers: onResponseEnd gets them', async () => {
  const o = await httpOrigin((_req, res) => {
    res.writeHead(200, { trailer: 'x-checksum' });
    res.write('part one, ');
    res.write('part two');
    res.addTrailers({ 'x-checksum': 'abc123', 'grpc-status': '0' });
    res.end();
  });
  const p = pool(o);
  const r = await send(p, { headers: { te: 'trailers' } });
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(r.body, 'part one, part two');
  assert.deepEqual({ ...r.trailers }, { 'x-checksum': 'abc123', 'grpc-status': '0' });
  await send(p);
  assert.equal(o.conns.length, 1, 'reused after a chunked response');
});

test('close-delimited response: read to the end, connection not reused', async () => {
  const o = await rawOrigin((s) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello ');
    setTimeout(() => s.end('world'), 20);
  });
  const p = pool(o);
  const r = await send(p);
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'end']);
  assert.equal(r.body, 'hello world');
  await send(p);
  assert.equal(o.conns.length, 2);
});

test('HEAD with a content-length, 204 and 304 have no body and keep the connection', async () => {
  const o = await rawOrigin((s, req) => {
    if (req.head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
    else if (req.head.startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
    else s.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\netag: "x"\r\n\r\n');
  });
  const p = pool(o);
  const head = await send(p, { method: 'HEAD' });
  assert.deepEqual(head.events, ['requestStart', 'responseStart 200', 'end']);
  assert.equal(head.headers['content-length'], '1000');
  const nc = await send(p, { path: '/204' });
  assert.deepEqual(nc.events, ['requestStart', 'responseStart 204', 'end']);
  const nm = await send(p, { path: '/304' });
  assert.deepEqual(nm.events, ['requestStart', 'responseStart 304', 'end']);
  assert.equal(nm.headers.etag, '"x"');
  assert.equal(o.conns.length, 1);
});

test('1xx interim answers are skipped', async () => {
  const o = await rawOrigin((s) => {
    s.write('HTTP/1.1 100 Continue\r\n\r\n');
    setTimeout(() => s.write('HTTP/1.1 103 Early Hints\r\nlink: </style.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 10);
  });
  const p = pool(o);
  const r = await send(p, { method: 'POST', body: 'x' });
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'end']);
  assert.equal(r.body, 'ok');
  assert.equal(r.headers.link, undefined);
});

test('keep-alive: 20 sequential requests use one origin connection', async () => {
  const o = await httpOrigin((req, res) => res.end(req.url));
  const p = pool(o);
  for (let i = 0; i < 20; i++) assert.equal((await send(p, { path: `/${i}` })).body, `/${i}`);
  assert.equal(o.conns.length, 1);
});

test('origin Keep-Alive: timeout=1 leaves no idle time (hint - 1 s): the socket is closed, not reused', async () => {
  const o = await httpOrigin(
    (_req, res) => res.end('x'),
    (s) => (s.keepAliveTimeout = 1000),
  );
  const p = pool(o);
  const r = await send(p);
  assert.equal(r.headers['keep-alive'], 'timeout=1');
  await until(() => o.closed === 1, 'the pool to close the socket');
  await send(p);
  assert.equal(o.conns.length, 2);
});

test('an idle socket is closed when its keep-alive time runs out (origin hint, then the pool option)', async () => {
  const o = await rawOrigin((s, req) =>
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: 0\r\n${req.head.includes('/hint') ? 'keep-alive: timeout=2\r\n' : ''}\r\n`),
  );
  const p = pool(o, { keepAliveTimeout: 300 });
  // pool option alone: 300 ms
  await send(p);
  await send(p);
  assert.equal(o.conns.length, 1, 'reused while fresh');
  let t0 = Date.now();
  await until(() => o.closed === 1, 'the idle timeout');
  assert.ok(Date.now() - t0 >= 250, 'not before its time');
  // hint of 2 s (→ 1 s) is above the option: the option wins
  t0 = Date.now();
  await send(p, { path: '/hint' });
  await until(() => o.closed === 2, 'the idle timeout');
  // Expired sockets are closed by a sweep once a second: within the limit plus that period.
  assert.ok(Date.now() - t0 < 1900);
  const q = pool(o, { keepAliveTimeout: 10_000 });
  t0 = Date.now();
  await send(q, { path: '/hint' });
  await until(() => o.closed === 3, 'the hinted idle timeout');
  const waited = Date.now() - t0;
  assert.ok(waited >= 900 && waited < 2900, `closed after ${waited} ms, expected 1000-2000`);
  await send(q);
  assert.equal(o.conns.length, 4, 'a new connection after expiry');
});

test('an idle socket past its keep-alive limit is never reused, even before the sweep closes it', async () => {
  const o = await rawOrigin((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nkeep-alive: timeout=2\r\n\r\n'));
  const p = pool(o, { keepAliveTimeout: 10_000 });
  await send(p);
  await new Promise((r) => setTimeout(r, 1050)); // hint 2 s → limit 1 s; the sweep may not have run yet
  await send(p);
  assert.equal(o.conns.length, 2, 'a fresh connection, not the one the origin is about to close');
});

test('stale keep-alive race: a reused connection closed before answering is retried once, unseen', async () => {
  const o = await rawOrigin((s, req) => {
    if (req.conn === 0 && req.n === 1)
      s.destroy(); // the origin gave up on the idle socket as the request came in
    else s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.body.length + 2}\r\n\r\nok${req.body.toString()}`);
  });
  const p = pool(o);
  assert.equal((await send(p)).body, 'ok');
  const r = await send(p, { method: 'PUT', body: Buffer.from('payload') });
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'end']);
  assert.equal(r.body, 'okpayload');
  assert.equal(o.conns.length, 2);
  assert.equal(o.requests.length, 3, 'the request reached the origin twice');
});

test('stale race: a non-idempotent request (POST) is never replayed', async () => {
  const o = await rawOrigin((s, req) => {
    if (req.conn === 0 && req.n === 1)
      s.destroy(); // the origin may have acted on it before dying
    else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  const p = pool(o);
  assert.equal((await send(p)).body, 'ok');
  const r = await send(p, { method: 'POST', body: Buffer.from('payload') });
  assert.equal(r.events.at(-1), 'error');
  assert.equal(o.requests.length, 2, 'sent once');
});

test('stale race: a Readable body is not replayed, and a fresh connection is never retried', async () => {
  const o = await rawOrigin((s, req) => {
    if (req.head.includes('/die')) s.destroy();
    else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  const p = pool(o);
  await send(p);
  const streamed = await send(p, {
    method: 'POST',
    path: '/die',
    headers: { 'content-length': '3' },
    body: Readable.from([Buffer.from('abc')]),
  });
  assert.equal(streamed.error?.code, 'UND_ERR_SOCKET');
  const fresh = await send(p, { path: '/die' });
  assert.equal(fresh.error?.code, 'UND_ERR_SOCKET');
  assert.equal(o.requests.filter((r) => r.head.includes('/die')).length, 2, 'each sent once');
});

test('connection refused → ECONNREFUSED', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const p = pool(new URL(`http://127.0.0.1:${port}`));
  const r = await send(p);
  assert.deepEqual(r.events, ['error']);
  assert.equal(r.error?.code, 'ECONNREFUSED');
});

test('connect timeout → UND_ERR_CONNECT_TIMEOUT (listener that never accepts)', async (t) => {
  // A socket listening with backlog 0 that never accepts: the second connect attempt hangs in SYN.
  const py = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(20)',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const port = await new Promise<number | null>((resolve) => {
    py.on('error', () => resolve(null));
    py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  cleanups.push(() => py.kill());
  if (port === null) {
    t.skip('python3 is needed for a listener that never accepts');
    return;
  }
  const filler = connect(port, '127.0.0.1');
  cleanups.push(() => filler.destroy());
  await new Promise((r) => filler.once('connect', r));
  const p = pool(new URL(`http://127.0.0.1:${port}`), { connectTimeout: 200 });
  const t0 = Date.now();
  const r = await send(p);
  assert.equal(r.error?.code, 'UND_ERR_CONNECT_TIMEOUT');
  assert.deepEqual(r.events, ['error'], 'onRequestStart only once connected');
  assert.ok(Date.now() - t0 >= 150);
});

test('headers timeout → UND_ERR_HEADERS_TIMEOUT, socket closed', async () => {
  const o = await rawOrigin(() => undefined);
  const p = pool(o);
  const r = await send(p, { headersTimeout: 150 });
  assert.deepEqual(r.events, ['requestStart', 'error']);
  assert.equal(r.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  await until(() => o.closed === 1, 'the origin to see the close');
});

test('body timeout → UND_ERR_BODY_TIMEOUT after the head; 0 disables it', async () => {
  const o = await rawOrigin((s, req) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab');
    if (req.head.includes('/slow-ok')) setTimeout(() => s.write('cdefghij'), 300);
  });
  const p = pool(o);
  const r = await send(p, { bodyTimeout: 150, headersTimeout: 0 });
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'error']);
  assert.equal(r.error?.code, 'UND_ERR_BODY_TIMEOUT');
  const ok = await send(p, { path: '/slow-ok', bodyTimeout: 0 });
  assert.equal(ok.body, 'abcdefghij');
});

/** Aborts from inside onRequestStart: the exchange ends before any byte is written. */
class AbortOnStart extends Recorder {
  override onRequestStart(controller: Dispatcher.DispatchController): void {
    super.onRequestStart(controller);
    controller.abort(new Error('not wanted'));
  }
}

test('abort after waiting in the queue, from onRequestStart: nothing written, socket destroyed', async () => {
  // undici's contract hands the controller out in onRequestStart, so that is the earliest a handler can abort.
  const o = await rawOrigin((s, req) =>
    setTimeout(() => s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.head.length}\r\n\r\n${req.head}`), 80),
  );
  const p = pool(o, { connections: 1 });
  const a = new Recorder();
  const b = new AbortOnStart();
  p.dispatch({ method: 'GET', path: '/a', headers: {} }, a);
  p.dispatch({ method: 'GET', path: '/b', headers: {} }, b);
  await until(() => a.events.length > 0, 'a to start');
  assert.deepEqual(b.events, [], 'b waits in the queue');
  await Promise.all([a.done, b.done]);
  assert.equal(a.body, `GET /a HTTP/1.1\r\nhost: 127.0.0.1:${o.port}`);
  assert.deepEqual(b.events, ['requestStart', 'error']);
  assert.equal(b.error?.message, 'not wanted');
  assert.equal(b.controller?.aborted, true);
  assert.equal(b.controller?.reason, b.error);
  await until(() => o.closed === 1, 'the origin to see the close');
  assert.ok(!o.requests.some((r) => r.head.startsWith('GET /b')), 'b never reached the origin');
  assert.equal((await send(p, { path: '/c' })).status, 200);
  assert.equal(o.conns.length, 2);
});

/** Aborts on the first body piece. */
class AbortOnData extends Recorder {
  readonly reasonGiven = new Error('client closed the connection');
  override onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    super.onResponseData(c, chunk);
    c.abort(this.reasonGiven);
  }
}

test('abort while the response streams: socket destroyed, origin sees the close, one onResponseError', async () => {
  let originSawClose = false;
  const o = await httpOrigin((req, res) => {
    if (req.url === '/again') return void res.end('fine');
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const t = setInterval(() => res.write(Buffer.alloc(16 * 1024, 'x')), 5);
    res.on('close', () => {
      originSawClose = true;
      clearInterval(t);
    });
  });
  const p = pool(o);
  const r = new AbortOnData();
  await send(p, {}, r);
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'data', 'error']);
  assert.equal(r.error, r.reasonGiven);
  assert.equal(r.controller?.aborted, true);
  await until(() => originSawClose, 'the origin to see the close');
  // aborting an exchange that already ended changes nothing
  const done = await send(p, { path: '/again' });
  const before = done.events.length;
  done.controller!.abort(new Error('late'));
  assert.equal(done.events.length, before);
  assert.equal(done.controller!.aborted, false);
});

test('a handler that throws ends its exchange with that error', async () => {
  const o = await httpOrigin((_req, res) => res.end('body'));
  const p = pool(o);
  const boom = new Error('handler bug');
  const r = new (class extends Recorder {
    override onResponseStart(c: Dispatcher.DispatchController, s: number, h: IncomingHttpHeaders, m?: string): void {
      super.onResponseStart(c, s, h, m);
      throw boom;
    }
  })();
  await send(p, {}, r);
  assert.deepEqual(r.events, ['requestStart', 'responseStart 200', 'error']);
  assert.equal(r.error, boom);
  await until(() => o.closed === 1, 'the socket to close');
});

/** Pauses on the first piece; hashes what it gets without keeping it. */
class SlowReader extends Recorder {
  readonly sum = { a: 0, b: 0 };
  constructor() {
    super(false);
  }
  override onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.received === 0) c.pause();
    super.onResponseData(c, chunk);
    for (let i = 0; i < chunk.length; i++) {
      this.sum.a = (this.sum.a + chunk[i]!) % 65521;
      this.sum.b = (this.sum.b + this.sum.a) % 65521;
    }
  }
}

test('pause/resume: an 8 MiB response with a stalled consumer stops being read, then arrives whole', async () => {
  const SIZE = 8 * 1024 * 1024;
  const piece = Buffer.alloc(64 * 1024);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 31) & 0xff;
  let originFinished = false;
  let originBlocked = false;
  const o = await httpOrigin((_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE) });
    let sent = 0;
    const pump = (): void => {
      while (sent < SIZE) {
        sent += piece.length;
        if (!res.write(piece)) {
          originBlocked = true;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('finish', () => (originFinished = true));
    pump();
  });
  const p = pool(o);
  const r = new SlowReader();
  p.dispatch({ method: 'GET', path: '/', headers: {} }, r);
  await until(() => r.received > 0, 'the first piece');
  await sleep(300);
  const stalled = r.received;
  const mem = process.memoryUsage().arrayBuffers;
  await sleep(300);
  assert.equal(r.received, stalled, 'nothing read while paused');
  assert.ok(r.controller!.paused);
  assert.ok(stalled <= 256 * 1024, `at most a few socket reads delivered after pause (${stalled})`);
  assert.ok(process.memoryUsage().arrayBuffers - mem < 2 * 1024 * 1024, 'memory stays flat while paused');
  assert.ok(originBlocked, 'the origin felt the back-pressure');
  assert.equal(originFinished, false, 'the origin could not finish writing');
  r.controller!.resume();
  await r.done;
  assert.equal(r.error, null);
  assert.equal(r.received, SIZE);
  const expect = new SlowReader();
  for (let k = 0; k < SIZE / piece.length; k++) expect.onResponseData(r.controller!, piece);
  assert.deepEqual(r.sum, expect.sum, 'the bytes are the ones sent, in order');
});

test('a handler that ends paused does not stall the next exchange on that connection', async () => {
  const o = await rawOrigin((s) => setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 30));
  const p = pool(o, { connections: 1 });
  const pausedForever = new (class extends Recorder {
    override onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
      super.onResponseData(c, chunk);
      c.pause(); // and never resumes: the response is complete anyway
    }
  })();
  const next = new Recorder();
  p.dispatch({ method: 'GET', path: '/1', headers: {} }, pausedForever);
  p.dispatch({ method: 'GET', path: '/2', headers: {}, headersTimeout: 1000 }, next);
  await pausedForever.done;
  await next.done;
  assert.equal(next.body, 'ok');
  assert.equal(o.conns.length, 1);
  pausedForever.controller!.resume(); // a late resume from the old handler touches nothing
});

test('malformed responses → onResponseError and the socket is never reused', async () => {
  const cases: Array<[string, string]> = [
    ['bare LF', 'HTTP/1.1 200 OK\r\nfoo: bar\nx: y\r\ncontent-length: 0\r\n\r\n'],
    ['content-length with transfer-encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['conflicting content-length', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 2\r\n\r\nhello'],
    ['invalid status', 'HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n'],
    ['invalid status line', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n'],
    ['chunked body', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'],
    ['head too large', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}\r\ncontent-length: 0\r\n\r\n`],
    ['unexpected 101', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'],
  ];
  const o = await rawOrigin((s, req) => {
    const k = Number(/^GET \/(\d+)/.exec(req.head)![1]);
    s.write(cases[k]![1]);
  });
  const p = pool(o, { connections: 1 });
  for (let k = 0; k < cases.length; k++) {
    const r = await send(p, { path: `/${k}` });
    assert.equal(r.events.at(-1), 'error', cases[k]![0]);
    assert.match(r.error!.message, /^invalid upstream response: /, cases[k]![0]);
    assert.ok(r.error!.message.includes(cases[k]![0]), `${cases[k]![0]}: ${r.error!.message}`);
    assert.equal(r.error!.code, 'UND_ERR_SOCKET');
    await until(() => o.closed === k + 1, `the socket of case ${k} to close`);
  }
  assert.equal(o.conns.length, cases.length, 'a new connection for every case');
});

test('bytes after a complete response: the response as framed is delivered, the connection is never reused', async () => {
  const cases: Array<[string, string, string]> = [
    ['a second response glued on', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil', 'ok'],
    ['a byte after the last chunk', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX', 'ok'],
    ['a body on a 204', 'HTTP/1.1 204 No Content\r\n\r\nbody', ''],
  ];
  const o = await rawOrigin((s, req) => {
    const k = Number(/^GET \/(\d+)/.exec(req.head)![1]);
    s.write(cases[k]![1]);
  });
  const p = pool(o, { connections: 1 });
  for (let k = 0; k < cases.length; k++) {
    const r = await send(p, { path: `/${k}` });
    assert.equal(r.events.at(-1), 'end', cases[k]![0]);
    assert.equal(r.body, cases[k]![2], cases[k]![0]);
    await until(() => o.closed === k + 1, `the socket of case ${k} to close`);
  }
  assert.equal(o.conns.length, cases.length, 'a new connection for every case');
});

test('bytes on an idle connection: that connection is destroyed, the next request opens another', async () => {
  const o = await rawOrigin((s, req) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    if (req.conn === 0) setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil'), 30);
  });
  const p = pool(o);
  assert.equal((await send(p)).body, 'ok');
  await until(() => o.closed === 1, 'the idle socket to be destroyed');
  assert.equal((await send(p)).body, 'ok');
  assert.equal(o.conns.length, 2);
});

test('max connections: FIFO queueing beyond the limit', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const o = await rawOrigin((s, req) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    setTimeout(() => {
      inFlight--;
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.head.split(' ')[1]!.length}\r\n\r\n${req.head.split(' ')[1]!}`);
    }, 40);
  });
  const p = pool(o, { connections: 2 });
  const order: number[] = [];
  const rs = Array.from({ length: 7 }, (_, k) => {
    const r = new (class extends Recorder {
      override onRequestStart(c: Dispatcher.DispatchController): void {
        order.push(k);
        super.onRequestStart(c);
      }
    })();
    p.dispatch({ method: 'GET', path: `/${k}`, headers: {} }, r);
    return r;
  });
  await Promise.all(rs.map((r) => r.done));
  rs.forEach((r, k) => assert.equal(r.body, `/${k}`));
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(maxInFlight, 2);
  assert.equal(o.conns.length, 2);
});

test('close(): idle sockets close at once, in-flight exchanges finish, then it resolves; new dispatches fail', async () => {
  const o = await rawOrigin((s, req) =>
    setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone'), req.head.includes('/slow') ? 250 : 0),
  );
  const p = pool(o, { connections: 2 });
  await Promise.all([send(p), send(p)]); // two idle connections
  assert.equal(o.conns.length, 2);
  const slow = new Recorder();
  p.dispatch({ method: 'GET', path: '/slow', headers: {} }, slow);
  let closed = false;
  const closing = p.close().then(() => (closed = true));
  await until(() => o.closed === 1, 'the idle socket to close');
  const refused = await send(p);
  assert.equal(refused.error?.code, 'UND_ERR_CLOSED');
  assert.deepEqual(refused.events, ['error']);
  await sleep(100);
  assert.equal(closed, false, 'waits for the in-flight exchange');
  await slow.done;
  assert.equal(slow.body, 'done');
  await closing;
  await until(() => o.closed === 2, 'every socket closed');
});

test('destroy(): in-flight and queued exchanges fail now, sockets close', async () => {
  const o = await rawOrigin(() => undefined);
  const p = pool(o, { connections: 1 });
  const a = new Recorder();
  const b = new Recorder();
  p.dispatch({ method: 'GET', path: '/a', headers: {} }, a);
  p.dispatch({ method: 'GET', path: '/b', headers: {} }, b);
  await until(() => o.requests.length === 1, 'a to reach the origin');
  await p.destroy();
  assert.deepEqual(a.events, ['requestStart', 'error']);
  assert.equal(a.error?.code, 'UND_ERR_DESTROYED');
  assert.deepEqual(b.events, ['error']);
  assert.equal(b.error?.code, 'UND_ERR_DESTROYED');
  await until(() => o.closed === 1, 'the origin to see the close');
  assert.equal((await send(p)).error?.code, 'UND_ERR_DESTROYED');
});

test('unsafe request input is refused with a TypeError before any connection (no header injection)', async () => {
  const o = await rawOrigin((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  const p = pool(o);
  const bad: Array<Partial<Dispatcher.DispatchOptions>> = [
    { headers: { 'x-evil': 'a\r\nx-injected: 1' } },
    { headers: { 'x-evil': 'a\nb' } },
    { headers: { 'x-evil': 'a\0b' } },
    { headers: { 'x-evil': ['ok', 'b\rc'] } },
    { headers: { 'bad name': 'x' } },
    { headers: { 'x:y': 'x' } },
    { headers: { 'x-wide': 'caf\u20ac' } },
    { path: '/a b' },
    { path: '/a\r\nx: y' },
    { method: 'GE T' as Dispatcher.HttpMethod },
    { method: 'POST', headers: { 'content-length': 'ten' }, body: Readable.from(['x']) },
  ];
  for (const o2 of bad) {
    const r = await send(p, o2);
    assert.deepEqual(r.events, ['error'], JSON.stringify(o2));
    assert.ok(r.error instanceof TypeError, JSON.stringify(o2));
  }
  assert.equal(o.conns.length, 0);
  assert.equal((await send(p, { headers: { 'x-fine': 'tab\there, obs-text é' } })).status, 200);
});

test('upgrade requests are delegated to undici: onRequestUpgrade gets a socket that echoes', async () => {
  let upgradeHeader: string | undefined;
  const o = await httpOrigin(
    (_req, res) => res.end('no upgrade'),
    (s) =>
      s.on('upgrade', (req, socket: Socket) => {
        upgradeHeader = req.headers.upgrade;
        socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
        socket.pipe(socket);
      }),
  );
  const p = pool(o);
  const r = await send(p, { path: '/ws', upgrade: 'echo' });
  assert.deepEqual(r.events, ['requestStart', 'upgrade 101']);
  assert.equal(upgradeHeader, 'echo');
  assert.equal(r.headers.upgrade, 'echo');
  const sock = r.upgraded!;
  const echoed = new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString())));
  sock.write('ping');
  assert.equal(await echoed, 'ping');
  sock.destroy();
  await p.close();
});
