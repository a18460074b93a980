/**
 * HTTP/2 limits on an entry point (docs/tls.md, "HTTP/2 limits"). The test is
 * the attacker: a raw HTTP/2 client written here (frames byte by byte per RFC
 * 9113, header blocks as HPACK literals without indexing, RFC 7541 §6.2.2)
 * sends too many concurrent streams, a rapid-reset flood (CVE-2023-44487), a
 * CONTINUATION flood (CVE-2024-27316), a header list over the limit and a
 * SETTINGS exchange that never completes. nghttp, curl and h2load (the real
 * nghttp2 clients) check that ordinary h2c and h2-over-TLS traffic still works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

const run = promisify(execFile);

// ---- a raw HTTP/2 client (RFC 9113 §4, §6) ----

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
/** Error codes (RFC 9113 §7). */
const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, SETTINGS_TIMEOUT: 4, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 };

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(v: number, prefix: number, first: number): number[] {
  const max = (1 << prefix) - 1;
  if (v < max) return [first | v];
  const out = [first | max];
  for (v -= max; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) | 128);
  out.push(v);
  return out;
}

/** Header fields as "literal header field without indexing — new name" (RFC 7541 §6.2.2), no Huffman. */
function hpack(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of fields) {
    const name = Buffer.from(n, 'latin1');
    const value = Buffer.from(v, 'latin1');
    parts.push(Buffer.from([0x00, ...hpackInt(name.length, 7, 0)]), name, Buffer.from(hpackInt(value.length, 7, 0)), value);
  }
  return Buffer.concat(parts);
}

function requestBlock(path: string, extra: [string, string][] = []): Buffer {
  return hpack([[':method', 'GET'], [':scheme', 'http'], [':authority', 'h2.test'], [':path', path], ...extra]);
}

/** GET `path` on `stream` in one HEADERS frame (END_HEADERS | END_STREAM). */
const get = (stream: number, path: string): Buffer => frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, stream, requestBlock(path));

function rst(stream: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(T.RST_STREAM, 0, stream, p);
}

interface Goaway {
  lastStream: number;
  code: number;
}

/** What the server sent on one connection, parsed frame by frame. */
class RawH2 {
  readonly socket: Socket;
  serverSettings: Map<number, number> | null = null;
  /** Every GOAWAY received, in order. */
  readonly goaways: Goaway[] = [];
  /** RST_STREAM received: stream → error code. */
  readonly resets = new Map<number, number>();
  /** Streams a response HEADERS frame arrived on. */
  readonly responses = new Set<number>();
  /** Streams whose response ended (END_STREAM). */
  readonly ended = new Set<number>();
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiters: (() => void)[] = [];

  /** Opens a connection and sends the preface and an empty SETTINGS; `ackSettings` acknowledges the server's. */
  constructor(
    port: number,
    private readonly ackSettings = true,
    sendSettings = true,
    tls = false,
  ) {
    // Over TLS: ALPN h2, the test's self-signed certificate is not checked (the attacker does not care).
    this.socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : netConnect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    this.socket.write(sendSettings ? Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]) : PREFACE);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const type = this.buf[3]!;
      const flags = this.buf[4]!;
      const stream = this.buf.readUInt32BE(5) & 0x7fffffff;
      const p = this.buf.subarray(9, 9 + len);
      this.buf = this.buf.subarray(9 + len);
      if (type === T.SETTINGS && (flags & F.ACK) === 0) {
        const s = new Map<number, number>();
        for (let i = 0; i + 6 <= p.length; i += 6) s.set(p.readUInt16BE(i), p.readUInt32BE(i + 2));
        this.serverSettings = s;
        if (this.ackSettings) this.write(frame(T.SETTINGS, F.ACK, 0));
      } else if (type === T.GOAWAY) this.goaways.push({ lastStream: p.readUInt32BE(0) & 0x7fffffff, code: p.readUInt32BE(4) });
      else if (type === T.RST_STREAM) this.resets.set(stream, p.readUInt32BE(0));
      else if (type === T.HEADERS) {
        this.responses.add(stream);
        if ((flags & F.END_STREAM) !== 0) this.ended.add(stream);
      } else if (type === T.DATA && (flags & F.END_STREAM) !== 0) this.ended.add(stream);
      else if (type === T.PING && (flags & F.ACK) === 0) this.write(frame(T.PING, F.ACK, 0, p));
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `cond` holds (checked on every frame and on close), rejects after `ms`. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Write, waiting for the socket to drain; false once the server has closed it. */
  async write(b: Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return false;
    if (this.socket.write(b)) return true;
    await new Promise<void>((r) => {
      this.socket.once('drain', r);
      this.socket.once('close', r);
    });
    return !this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the gateway and its backend ----

let gw: TestGateway;
let pki: TestPki;
let backend: Server;
/** Requests the backend saw, by first path segment. */
const seen = new Map<string, number>();
/** Held responses (/hold/…), answered by release(). */
const held: ServerResponse[] = [];

function count(prefix: string): number {
  return seen.get(prefix) ?? 0;
}

function release(): void {
  for (const r of held.splice(0)) r.end('released');
}

before(async () => {
  pki = createTestPki();
  backend = createServer((req: IncomingMessage, res: ServerResponse) => {
    const first = (req.url ?? '/').split('/')[1] ?? '';
    seen.set(first, count(first) + 1);
    if (first === 'hold') held.push(res);
    else res.end(`ok ${req.url}`);
  });
  backend.keepAliveTimeout = 30_000;
  const port = await listenLoopback(backend);
  gw = await startGateway({
    files: {
      'h2.yml': `
http:
  routers:
    plain:
      rule: PathPrefix(\`/\`)
      service: backend
    secure:
      rule: PathPrefix(\`/\`)
      service: backend
      tls: {}
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
tls:
  stores:
    default:
      defaultCertificate:
        certFile: |
${indent(pki.serverCrt, 10)}
        keyFile: |
${indent(pki.serverKey, 10)}
`,
    },
    // The settings timeout is min(headersTimeout, 10 s); a short readTimeout keeps that test short.
    flags: ['--entrypoints.web.transport.respondingTimeouts.readTimeout=3s'],
  });
});

function indent(pem: string, n: number): string {
  return pem
    .trim()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

after(async () => {
  release();
  await gw?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  pki?.close();
});

/** One ordinary request on a fresh connection: the gateway still serves. */
async function stillServes(path: string): Promise<void> {
  const c = new RawH2(gw.port);
  try {
    await c.write(get(1, path));
    await c.until(() => c.ended.has(1) || c.closed, 5000, `a response to ${path}`);
    assert.ok(c.responses.has(1), `no response to ${path} on a new connection`);
    assert.equal(c.resets.size, 0);
  } finally {
    c.destroy();
  }
}

// ---- ordinary clients ----

test('nghttp: h2c with prior knowledge and h2 over TLS (ALPN) are served; the limits are advertised', async () => {
  for (const url of [`http://127.0.0.1:${gw.port}/nghttp/plain`, `https://127.0.0.1:${gw.port}/nghttp/tls`]) {
    const { stdout } = await run('nghttp', ['-v', '--no-verify-peer', '-t', '10', url], { timeout: 20_000 });
    assert.match(stdout, /:status: 200/, url);
    assert.match(stdout, new RegExp(`ok /nghttp/${url.startsWith('https') ? 'tls' : 'plain'}`), url);
    // The server's SETTINGS: SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_MAX_HEADER_LIST_SIZE.
    assert.match(stdout, /SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):250/, url);
    assert.match(stdout, /SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):16384/, url);
  }
  assert.equal(count('nghttp'), 2);
});

test('curl --http2 over TLS and --http2-prior-knowledge on cleartext', async () => {
  const tls = await run('curl', ['-sS', '--http2', '-k', '-w', '%{http_version}', `https://127.0.0.1:${gw.port}/curl/tls`], {
    timeout: 20_000,
  });
  assert.equal(tls.stdout, 'ok /curl/tls2');
  const plain = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', '%{http_version}', `http://127.0.0.1:${gw.port}/curl/plain`], {
    timeout: 20_000,
  });
  assert.equal(plain.stdout, 'ok /curl/plain2');
});

test('h2load: 400 requests, 4 connections, 50 streams each, all succeed', { skip: !existsSync('/usr/bin/h2load') }, async () => {
  const { stdout } = await run('h2load', ['-n', '400', '-c', '4', '-m', '50', `http://127.0.0.1:${gw.port}/h2load`], { timeout: 30_000 });
  assert.match(stdout, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/);
});

// ---- (a) concurrent streams ----

test('streams beyond maxConcurrentStreams (250) before the SETTINGS ACK are refused with REFUSED_STREAM; the rest are served', async () => {
  const c = new RawH2(gw.port, false);
  try {
    const before = count('hold');
    const frames: Buffer[] = [];
    for (let i = 0; i < 260; i++) frames.push(get(1 + 2 * i, `/hold/${i}`));
    await c.write(Buffer.concat(frames));
    await c.until(() => c.resets.size >= 10, 5000, '10 refused streams');
    // The refused ones are the last ten; none of them reached the backend.
    const refused = [...c.resets].filter(([, code]) => code === E.REFUSED_STREAM).map(([s]) => s);
    assert.deepEqual(
      refused.sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => 1 + 2 * (250 + i)),
    );
    assert.ok(await eventually(() => count('hold') - before === 250, 5000), `backend saw ${count('hold') - before} of 250`);
    release();
    await c.until(() => c.ended.size === 250, 10_000, '250 responses');
    assert.equal(c.goaways.length, 0);
    assert.equal(c.closed, false);
  } finally {
    release();
    c.destroy();
  }
});

test('exceeding the acknowledged stream limit is a connection error: GOAWAY, then the connection closes', async () => {
  const c = new RawH2(gw.port);
  try {
    await c.until(() => c.serverSettings !== null, 5000, 'server SETTINGS');
    await sleep(50); // our ACK is on its way before the streams
    const frames: Buffer[] = [];
    for (let i = 0; i < 251; i++) frames.push(get(1 + 2 * i, `/hold/x${i}`));
    await c.write(Buffer.concat(frames));
    await c.until(() => c.closed, 10_000, 'the connection to close');
    assert.ok(c.goaways.length > 0, 'no GOAWAY');
    const g = c.goaways[c.goaways.length - 1]!;
    // nghttp2 treats it as a connection error (RFC 9113 §5.4.1 allows it for a stream error);
    // the GOAWAY names a stream before the 251st.
    assert.ok(g.lastStream < 1 + 2 * 250, `GOAWAY last stream ${g.lastStream}`);
    assert.notEqual(g.code, E.NO_ERROR);
  } finally {
    release();
    c.destroy();
  }
  await stillServes('/after/limit');
});

// ---- (b) rapid reset ----

for (const tls of [false, true]) {
  test(`rapid reset flood (HEADERS + RST_STREAM, 5000 streams${tls ? ', over TLS' : ''}): GOAWAY ENHANCE_YOUR_CALM, connection closed, backend spared`, async (t) => {
    const before = count('rr');
    const c = new RawH2(gw.port, true, true, tls);
    let opened = 0;
    try {
      await c.until(() => c.serverSettings !== null, 5000, 'server SETTINGS');
      const N = 5000;
      for (let i = 0; i < N && !c.closed; i += 100) {
        const batch: Buffer[] = [];
        for (let j = i; j < i + 100; j++) batch.push(get(1 + 2 * j, `/rr/${j}`), rst(1 + 2 * j, E.CANCEL));
        if (!(await c.write(Buffer.concat(batch)))) break;
        opened += 100;
        await tick();
      }
      await c.until(() => c.closed, 10_000, 'the connection to close');
      assert.ok(
        c.goaways.some((g) => g.code === E.ENHANCE_YOUR_CALM),
        `GOAWAYs: ${JSON.stringify(c.goaways)}`,
      );
    } finally {
      c.destroy();
    }
    await sleep(200);
    const reached = count('rr') - before;
    t.diagnostic(`the backend saw ${reached} of ${opened} reset streams; GOAWAYs ${JSON.stringify(c.goaways)}`);
    assert.ok(reached < opened / 10, `the backend saw ${reached} of ${opened} reset streams`);
    await stillServes('/after/rapid-reset');
  });
}

test('resets that arrive after the request was dispatched count too: the session ends at the reset budget', async () => {
  const before = count('slowrr');
  const c = new RawH2(gw.port);
  let opened = 0;
  try {
    await c.until(() => c.serverSettings !== null, 5000, 'server SETTINGS');
    // HEADERS in one write, their RST_STREAMs in the next, a few ms apart: the requests are
    // dispatched before their resets arrive, so only the per-session budget (500 = 2 × 250) stops this.
    // The client stops at the first GOAWAY, as a well-behaved one would.
    for (let i = 0; i < 2000 && !c.closed && c.goaways.length === 0; i += 50) {
      const heads: Buffer[] = [];
      const resets: Buffer[] = [];
      for (let j = i; j < i + 50; j++) {
        heads.push(get(1 + 2 * j, `/slowrr/${j}`));
        resets.push(rst(1 + 2 * j, E.CANCEL));
      }
      if (!(await c.write(Buffer.concat(heads)))) break;
      opened += 50;
      await sleep(3);
      if (!(await c.write(Buffer.concat(resets)))) break;
    }
    await c.until(() => c.closed, 10_000, 'the connection to close');
    assert.ok(
      c.goaways.some((g) => g.code === E.ENHANCE_YOUR_CALM),
      `GOAWAYs: ${JSON.stringify(c.goaways)}`,
    );
    assert.ok(opened < 2000, `all ${opened} streams were accepted`);
    // The GOAWAY names the last stream the gateway processed: the budget (500) plus what was in flight.
    const g = c.goaways.find((x) => x.code === E.ENHANCE_YOUR_CALM)!;
    assert.ok(g.lastStream >= 2 * 500 - 1 && g.lastStream < 2 * opened, `GOAWAY last stream ${g.lastStream} of ${opened}`);
  } finally {
    c.destroy();
  }
  const reached = count('slowrr') - before;
  assert.ok(reached <= opened, `backend saw ${reached}`);
  await stillServes('/after/slow-reset');
});

// ---- (c) CONTINUATION flood ----

for (const [size, tls] of [
  [10, false],
  [0, false],
  [10, true],
] as const) {
  test(`CONTINUATION flood (${size}-byte fragments, no END_HEADERS${tls ? ', over TLS' : ''}): the connection is closed, memory stays bounded`, async () => {
    const rss = process.memoryUsage().rss;
    const c = new RawH2(gw.port, true, true, tls);
    let sent = 0;
    try {
      await c.until(() => c.serverSettings !== null, 5000, 'server SETTINGS');
      const block = requestBlock('/cont', [['x-filler', 'a'.repeat(64)]]);
      await c.write(frame(T.HEADERS, F.END_STREAM, 1, block.subarray(0, 16)));
      const fragment = frame(T.CONTINUATION, 0, 1, Buffer.alloc(size, 0x61));
      const burst = Buffer.concat(Array.from({ length: 100 }, () => fragment));
      // 200 000 frames at most: the server must have hung up long before.
      while (sent < 200_000 && !c.closed) {
        if (!(await c.write(burst))) break;
        sent += 100;
        await tick();
      }
      await c.until(() => c.closed, 10_000, 'the connection to close');
    } finally {
      c.destroy();
    }
    assert.ok(sent < 200_000, `the server read ${sent} CONTINUATION frames without closing`);
    assert.ok(c.goaways.length > 0, 'closed without GOAWAY');
    assert.equal(c.responses.size, 0);
    assert.equal(count('cont'), 0);
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
    await stillServes('/after/continuation');
  });
}

// ---- (d) header list over the limit ----

test('a header list over maxHeaderListSize (16 KiB) is refused; the connection keeps serving', async () => {
  const c = new RawH2(gw.port);
  try {
    await c.until(() => c.serverSettings !== null, 5000, 'server SETTINGS');
    const block = requestBlock('/big', [
      ['x-a', 'a'.repeat(12_000)],
      ['x-b', 'b'.repeat(12_000)],
    ]);
    // Within the frame size (16 384) per frame: HEADERS, then one CONTINUATION with END_HEADERS.
    await c.write(frame(T.HEADERS, F.END_STREAM, 1, block.subarray(0, 16_000)));
    await c.write(frame(T.CONTINUATION, F.END_HEADERS, 1, block.subarray(16_000)));
    await c.until(() => c.resets.has(1) || c.responses.has(1) || c.closed, 5000, 'stream 1 refused');
    if (c.responses.has(1)) assert.fail('a request over the header limit was answered');
    assert.equal(c.resets.get(1), E.ENHANCE_YOUR_CALM);
    await c.write(get(3, '/after/big'));
    await c.until(() => c.ended.has(3), 5000, 'the next request on the same connection');
    assert.equal(count('big'), 0);
  } finally {
    c.destroy();
  }
});

// ---- settings timeout ----

test('a client that never acknowledges the SETTINGS gets GOAWAY SETTINGS_TIMEOUT', async () => {
  const c = new RawH2(gw.port, false);
  const d = new RawH2(gw.port, false, false); // sends the preface, never its own SETTINGS
  try {
    await Promise.all([c.until(() => c.closed, 8000, 'no-ACK client closed'), d.until(() => d.closed, 8000, 'no-SETTINGS client closed')]);
    // A GOAWAY, then another when the session is destroyed after a short grace (RFC 9113 §6.8 allows several).
    for (const x of [c, d]) {
      assert.ok(x.goaways.length > 0, 'closed without GOAWAY');
      assert.ok(
        x.goaways.every((g) => g.code === E.SETTINGS_TIMEOUT && g.lastStream === 0),
        JSON.stringify(x.goaways),
      );
    }
  } finally {
    c.destroy();
    d.destroy();
  }
});
