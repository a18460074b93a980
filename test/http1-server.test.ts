/**
 * The gateway's own HTTP/1.1 server (src/server/h1/), end to end: raw client
 * sockets so the exact bytes on the wire are visible, the real gateway, a real
 * node:http backend and a raw `net` backend for answers node:http cannot send
 * (bodies longer than announced, conflicting framing).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, listenLoopback, eventually, type TestGateway } from './support/gateway.js';

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client: writes bytes as given and parses answers itself.

type Framing = 'none' | 'length' | 'chunked' | 'close';

interface RawResponse {
  version: string;
  status: number;
  /** Lower-case names, in wire order. */
  headers: Array<[string, string]>;
  body: Buffer;
  trailers: Array<[string, string]>;
  framing: Framing;
  /** The exact bytes of this response. */
  raw: Buffer;
}

function header(r: RawResponse, name: string): string | undefined {
  const values = r.headers.filter(([k]) => k === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function parseFields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\r\n')) {
    if (line === '') continue;
    const c = line.indexOf(':');
    if (c <= 0) throw new Error(`malformed field line ${JSON.stringify(line)}`);
    out.push([line.slice(0, c).toLowerCase(), line.slice(c + 1).trim()]);
  }
  return out;
}

/** Decode a chunked body starting at `at`; null while incomplete. */
function parseChunked(buf: Buffer, at: number): { body: Buffer; trailers: Array<[string, string]>; end: number } | null {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const sizeText = buf.toString('latin1', i, eol).split(';')[0]!;
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`invalid chunk size line ${JSON.stringify(buf.toString('latin1', i, eol))}`);
    const size = parseInt(sizeText, 16);
    i = eol + 2;
    if (size === 0) {
      // Trailer section: fields up to an empty line.
      if (buf.length >= i + 2 && buf[i] === 0x0d && buf[i + 1] === 0x0a) return { body: Buffer.concat(parts), trailers: [], end: i + 2 };
      const e = buf.indexOf(CRLFCRLF, i);
      if (e < 0) return null;
      return { body: Buffer.concat(parts), trailers: parseFields(buf.toString('latin1', i, e)), end: e + 4 };
    }
    if (buf.length < i + size + 2) return null;
    parts.push(buf.subarray(i, i + size));
    if (buf[i + size] !== 0x0d || buf[i + size + 1] !== 0x0a) throw new Error('chunk data not followed by CRLF');
    i += size + 2;
  }
}

/** One response at the start of `buf`; null while incomplete. `peerDone`: no more bytes will come. */
function parseResponse(buf: Buffer, headRequest: boolean, peerDone: boolean): { res: RawResponse; end: number } | null {
  const e = buf.indexOf(CRLFCRLF);
  if (e < 0) return null;
  const lines = buf.toString('latin1', 0, e).split('\r\n');
  const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0]!);
  if (m === null) throw new Error(`malformed status line ${JSON.stringify(lines[0])}`);
  const status = Number(m[2]);
  const headers = parseFields(lines.slice(1).join('\r\n'));
  const base = { version: m[1]!, status, headers, trailers: [] as Array<[string, string]> };
  const start = e + 4;
  const te = headers.find(([k]) => k === 'transfer-encoding')?.[1];
  const cl = headers.find(([k]) => k === 'content-length')?.[1];
  if (headRequest || status < 200 || status === 204 || status === 304) {
    return { res: { ...base, body: Buffer.alloc(0), framing: 'none', raw: buf.subarray(0, start) }, end: start };
  }
  if (te !== undefined && /chunked/i.test(te)) {
    const c = parseChunked(buf, start);
    if (c === null) return null;
    return { res: { ...base, body: c.body, trailers: c.trailers, framing: 'chunked', raw: buf.subarray(0, c.end) }, end: c.end };
  }
  if (cl !== undefined) {
    const end = start + Number(cl);
    if (buf.length < end) return null;
    return { res: { ...base, body: buf.subarray(start, end), framing: 'length', raw: buf.subarray(0, end) }, end };
  }
  if (!peerDone) return null;
  return { res: { ...base, body: buf.subarray(start), framing: 'close', raw: buf }, end: buf.length };
}

class RawConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  /** The gateway ended its side (or the connection is gone): no more bytes will come. */
  peerDone = false;
  /** When peerDone became true (Date.now()). */
  peerDoneAt = 0;
  reset = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.notify();
    });
    const done = (): void => {
      if (!this.peerDone) {
        this.peerDone = true;
        this.peerDoneAt = Date.now();
      }
      this.notify();
    };
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', () => {
      this.reset = true;
      done();
    });
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        const c = new RawConn(s);
        open.add(c);
        resolve(c);
      });
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    if (typeof data === 'string') this.socket.write(data, 'latin1');
    else this.socket.write(data);
  }

  /** Bytes received and not consumed by readResponse. */
  get rest(): Buffer {
    return this.buf;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    if (w !== null) w();
  }

  /** Re-run `probe` on every arrival until it gives a value, the peer is done, or `ms` pass. */
  private async until<T>(probe: () => T | null, ms: number): Promise<T | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v !== null || this.peerDone) return v;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = null;
          resolve();
        }, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Read the next response (for a HEAD request pass head: true). Throws when none arrives whole. */
  async readResponse(opts: { head?: boolean; ms?: number } = {}): Promise<RawResponse> {
    const got = await this.until(() => parseResponse(this.buf, opts.head === true, this.peerDone), opts.ms ?? 3000);
    if (got === null)
      throw new Error(
        `no complete response (peer done: ${this.peerDone}); received ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`,
      );
    this.buf = this.buf.subarray(got.end);
    return got.res;
  }

  /** Wait until the gateway closes the connection; true when it did within `ms`. */
  async closed(ms: number): Promise<boolean> {
    await this.until(() => null, ms);
    return this.peerDone;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const open = new Set<RawConn>();

async function exchange(port: number, bytes: string, opts: { head?: boolean } = {}): Promise<{ conn: RawConn; res: RawResponse }> {
  const conn = await RawConn.open(port);
  conn.write(bytes);
  return { conn, res: await conn.readResponse(opts) };
}

const get = (path: string, host = 'app.test', extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Framing invariants every answer of the gateway must keep (RFC 9112 §6). */
function assertSaneFraming(r: RawResponse): void {
  assert.ok(
    !(header(r, 'transfer-encoding') !== undefined && header(r, 'content-length') !== undefined),
    `transfer-encoding and content-length together: ${r.raw.toString('latin1')}`,
  );
  assert.ok(r.headers.filter(([k]) => k === 'content-length').length <= 1, 'one content-length at most');
}

// ---------------------------------------------------------------------------
// Backends.

interface Seen {
  url: string;
  method: string;
  conn: number;
  /** The whole request body arrived (tracked for /refused… paths only). */
  complete: boolean;
}

/** Every request the node backend saw, in arrival order. */
const seen: Seen[] = [];
const connIds = new WeakMap<object, number>();
let nextConnId = 0;
/** Handlers the tests install for particular paths (they answer themselves). */
const hooks = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

const backend: Server = createServer((req, res) => {
  const url = req.url ?? '/';
  let id = connIds.get(req.socket);
  if (id === undefined) connIds.set(req.socket, (id = ++nextConnId));
  const entry: Seen = { url, method: req.method ?? '', conn: id, complete: false };
  seen.push(entry);
  if (url.startsWith('/refused')) {
    // Read to the end, so a request that got through whole is told apart from an aborted one.
    readBody(req).then(
      () => {
        entry.complete = true;
        res.end(url);
      },
      () => res.destroy(),
    );
    return;
  }
  const hook = hooks.get(url);
  if (hook !== undefined) {
    hook(req, res); // the hook owns the exchange
    return;
  }
  if (url.startsWith('/slow/')) {
    setTimeout(() => res.end(url), 200);
    return;
  }
  switch (url) {
    case '/chunked':
      res.write('part1');
      setTimeout(() => res.end('part2'), 10);
      return;
    case '/trailers':
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('abc');
      res.addTrailers({ 'x-checksum': 'c0ffee' });
      res.end();
      return;
    case '/head':
      res.writeHead(200, { 'content-length': 1234, 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'h'.repeat(1234));
      return;
    case '/204':
      res.writeHead(204, { 'x-kind': 'no-content' });
      res.end();
      return;
    case '/304':
      res.writeHead(304, { etag: '"v1"' });
      res.end();
      return;
    case '/echo-body':
      readBody(req).then(
        (b) => res.end(JSON.stringify({ n: b.length, sha: sha(b) })),
        () => res.destroy(), // the client went away mid-body
      );
      return;
    case '/reject':
      // Answers before reading the body (an upload over a limit).
      res.writeHead(413, { 'content-type': 'text/plain', 'content-length': 8 });
      res.end('too big\n');
      return;
    default:
      res.end(url);
  }
});
backend.on('upgrade', (req, socket) => {
  seen.push({ url: req.url ?? '/', method: req.method ?? '', conn: 0, complete: false });
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  socket.on('data', (d: Buffer) => socket.write(d));
  // Close when the client does: the gateway keeps a half-closed tunnel open (and counted in flight) until then.
  socket.on('end', () => socket.end());
});

/**
 * A backend speaking raw bytes: `/overlong` follows the 5 body bytes its
 * content-length announces with a forged second response, `/overlong-late`
 * sends the forged bytes 30 ms later (once the answer looks complete), `/te-cl`
 * sends both Content-Length and chunked; anything else gets its path back.
 */
const SMUGGLED = 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\nx-smuggled: yes\r\n\r\nSMUGGLED';
const rawBackend: NetServer = createNet((s) => {
  let buf = '';
  s.on('error', () => s.destroy());
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let e = buf.indexOf('\r\n\r\n'); e >= 0; e = buf.indexOf('\r\n\r\n')) {
      const path = buf.slice(0, e).split(' ')[1] ?? '/';
      buf = buf.slice(e + 4);
      if (path === '/overlong') s.write(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello${SMUGGLED}`);
      else if (path === '/overlong-late') {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
        setTimeout(() => s.write(SMUGGLED), 30);
      } else if (path === '/te-cl')
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      else s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`);
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
    raw:
      rule: Host(\`raw.test\`)
      service: raw
    inject:
      rule: Host(\`inject.test\`)
      service: app
      middlewares: [inject]
  middlewares:
    inject:
      headers:
        customResponseHeaders:
          X-Injected: "ok\\r\\nSet-Cookie: evil=1"
  services:
    app:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${app}" }]
    raw:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${raw}" }]
`;
}

let gw: TestGateway;
/** readTimeout=1s, idleTimeout=1s. */
let gwTimeouts: TestGateway;
/** http.server=node. */
let gwNode: TestGateway;
/** Closed by the graceful-shutdown test. */
let gwShutdown: TestGateway;
let shutdownClosing: Promise<void> | null = null;

before(async () => {
  const appPort = await listenLoopback(backend);
  const rawPort = await listenLoopback(rawBackend);
  const files = { 'routes.yaml': routes(appPort, rawPort) };
  [gw, gwTimeouts, gwNode, gwShutdown] = await Promise.all([
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
    startGateway({ files, adminEntryPoint: false }),
  ]);
});

after(async () => {
  for (const c of open) c.destroy();
  await Promise.all([gw.close(), gwTimeouts.close(), gwNode.close(), shutdownClosing ?? gwShutdown.close()]);
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
  await new Promise<void>((r) => rawBackend.close(() => r()));
});

// ---------------------------------------------------------------------------
// Connection management.

test('keep-alive: three sequential requests on one connection, one upstream connection', async () => {
  const conn = await RawConn.open(gw.port);
  const from = seen.length;
  for (const p of ['/ka1', '/ka2', '/ka3']) {
    conn.write(get(p));
    const r = await conn.readResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), p);
    assert.equal(header(r, 'connection'), undefined, 'an HTTP/1.1 keep-alive answer needs no connection header');
  }
  assert.equal(conn.peerDone, false, 'the connection stays open');
  const upstream = new Set(seen.slice(from).map((s) => s.conn));
  assert.equal(upstream.size, 1, `upstream connections used: ${[...upstream].join(', ')}`);
  conn.destroy();
});

test('pipelining: three requests in one write are answered in order', async () => {
  const conn = await RawConn.open(gw.port);
  conn.write(get('/pipe1') + get('/slow/pipe2') + get('/pipe3'));
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) bodies.push((await conn.readResponse()).body.toString());
  assert.deepEqual(bodies, ['/pipe1', '/slow/pipe2', '/pipe3']);
  await sleep(20);
  assert.equal(conn.rest.length, 0, 'nothing after the third answer');
  conn.destroy();
});

test('HTTP/1.0 without keep-alive: answered, then the gateway closes', async () => {
  const { conn, res } = await exchange(gw.port, 'GET /ten HTTP/1.0\r\nHost: app.test\r\n\r\n');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '/ten');
  assert.ok(await conn.closed(2000), 'connection closed after the answer');
});

test('HTTP/1.0 with Connection: keep-alive: the answer says keep-alive and the connection is reused', async () => {
  const req = 'GET /ten-ka HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n';
  const { conn, res } = await exchange(gw.port, req);
  assert.equal(res.status, 200);
  assert.equal(header(res, 'connection')?.toLowerCase(), 'keep-alive');
  conn.write(req);
  const again = await conn.readResponse();
  assert.equal(again.body.toString(), '/ten-ka');
  assert.equal(conn.peerDone, false);
  conn.destroy();
});

test('HTTP/1.0: a chunked backend answer arrives close-delimited, without chunk framing', async () => {
  const { conn, res } = await exchange(gw.port, 'GET /chunked HTTP/1.0\r\nHost: app.test\r\n\r\n');
  assert.equal(res.framing, 'close');
  assert.equal(header(res, 'transfer-encoding'), undefined);
  assert.equal(res.body.toString(), 'part1part2');
  conn.destroy();
});

test('a client that ends its side before the answer has given up: the exchange is cancelled, the origin sees it', async () => {
  // nginx, Go (Traefik) and node:http read a FIN so; a closed socket cannot be told apart from a half-closed one.
  let originClosed = false;
  const arrived = new Promise<void>((resolve) =>
    hooks.set('/hold-half', (req) => {
      req.socket.once('close', () => (originClosed = true));
      resolve();
    }),
  );
  const conn = await RawConn.open(gw.port);
  conn.write(get('/hold-half'));
  await arrived;
  conn.socket.end();
  assert.ok(await conn.closed(2000), 'the gateway closed the connection');
  assert.ok(await eventually(() => originClosed, 5000, 20), 'the upstream request was aborted');
  assert.equal(conn.rest.length, 0, 'no answer after the client gave up');
});

// ---------------------------------------------------------------------------
// Refusals: answered once, connection closed, nothing reaches the backend.

const FOLLOW = get('/refused-follow-up');
interface Refusal {
  name: string;
  bytes: string;
  status: number;
  /** The head is valid, the body is not (the exchange has started when the body is found broken). */
  badBody?: boolean;
}
const refusals: Refusal[] = [
  {
    name: 'Content-Length with Transfer-Encoding',
    bytes: `POST /refused-clte HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${FOLLOW}`,
    status: 400,
  },
  {
    // chunked is not the final coding: the length cannot be determined (RFC 9112 §6.3).
    name: 'Transfer-Encoding: gzip',
    bytes: `POST /refused-gzip HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\r\n${FOLLOW}`,
    status: 400,
  },
  {
    name: 'Transfer-Encoding: gzip, chunked',
    bytes: `POST /refused-gzip-chunked HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${FOLLOW}`,
    status: 501,
  },
  { name: 'obs-fold', bytes: `GET /refused-fold HTTP/1.1\r\nHost: app.test\r\nX-A: a\r\n b\r\n\r\n${FOLLOW}`, status: 400 },
  { name: 'a bare LF line ending', bytes: `GET /refused-lf HTTP/1.1\r\nHost: app.test\nX-A: a\r\n\r\n${FOLLOW}`, status: 400 },
  {
    name: 'bare LF line endings only',
    bytes: 'GET /refused-lf-only HTTP/1.1\nHost: app.test\n\n',
    status: 400,
  },
  { name: 'two Host headers', bytes: `GET /refused-hosts HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n${FOLLOW}`, status: 400 },
  { name: 'no Host on HTTP/1.1', bytes: `GET /refused-nohost HTTP/1.1\r\nX-A: a\r\n\r\n${FOLLOW}`, status: 400 },
  { name: 'HTTP/2.0 request line', bytes: `GET /refused-h2 HTTP/2.0\r\nHost: app.test\r\n\r\n${FOLLOW}`, status: 505 },
  {
    name: 'header section over 16 KiB',
    bytes: `GET /refused-big HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n${FOLLOW}`,
    status: 431,
  },
  {
    name: 'invalid chunk size',
    bytes: `POST /refused-chunk HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${FOLLOW}`,
    status: 400,
    badBody: true,
  },
];

/** Send a refused request; checks it is answered once and closed; returns what the backend saw of it. */
async function refusedOnce(c: Refusal): Promise<Seen[]> {
  const from = seen.length;
  const { conn, res } = await exchange(gw.port, c.bytes);
  assert.equal(res.status, c.status, res.raw.toString('latin1'));
  assert.equal(header(res, 'connection'), 'close');
  assert.ok(await conn.closed(2000), 'connection closed');
  assert.equal(conn.rest.length, 0, `answered once; then got ${JSON.stringify(conn.rest.toString('latin1'))}`);
  await sleep(50);
  return seen.slice(from).filter((s) => s.url.startsWith('/refused'));
}

for (const c of refusals) {
  test(`refused: ${c.name} → ${c.status}, once, then closed`, async () => {
    const reached = await refusedOnce(c);
    assert.deepEqual(
      reached.filter((s) => s.complete),
      [],
      'no request reached the backend whole',
    );
    // A broken body is found after the exchange started: checked strictly below.
    if (c.badBody !== true) assert.deepEqual(reached, [], 'the backend saw none of it');
  });
}

// A body is streamed: its head may reach the backend before a later chunk turns out
// broken (node:http and Traefik do the same). The backend then sees an aborted
// request, never a complete one: checked by the loop above.

// ---------------------------------------------------------------------------
// Request bodies.

test('a chunked request body split across writes reaches the backend decoded and whole', async () => {
  const conn = await RawConn.open(gw.port);
  conn.write('POST /echo-body HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n');
  const big = 'x'.repeat(3000);
  // Split inside sizes, data, CRLFs and the last chunk; one chunk extension.
  const pieces = [
    '5\r\nhel',
    'lo\r',
    '\n6;ext=1\r\n wor',
    'ld\r\n',
    `${(3000).toString(16)}\r\n${big.slice(0, 1000)}`,
    `${big.slice(1000)}\r\n0`,
    '\r\n',
    '\r\n',
  ];
  for (const p of pieces) {
    conn.write(p);
    await sleep(10);
  }
  const r = await conn.readResponse();
  assert.equal(r.status, 200);
  const expected = `hello world${big}`;
  assert.deepEqual(JSON.parse(r.body.toString()), { n: expected.length, sha: sha(expected) });
  conn.destroy();
});

test('a 1 MiB content-length upload reaches the backend whole', async () => {
  const body = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const conn = await RawConn.open(gw.port);
  conn.write(`POST /echo-body HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${body.length}\r\n\r\n`);
  for (let i = 0; i < body.length; i += 256 * 1024) conn.write(body.subarray(i, i + 256 * 1024));
  const r = await conn.readResponse({ ms: 5000 });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), { n: body.length, sha: sha(body) });
  conn.destroy();
});

test('an answer before a short request body ended: the rest is read and dropped, the connection stays usable', async () => {
  const conn = await RawConn.open(gw.port);
  // No router for this host: the 404 is written before any body byte arrived.
  conn.write('POST /nowhere HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: 11\r\n\r\n');
  const r = await conn.readResponse();
  assert.equal(r.status, 404);
  assert.equal(header(r, 'connection'), undefined, 'kept alive: the 11 remaining bytes will be dropped');
  // The body arrives late, with the next request right behind it in the same write.
  conn.write('hello world' + 'GET /after-discard HTTP/1.1\r\nHost: app.test\r\n\r\n');
  const next = await conn.readResponse();
  assert.equal(next.status, 200, 'the request after the dropped body is served');
  assert.ok(!seen.some((x) => x.url === '/nowhere'), 'the refused request never reached a backend');
});

test('a backend answering 413 before reading the body: the client gets it and the connection closes', async () => {
  const conn = await RawConn.open(gw.port);
  conn.write(`POST /reject HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
  conn.write(Buffer.alloc(64 * 1024, 1));
  const r = await conn.readResponse();
  assert.equal(r.status, 413);
  assert.equal(r.body.toString(), 'too big\n');
  assert.equal(header(r, 'connection'), 'close', 'the unread body makes the connection unusable');
  assert.ok(await conn.closed(3000), 'connection closed');
});

test('a client that aborts mid-upload: the backend sees an incomplete body; the gateway keeps serving', async () => {
  const arrived = new Promise<IncomingMessage>((resolve) => hooks.set('/upload-abort', resolve));
  const conn = await RawConn.open(gw.port);
  conn.write(`POST /upload-abort HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100000\r\n\r\n`);
  conn.write(Buffer.alloc(1000, 2));
  const req = await arrived;
  hooks.delete('/upload-abort');
  let received = 0;
  let complete = false;
  req.on('data', (d: Buffer) => (received += d.length));
  req.on('end', () => (complete = true));
  const ended = new Promise<string>((resolve) => {
    req.once('aborted', () => resolve('aborted'));
    req.once('close', () => resolve('close'));
  });
  await eventually(() => received >= 1000, 1000, 10);
  conn.destroy();
  const how = await Promise.race([ended, sleep(3000, 'timeout')]);
  assert.notEqual(how, 'timeout', 'the backend request ended');
  assert.equal(complete, false, 'the body is not reported complete');
  assert.ok(received < 100000, `received ${received}`);
  const next = await exchange(gw.port, get('/after-abort'));
  assert.equal(next.res.body.toString(), '/after-abort');
  next.conn.destroy();
});

// ---------------------------------------------------------------------------
// Responses.

test('HEAD keeps the backend content-length and sends no body bytes', async () => {
  const conn = await RawConn.open(gw.port);
  conn.write(`HEAD /head HTTP/1.1\r\nHost: app.test\r\n\r\n${get('/after-head')}`);
  const h = await conn.readResponse({ head: true });
  assert.equal(h.status, 200);
  assert.equal(header(h, 'content-length'), '1234');
  // The next bytes must be the next answer's status line, not a body.
  const next = await conn.readResponse();
  assert.equal(next.body.toString(), '/after-head');
  conn.destroy();
});

for (const status of [204, 304]) {
  test(`${status} has no body`, async () => {
    const conn = await RawConn.open(gw.port);
    conn.write(get(`/${status}`) + get(`/after-${status}`));
    // Read as if it were a HEAD answer: anything after the head must be the next response.
    const r = await conn.readResponse({ head: true });
    assert.equal(r.status, status);
    assert.equal(header(r, 'transfer-encoding'), undefined);
    const next = await conn.readResponse();
    assert.equal(next.status, 200, `expected the next answer, got ${next.raw.toString('latin1')}`);
    assert.equal(next.body.toString(), `/after-${status}`);
    conn.destroy();
  });
}

test('a chunked backend answer with trailers reaches an HTTP/1.1 client with the trailers after the last chunk', async () => {
  const { conn, res } = await exchange(gw.port, get('/trailers', 'app.test', 'TE: trailers\r\n'));
  assert.equal(res.framing, 'chunked');
  assert.equal(res.body.toString(), 'abc');
  assert.deepEqual(res.trailers, [['x-checksum', 'c0ffee']], res.raw.toString('latin1'));
  assert.match(res.raw.toString('latin1'), /\r\n0\r\nx-checksum: c0ffee\r\n\r\n$/i);
  conn.destroy();
});

test('answers carry a date header and never both transfer-encoding and content-length', async () => {
  const conn = await RawConn.open(gw.port);
  for (const p of ['/plain', '/chunked', '/trailers', '/head']) {
    conn.write(get(p));
    const r = await conn.readResponse();
    assert.match(header(r, 'date') ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, `date of ${p}`);
    assertSaneFraming(r);
  }
  conn.destroy();
  // A backend that sends both: refused or normalised, never relayed as is.
  const te = await exchange(gw.port, get('/te-cl', 'raw.test'));
  assertSaneFraming(te.res);
  te.conn.destroy();
});

for (const path of ['/overlong', '/overlong-late']) {
  test(`a backend body longer than its content-length is not relayed (${path})`, async () => {
    let conn = await RawConn.open(gw.port);
    conn.write(get(path, 'raw.test'));
    const all: Buffer[] = [];
    try {
      const r = await conn.readResponse();
      all.push(r.raw);
      // Either exactly what was announced, or a failure: never the extra bytes.
      if (r.status === 200) assert.equal(r.body.toString(), 'hello');
    } catch {
      // An aborted answer is acceptable.
    }
    await sleep(60); // the late extra bytes have been sent by now
    if (conn.peerDone) conn = await RawConn.open(gw.port);
    // The next request to the same backend gets its own answer, not the forged one.
    conn.write(get('/second', 'raw.test'));
    const second = await conn.readResponse();
    all.push(second.raw);
    assert.equal(second.body.toString(), '/second');
    await sleep(20);
    all.push(conn.rest);
    const text = Buffer.concat(all).toString('latin1');
    assert.ok(!text.includes('SMUGGLED') && !/x-smuggled/i.test(text), `forged bytes reached the client: ${JSON.stringify(text)}`);
    conn.destroy();
  });
}

// ---------------------------------------------------------------------------
// Timeouts (readTimeout=1s, idleTimeout=1s; the sweep runs every second).

test('timeouts', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('half a head, then silence → 408 within 1–3 s and the connection closes', async () => {
      const conn = await RawConn.open(gwTimeouts.port);
      const t0 = Date.now();
      conn.write('GET /half HTTP/1.1\r\nHost: app.t');
      const r = await conn.readResponse({ ms: 4000 });
      const took = Date.now() - t0;
      assert.equal(r.status, 408);
      assert.ok(took >= 900 && took <= 3000, `408 after ${took} ms`);
      assert.ok(await conn.closed(1000));
    }),
    t.test('content-length: 10 with 3 body bytes → connection closed within 1–3 s', async () => {
      const conn = await RawConn.open(gwTimeouts.port);
      const t0 = Date.now();
      conn.write('POST /echo-body HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n\r\nabc');
      assert.ok(await conn.closed(4000), 'connection closed');
      const took = conn.peerDoneAt - t0;
      assert.ok(took >= 900 && took <= 3000, `closed after ${took} ms`);
      // Whatever was sent (a 408) must not be a successful answer.
      assert.doesNotMatch(conn.rest.toString('latin1'), /^HTTP\/1\.1 2/);
    }),
    t.test('an idle keep-alive connection is closed within 1–3 s', async () => {
      const { conn, res } = await exchange(gwTimeouts.port, get('/idle'));
      assert.equal(res.body.toString(), '/idle');
      const t0 = Date.now();
      assert.ok(await conn.closed(4000), 'connection closed');
      const took = conn.peerDoneAt - t0;
      assert.ok(took >= 900 && took <= 3000, `closed after ${took} ms idle`);
    }),
  ]);
});

// ---------------------------------------------------------------------------
// Requests handed to node:http.

async function expectContinue(): Promise<{ cont: RawResponse; final: RawResponse }> {
  const conn = await RawConn.open(gw.port);
  conn.write('POST /echo-body HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const cont = await conn.readResponse();
  conn.write('hello');
  const final = await conn.readResponse();
  conn.destroy();
  return { cont, final };
}

test('Expect: 100-continue is handed to node:http: 100 Continue, then one final answer', async () => {
  const { cont, final } = await expectContinue();
  assert.match(cont.raw.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  assert.ok(final.status >= 200, `final status ${final.status}`);
});

test('Expect: 100-continue: the body reaches the backend and its answer the client', async () => {
  const { final } = await expectContinue();
  assert.equal(final.status, 200, final.raw.toString('latin1'));
  assert.deepEqual(JSON.parse(final.body.toString()), { n: 5, sha: sha('hello') });
});

test('an Upgrade after a plain request on the same connection still works', async () => {
  const conn = await RawConn.open(gw.port);
  conn.write(get('/before-upgrade'));
  assert.equal((await conn.readResponse()).body.toString(), '/before-upgrade');
  conn.write(get('/upgrade', 'app.test', 'Connection: Upgrade\r\nUpgrade: echo\r\n'));
  const up = await conn.readResponse({ head: true });
  assert.equal(up.status, 101);
  assert.equal(header(up, 'upgrade'), 'echo');
  conn.write('ping-after-upgrade');
  assert.ok(await eventually(() => conn.rest.toString().includes('ping-after-upgrade'), 2000, 10), `echo: ${conn.rest.toString()}`);
  conn.destroy();
});

// ---------------------------------------------------------------------------
// Options and shutdown.

test('http.server=node still proxies (node:http answers, with its Keep-Alive header)', async () => {
  const viaNode = await exchange(gwNode.port, get('/node'));
  assert.equal(viaNode.res.status, 200);
  assert.equal(viaNode.res.body.toString(), '/node');
  assert.match(header(viaNode.res, 'keep-alive') ?? '', /timeout=/, 'node:http announces its keep-alive timeout');
  viaNode.conn.destroy();
  const own = await exchange(gw.port, get('/own'));
  assert.equal(header(own.res, 'keep-alive'), undefined, 'the own server does not');
  own.conn.destroy();
});

test('graceful shutdown: a request in flight is answered, with connection: close', async () => {
  let release: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    hooks.set('/shutdown', (_req, res) => {
      resolve();
      release = () => res.end('/shutdown');
    });
  });
  const conn = await RawConn.open(gwShutdown.port);
  conn.write(get('/shutdown'));
  await arrived;
  hooks.delete('/shutdown');
  shutdownClosing = gwShutdown.close();
  // Answer once the gateway has stopped accepting: the entry point is closing by then.
  const refused = await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(gwShutdown.port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      }),
    3000,
    20,
  );
  assert.ok(refused, 'the listener closed');
  release();
  const r = await conn.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), '/shutdown');
  assert.equal(header(r, 'connection'), 'close');
  await shutdownClosing;
});

/** Everything a client gets for a request to the router whose headers middleware puts CR/LF in a value. */
async function injected(): Promise<{ status: number; raw: string }> {
  const conn = await RawConn.open(gw.port);
  conn.write(get('/inject', 'inject.test'));
  let status = 0;
  let raw = '';
  try {
    const r = await conn.readResponse();
    status = r.status;
    raw = r.raw.toString('latin1');
  } catch {
    // No answer at all: status stays 0.
  }
  await conn.closed(200);
  raw += conn.rest.toString('latin1');
  conn.destroy();
  return { status, raw };
}

test('a CR/LF in a configured response header value never reaches the client as a split header', async () => {
  const { status, raw } = await injected();
  assert.doesNotMatch(raw, /\r\nset-cookie: evil=1/i, 'split header');
  assert.notEqual(status, 200, 'not a clean answer');
});

test('a CR/LF in a configured response header value: refused by validation or answered 500', async () => {
  const { status } = await injected();
  // Refused by validation (the router is not served: 404) or answered 500.
  assert.ok(status === 500 || status === 404, `status ${status}`);
});
