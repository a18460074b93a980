/**
 * The HTTP/1.1 differential audit (issue 11, section 4), the two reliability
 * items on the upstream side (section 5: an abandoned request keeps its
 * upstream exchange; maxIdleConnsPerHost capped active connections) and
 * X-Forwarded-For for ipStrategy.depth (section 6). Each test sends the
 * audit's bytes through the running gateway, on both HTTP/1.1 servers where
 * the item concerns the server (the gateway's own, and node:http with
 * `http.server=node`), to real origins on loopback that record what reached
 * them. Every test failed before its fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, listenLoopback, eventually, type TestGateway } from './support/gateway.js';

// ---------------------------------------------------------------------------
// A raw client: bytes in, bytes out.

class Raw {
  buf = Buffer.alloc(0);
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
        open.add(r);
        resolve(r);
      });
      s.once('error', reject);
    });
  }
  write(b: string): void {
    this.socket.write(b, 'latin1');
  }
  get text(): string {
    return this.buf.toString('latin1');
  }
  /** Final status codes received so far, in order (1xx left out). */
  get statuses(): number[] {
    return [...this.text.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)].map((m) => Number(m[1])).filter((n) => n >= 200);
  }
  waitFor(pred: () => boolean, ms = 5000): Promise<boolean> {
    return eventually(pred, ms, 10);
  }
  destroy(): void {
    this.socket.destroy();
  }
}
const open = new Set<Raw>();

/** One request on a fresh connection; resolves with everything received until the gateway closes or `ms` pass. */
async function once(port: number, bytes: string, ms = 3000): Promise<string> {
  const c = await Raw.open(port);
  c.write(bytes);
  await c.waitFor(() => c.ended, ms);
  c.destroy();
  return c.text;
}

/** One request with `Connection: close`; resolves with the status and the body. */
async function fetchRaw(port: number, head: string, body = ''): Promise<{ status: number; head: string; body: string }> {
  const text = await once(port, `${head}Connection: close\r\n\r\n${body}`);
  const e = text.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return { status: m === null ? 0 : Number(m[1]), head: e < 0 ? text : text.slice(0, e), body: e < 0 ? '' : text.slice(e + 4) };
}

// ---------------------------------------------------------------------------
// Origins.

interface Seen {
  url: string;
  host: string;
  headers: IncomingHttpHeaders;
  body: string;
}
/** What the node origin received, in order. */
const seen: Seen[] = [];
/** /hold/* requests: the socket of each closes when the gateway gives up on it. */
const held = new Map<string, { closed: boolean }>();
/** /burst: the origin holds every request until `burstTarget` are in at once (or a fallback delay). */
const burstWaiting: ServerResponse[] = [];
let burstMax = 0;
const burstTarget = 300;

const origin: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? '/';
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('error', () => undefined);
  req.on('end', () => {
    const entry = { url, host: String(req.headers.host), headers: req.headers, body: Buffer.concat(parts).toString('latin1') };
    if (!url.startsWith('/burst')) seen.push(entry);
    if (url.startsWith('/hold/')) {
      const h = { closed: false };
      held.set(url, h);
      req.socket.once('close', () => (h.closed = true));
      setTimeout(() => res.end('late'), 20_000).unref();
      return;
    }
    if (url.startsWith('/slow/')) {
      setTimeout(() => res.end(url), 300);
      return;
    }
    if (url === '/burst') {
      burstWaiting.push(res);
      burstMax = Math.max(burstMax, burstWaiting.length);
      const release = (): void => {
        for (const r of burstWaiting.splice(0)) r.end('ok');
      };
      if (burstWaiting.length >= burstTarget) release();
      else if (burstWaiting.length === 1) setTimeout(release, 8_000).unref();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url, host: req.headers.host, body: entry.body }));
  });
});

/** A raw origin for answers node:http will not write. */
const rawOrigin: NetServer = createNet((s) => {
  let buf = '';
  s.on('error', () => s.destroy());
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    const e = buf.indexOf('\r\n\r\n');
    if (e < 0) return;
    const path = buf.slice(0, buf.indexOf('\r\n')).split(' ')[1] ?? '';
    buf = '';
    switch (path) {
      case '/raw/lf':
        s.write('HTTP/1.1 200 OK\ncontent-length: 2\n\nok');
        return;
      case '/raw/trailers':
        s.write(
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n' +
            '2\r\nok\r\n0\r\ncontent-length: 99\r\nhost: evil.test\r\ntransfer-encoding: chunked\r\nset-cookie: a=b\r\nx-checksum: c0ffee\r\n\r\n',
        );
        return;
      case '/raw/reason':
        s.write('HTTP/1.1 200 Fine Thanks\r\ncontent-length: 2\r\n\r\nok');
        return;
      case '/raw/reason299':
        s.write('HTTP/1.1 299 Very Custom\r\ncontent-length: 2\r\n\r\nok');
        return;
      case '/raw/cl-list':
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\nhello');
        return;
      default:
        s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    }
  });
});

let originPort = 0;
let rawPort = 0;
/** The gateway's own HTTP/1.1 server, node:http, and the gateway's own with sanitizePath off. */
let gw: TestGateway;
let gwNode: TestGateway;
let gwRaw: TestGateway;

function config(): string {
  return `
http:
  routers:
    a:
      rule: Host(\`a.test\`)
      service: origin
    hostonly:
      rule: Host(\`hostonly.test\`)
      service: origin
    public:
      rule: Host(\`paths.test\`) && PathPrefix(\`/public\`)
      service: origin
      middlewares: [mark-public]
    deny:
      rule: Host(\`paths.test\`) && PathPrefix(\`/deny\`)
      service: origin
      middlewares: [mark-deny]
    stripped:
      rule: Host(\`strip.test\`)
      service: origin
      middlewares: [add-header]
    h2cfirst:
      rule: Host(\`h2c.test\`) && Path(\`/first\`)
      service: origin
    h2csecond:
      rule: Host(\`h2c.test\`) && Path(\`/second\`)
      service: origin
      middlewares: [mark-second]
    raw:
      rule: Host(\`raw.test\`)
      service: raw
    depth:
      rule: Host(\`depth.test\`)
      service: origin
      middlewares: [depth-one]
  middlewares:
    mark-public:
      headers: { customRequestHeaders: { x-router: "public" } }
    mark-deny:
      headers: { customRequestHeaders: { x-router: "deny" } }
    mark-second:
      headers: { customRequestHeaders: { x-router: "second" } }
    add-header:
      headers: { customRequestHeaders: { x-added: "by-middleware" } }
    depth-one:
      ipAllowList:
        sourceRange: ["203.0.113.7"]
        ipStrategy: { depth: 1 }
  services:
    origin:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${originPort}" }]
    raw:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${rawPort}" }]
`;
}

before(async () => {
  originPort = await listenLoopback(origin as unknown as NetServer);
  rawPort = await listenLoopback(rawOrigin);
  const files = { 'routes.yml': config() };
  const flags = ['--entrypoints.web.forwardedHeaders.insecure=true'];
  gw = await startGateway({ files, flags });
  gwNode = await startGateway({ files, flags: [...flags, '--entrypoints.web.http.server=node'] });
  gwRaw = await startGateway({ files, flags: [...flags, '--entrypoints.web.http.sanitizePath=false'] });
  for (const g of [gw, gwNode, gwRaw]) {
    assert.ok(
      await eventually(async () => (await fetchRaw(g.port, 'GET /ready HTTP/1.1\r\nHost: a.test\r\n')).status === 200, 10_000),
      'gateway ready',
    );
  }
});

after(async () => {
  for (const c of open) c.destroy();
  await Promise.all([gw?.close(), gwNode?.close(), gwRaw?.close()]);
  origin.closeAllConnections();
  await new Promise<void>((r) => origin.close(() => r()));
  await new Promise<void>((r) => rawOrigin.close(() => r()));
});

const servers = (): Array<[string, TestGateway]> => [
  ['gatehouse', gw],
  ['node', gwNode],
];

// ---------------------------------------------------------------------------
// 4.1 Absolute-form targets (RFC 9112 §3.2.2).

test('absolute-form: the target authority is routed and sent as Host, the path in origin-form', async () => {
  for (const [name, g] of servers()) {
    // The client names a virtual host that no router exposes: routed by it, so 404, and nothing reaches the origin.
    const before = seen.length;
    const hidden = await fetchRaw(g.port, 'GET http://internal.test/x HTTP/1.1\r\nHost: hostonly.test\r\n');
    assert.equal(hidden.status, 404, `${name}: ${hidden.head}`);
    assert.equal(seen.length, before, `${name}: nothing forwarded`);
    // A matching absolute-form target is served, and the origin sees origin-form.
    const ok = await fetchRaw(g.port, 'GET http://a.test/x?q=1 HTTP/1.1\r\nHost: a.test\r\n');
    assert.equal(ok.status, 200, `${name}: ${ok.head}`);
    assert.deepEqual(JSON.parse(ok.body), { url: '/x?q=1', host: 'a.test', body: '' }, name);
    // The authority wins over Host.
    const wins = await fetchRaw(g.port, 'GET http://a.test/y HTTP/1.1\r\nHost: hostonly.test\r\n');
    assert.equal(wins.status, 200, name);
    assert.equal(JSON.parse(wins.body).host, 'a.test', name);
  }
});

// ---------------------------------------------------------------------------
// 4.2 Responses in request order (RFC 9112 §9.3.2).

test('Expect: 100-continue, then a malformed pipelined request: the first answer comes before the 400', async () => {
  for (const [name, g] of servers()) {
    const c = await Raw.open(g.port);
    c.write('POST /slow/expect HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    assert.ok(await c.waitFor(() => c.text.includes('100 Continue')), `${name}: 100 Continue: ${c.text}`);
    c.write('helloGET /bad HTTP/1.1\r\nHost: a.test\r\nX-A: a\r\n folded\r\n\r\n');
    assert.ok(await c.waitFor(() => c.ended, 8000), `${name}: closed`);
    assert.deepEqual(c.statuses, [200, 400], `${name}: ${JSON.stringify(c.text)}`);
    assert.match(c.text, /\/slow\/expect/, name);
    c.destroy();
  }
});

test('Expect: 100-continue on the gateway’s own server: 100 only once the body is wanted, the body reaches the origin', async () => {
  const c = await Raw.open(gw.port);
  c.write('POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
  assert.ok(await c.waitFor(() => c.text.includes('HTTP/1.1 100 Continue\r\n\r\n')), c.text);
  c.write('hello');
  assert.ok(await c.waitFor(() => c.ended));
  assert.deepEqual(c.statuses, [200]);
  assert.match(c.text, /"body":"hello"/);
  assert.equal((await fetchRaw(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nExpect: something\r\n')).status, 417);
});

// ---------------------------------------------------------------------------
// 4.3 Connection options name fields of the received message only (RFC 9110 §7.6.1).

test('Connection cannot strip X-Forwarded-For, X-Real-Ip or a header a middleware sets', async () => {
  for (const [name, g] of servers()) {
    const before = seen.length;
    const r = await fetchRaw(
      g.port,
      'GET /conn HTTP/1.1\r\nHost: strip.test\r\nX-Client: dropped\r\nConnection: X-Forwarded-For, X-Real-Ip, X-Added, X-Client\r\n',
    );
    assert.equal(r.status, 200, name);
    const h = seen[before]!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1', name);
    assert.equal(h['x-real-ip'], '127.0.0.1', name);
    assert.equal(h['x-added'], 'by-middleware', name);
    assert.equal(h['x-client'], undefined, `${name}: the client's own field is dropped`);
  }
});

// ---------------------------------------------------------------------------
// 4.4 Path normalisation before routing (Traefik v3 sanitizePath, RFC 3986 §5.2.4).

test('dot segments, %2e%2e and double slashes are resolved before routing, and forwarded resolved', async () => {
  for (const [name, g] of servers()) {
    for (const path of [
      '/public/../deny/secret',
      '/public/%2e%2e/deny/secret',
      '/public/%2E%2E/deny/secret',
      '//deny/secret',
      '/public/./../deny//secret',
    ]) {
      const before = seen.length;
      const r = await fetchRaw(g.port, `GET ${path} HTTP/1.1\r\nHost: paths.test\r\n`);
      assert.equal(r.status, 200, `${name} ${path}`);
      assert.equal(seen[before]!.headers['x-router'], 'deny', `${name} ${path}`);
      assert.equal(seen[before]!.url, '/deny/secret', `${name} ${path}`);
    }
    // Unreserved characters are decoded, other escapes upper-cased (RFC 3986 §2.3, §6.2.2.1); the query is untouched.
    const before = seen.length;
    assert.equal((await fetchRaw(g.port, 'GET /public/%7euser/%2f%41?x=%2e HTTP/1.1\r\nHost: paths.test\r\n')).status, 200);
    assert.equal(seen[before]!.url, '/public/~user/%2FA?x=%2e', name);
    assert.equal((await fetchRaw(g.port, 'GET /public/%zz HTTP/1.1\r\nHost: paths.test\r\n')).status, 400, name);
  }
});

test('sanitizePath=false: dot segments are routed and forwarded as sent (Traefik’s option)', async () => {
  const before = seen.length;
  const r = await fetchRaw(gwRaw.port, 'GET /public/../deny/secret HTTP/1.1\r\nHost: paths.test\r\n');
  assert.equal(r.status, 200);
  assert.equal(seen[before]!.headers['x-router'], 'public');
  assert.equal(seen[before]!.url, '/public/../deny/secret');
});

// ---------------------------------------------------------------------------
// 4.5 Invalid Host values (RFC 9112 §3.2).

test('a Host with a space, a comma or a slash is refused with 400 and nothing is forwarded', async () => {
  for (const [name, g] of servers()) {
    for (const host of ['a.test b', 'a.test,hostonly.test', 'a.test/x', 'user@a.test']) {
      const before = seen.length;
      const r = await fetchRaw(g.port, `GET /h HTTP/1.1\r\nHost: ${host}\r\n`);
      assert.equal(r.status, 400, `${name} ${host}: ${r.head}`);
      assert.equal(seen.length, before, `${name} ${host}: forwarded`);
    }
  }
});

// ---------------------------------------------------------------------------
// 4.6 Trailers that frame, route or authenticate are dropped (RFC 9110 §6.5.1).

test('origin trailers: Content-Length, Host, Transfer-Encoding, Set-Cookie dropped; others passed', async () => {
  const text = await once(gw.port, 'GET /raw/trailers HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n');
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.match(body, /^2\r\nok\r\n0\r\n/, JSON.stringify(text));
  const trailers = body.slice(body.indexOf('0\r\n') + 3);
  assert.match(trailers, /^x-checksum: c0ffee\r\n\r\n$/i, JSON.stringify(trailers));
});

// ---------------------------------------------------------------------------
// 4.7 Upgrade: h2c is not passed on (RFC 9113 §3.1).

test('Upgrade: h2c is stripped: the origin never sees it, and the next request on the connection is routed', async () => {
  const before = seen.length;
  const c = await Raw.open(gw.port);
  c.write(
    'GET /first HTTP/1.1\r\nHost: h2c.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
  );
  assert.ok(await c.waitFor(() => c.statuses.length === 1), c.text);
  c.write('GET /second HTTP/1.1\r\nHost: h2c.test\r\nConnection: close\r\n\r\n');
  assert.ok(await c.waitFor(() => c.ended));
  assert.deepEqual(c.statuses, [200, 200], c.text);
  assert.equal(seen[before]!.headers.upgrade, undefined);
  assert.equal(seen[before]!.headers['http2-settings'], undefined);
  assert.equal(seen[before + 1]!.headers['x-router'], 'second', 'the second request went through routing and middlewares');
  // node:http hands an h2c offer over as an upgrade: it is served as HTTP/1.1 all the same.
  const n = seen.length;
  const c2 = await Raw.open(gwNode.port);
  c2.write(
    'POST /first HTTP/1.1\r\nHost: h2c.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello',
  );
  assert.ok(await c2.waitFor(() => c2.ended));
  assert.deepEqual(c2.statuses, [200], c2.text);
  const got = seen.slice(n).find((s) => s.url === '/first')!;
  assert.equal(got.headers.upgrade, undefined);
  assert.equal(got.body, 'hello');
});

// ---------------------------------------------------------------------------
// 4.8 Hangs and missing answers.

test('an origin head with bare LF line ends: 502 at once, not a 300 s wait', async () => {
  const t0 = Date.now();
  const r = await fetchRaw(gw.port, 'GET /raw/lf HTTP/1.1\r\nHost: raw.test\r\n');
  assert.equal(r.status, 502, r.head);
  assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
});

test('CONNECT is answered (501), not closed without a byte', async () => {
  for (const [name, g] of servers()) {
    const text = await once(g.port, 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 501 /, `${name}: ${JSON.stringify(text)}`);
  }
});

test('a client body cut short: no 502 (the fault is the client’s), the exchange is dropped', async () => {
  for (const [name, g] of servers()) {
    const c = await Raw.open(g.port);
    c.write('POST /cut HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nhello');
    await sleep(200);
    c.socket.end();
    assert.ok(await c.waitFor(() => c.ended), name);
    assert.doesNotMatch(c.text, /502/, `${name}: ${c.text}`);
    c.destroy();
  }
});

test('OPTIONS * is answered 200 by the gateway; GET * is 400; nothing is forwarded', async () => {
  for (const [name, g] of servers()) {
    const before = seen.length;
    const o = await fetchRaw(g.port, 'OPTIONS * HTTP/1.1\r\nHost: a.test\r\n');
    assert.equal(o.status, 200, `${name}: ${o.head}`);
    assert.match(o.head, /content-length: 0/i);
    assert.equal((await fetchRaw(g.port, 'GET * HTTP/1.1\r\nHost: a.test\r\n')).status, 400, name);
    assert.equal(seen.length, before, name);
  }
});

test('HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §2.5); chunked twice is 400', async () => {
  const r = await fetchRaw(gw.port, 'GET /v HTTP/1.2\r\nHost: a.test\r\n');
  assert.equal(r.status, 200, r.head);
  assert.match(r.head, /^HTTP\/1\.1 200 /);
  const twice = await fetchRaw(gw.port, 'POST /t HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n');
  assert.equal(twice.status, 400, twice.head);
});

test('the origin’s reason phrase reaches the client', async () => {
  for (const [name, g] of servers()) {
    assert.match((await fetchRaw(g.port, 'GET /raw/reason HTTP/1.1\r\nHost: raw.test\r\n')).head, /^HTTP\/1\.1 200 Fine Thanks\r\n/, name);
    assert.match(
      (await fetchRaw(g.port, 'GET /raw/reason299 HTTP/1.1\r\nHost: raw.test\r\n')).head,
      /^HTTP\/1\.1 299 Very Custom\r\n/,
      name,
    );
  }
});

// ---------------------------------------------------------------------------
// 4.9 What the RFC allows, accepted within limits.

test('whitespace before a chunk extension, leading zeros, and an origin’s "Content-Length: 5, 5" are accepted', async () => {
  const r = await fetchRaw(gw.port, 'POST /ext HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n', '5 ;x=y\r\nhello\r\n0\r\n\r\n');
  assert.equal(r.status, 200, r.head);
  assert.equal(JSON.parse(r.body).body, 'hello');
  const z = await fetchRaw(gw.port, 'POST /zeros HTTP/1.1\r\nHost: a.test\r\nContent-Length: 00000000000000000005\r\n', 'hello');
  assert.equal(JSON.parse(z.body).body, 'hello');
  const c = await fetchRaw(
    gw.port,
    'POST /chunk-zeros HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n',
    '00000000000000000005\r\nhello\r\n0\r\n\r\n',
  );
  assert.equal(JSON.parse(c.body).body, 'hello');
  const list = await fetchRaw(gw.port, 'GET /raw/cl-list HTTP/1.1\r\nHost: raw.test\r\n');
  assert.equal(list.status, 200, list.head);
  assert.equal(list.body, 'hello');
});

// ---------------------------------------------------------------------------
// 5. An abandoned request keeps its upstream exchange; maxIdleConnsPerHost is an idle cap.

test('a client that closes while the origin is slow: the upstream request is aborted (both servers)', async () => {
  for (const [name, g] of servers()) {
    for (const how of ['destroy', 'end'] as const) {
      const path = `/hold/${name}-${how}`;
      const c = await Raw.open(g.port);
      c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
      assert.ok(await eventually(() => held.has(path), 5000, 10), `${path} reached the origin`);
      if (how === 'destroy') c.destroy();
      else c.socket.end();
      assert.ok(await eventually(() => held.get(path)!.closed, 5000, 20), `${path}: the origin's request socket closed`);
      c.destroy();
    }
  }
});

test('300 concurrent slow requests to one server all reach it at once and are answered (no active cap)', async () => {
  burstMax = 0;
  const one = (): Promise<number> =>
    new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.port, path: '/burst', headers: { host: 'a.test' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end();
    });
  const statuses = await Promise.all(Array.from({ length: burstTarget }, one));
  assert.equal(burstMax, burstTarget, `the origin saw at most ${burstMax} requests at once`);
  assert.equal(statuses.filter((s) => s === 200).length, burstTarget);
});

// ---------------------------------------------------------------------------
// 6. X-Forwarded-For is appended when forwarding, so ipStrategy.depth sees the client's list.

test('ipStrategy.depth: 1 picks the last forwarded address; the origin gets the peer appended', async () => {
  const before = seen.length;
  const ok = await fetchRaw(gw.port, 'GET /depth HTTP/1.1\r\nHost: depth.test\r\nX-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n');
  assert.equal(ok.status, 200, ok.head);
  assert.equal(seen[before]!.headers['x-forwarded-for'], '198.51.100.1, 203.0.113.7, 127.0.0.1');
  const no = await fetchRaw(gw.port, 'GET /depth HTTP/1.1\r\nHost: depth.test\r\nX-Forwarded-For: 203.0.113.7, 198.51.100.1\r\n');
  assert.equal(no.status, 403, no.head);
});
