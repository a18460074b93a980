/**
 * Traefik configurations as real users write them (issue 11, section 6), end
 * to end against real origins: field names in any case (Traefik's file
 * provider), the 405 of Traefik v2 when only `Method(...)` fails, the
 * "unavailable" service, highestRandomWeight and the hrw strategy (by client
 * IP), failover on status codes, health propagation on weighted services,
 * passive health checks, a server whose port cannot be dialled, service-level
 * middlewares, and the middleware options Traefik lets default.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, eventually, type TestGateway } from './support/gateway.js';
import { fnv1a64, hrwScore } from '../src/services/hrw.js';

let gw: TestGateway;
const servers: Server[] = [];
const state = { aHealthy: true, flaky: true, mainCalls: 0 };
const seen: Record<string, IncomingHttpHeaders> = {};

async function origin(
  handler: (req: import('node:http').IncomingMessage, body: string, res: import('node:http').ServerResponse) => void,
): Promise<number> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** One request on a new connection (so each can come from its own local address). */
function send(
  host: string,
  o: { method?: string; path?: string; body?: string; from?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: gw.port,
        path: o.path ?? '/x',
        method: o.method ?? 'GET',
        agent: false,
        headers: { host, ...o.headers },
        ...(o.from !== undefined ? { localAddress: o.from } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

before(async () => {
  const a = await origin((req, _b, res) => {
    if (req.url === '/health') res.statusCode = state.aHealthy ? 200 : 500;
    res.end('a');
  });
  const b = await origin((_req, _b, res) => res.end('b'));
  const echo = await origin((req, body, res) => {
    seen[String(req.headers['x-case'] ?? req.url)] = req.headers;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, method: req.method, body, headers: req.headers }));
  });
  const main = await origin((_req, _b, res) => {
    state.mainCalls++;
    res.statusCode = 503;
    res.end('main is failing');
  });
  const fallback = await origin((req, body, res) => res.end(`fallback ${req.method} ${body}`));
  const flaky = await origin((_req, _b, res) => {
    res.statusCode = state.flaky ? 500 : 200;
    res.end('flaky');
  });
  const failing = await origin((_req, _b, res) => {
    res.statusCode = 500;
    res.end('origin error');
  });
  const auth = await origin((_req, _b, res) => res.end('x'.repeat(100)));
  const u = (p: number): string => `http://127.0.0.1:${p}`;
  // Keys spelled as Traefik users spell them: the file provider matches field names case-insensitively.
  const toml = `
[HTTP.Routers]
  [http.routers.lower]
    entrypoints = ["web"]
    rule = "Host(\`lower.test\`)"
    Middlewares = ["cors"]
    service = "hc"
  [http.routers.m-post]
    rule = "Host(\`m.test\`) && Method(\`POST\`)"
    service = "echo"
  [http.routers.m-put]
    rule = "Host(\`m.test\`) && Method(\`PUT\`)"
    service = "echo"
  [http.routers.m-v3]
    rule = "Host(\`m3.test\`) && Method(\`POST\`)"
    ruleSyntax = "v3"
    service = "echo"
  [http.routers.unavailable]
    rule = "Host(\`unavailable.test\`)"
    service = "unavailable"
  [http.routers.nourl]
    rule = "Host(\`nourl.test\`)"
    service = "nourl"
  [http.routers.hrw-svc]
    rule = "Host(\`hrw.test\`)"
    service = "hrw"
  [http.routers.hrw-lb]
    rule = "Host(\`hrw-lb.test\`)"
    service = "hrw-lb"
  [http.routers.failover-status]
    rule = "Host(\`failover.test\`)"
    service = "failover-status"
  [http.routers.w-follow]
    rule = "Host(\`w-follow.test\`)"
    service = "w-follow"
  [http.routers.w-plain]
    rule = "Host(\`w-plain.test\`)"
    service = "w-plain"
  [http.routers.passive]
    rule = "Host(\`passive.test\`)"
    service = "passive"
  [http.routers.bad-port]
    rule = "Host(\`bad-port.test\`)"
    service = "bad-port"
  [http.routers.svc-mw]
    rule = "Host(\`svc-mw.test\`)"
    service = "svc-mw"
  [http.routers.err-nostatus]
    rule = "Host(\`err-nostatus.test\`)"
    middlewares = ["err-nostatus"]
    service = "failing"
  [http.routers.err-headers]
    rule = "Host(\`err-headers.test\`)"
    middlewares = ["err-headers"]
    service = "failing"
  [http.routers.inflight]
    rule = "Host(\`inflight.test\`)"
    middlewares = ["inflight"]
    service = "echo"
  [http.routers.auth]
    rule = "Host(\`auth.test\`)"
    middlewares = ["auth"]
    service = "echo"

[http.middlewares]
  [http.middlewares.cors.Headers]
    [http.middlewares.cors.Headers.CustomResponseHeaders]
      X-Case = "insensitive"
  [http.middlewares.add-hdr.headers.customrequestheaders]
    X-Svc-Mw = "yes"
  [http.middlewares.err-nostatus.errors]
    service = "echo"
  [http.middlewares.err-headers.errors]
    status = ["500-599"]
    service = "echo"
    query = "/page"
    errorRequestHeaders = ["X-Keep"]
  [http.middlewares.inflight.inFlightReq]
  [http.middlewares.auth.forwardAuth]
    address = "${u(auth)}"
    maxResponseBodySize = 10

[http.services]
  [http.services.hc.loadbalancer]
    [http.services.hc.loadbalancer.healthcheck]
      path = "/health"
      interval = "200ms"
      timeout = "1s"
    [[http.services.hc.loadbalancer.servers]]
      url = "${u(a)}"
  [http.services.echo.loadBalancer]
    [[http.services.echo.loadBalancer.servers]]
      url = "${u(echo)}"
  [http.services.unavailable.loadBalancer]
    [http.services.unavailable.loadBalancer.servers]
  [http.services.nourl.loadBalancer]
    [[http.services.nourl.loadBalancer.servers]]
  [http.services.svc-a.loadBalancer]
    [[http.services.svc-a.loadBalancer.servers]]
      url = "${u(a)}"
  [http.services.svc-b.loadBalancer]
    [[http.services.svc-b.loadBalancer.servers]]
      url = "${u(b)}"
  [http.services.hrw.highestRandomWeight]
    [[http.services.hrw.highestRandomWeight.services]]
      name = "svc-a"
    [[http.services.hrw.highestRandomWeight.services]]
      name = "svc-b"
      weight = 1
  [http.services.hrw-lb.loadBalancer]
    strategy = "hrw"
    [[http.services.hrw-lb.loadBalancer.servers]]
      url = "${u(a)}"
    [[http.services.hrw-lb.loadBalancer.servers]]
      url = "${u(b)}"
  [http.services.failover-status.failover]
    service = "main"
    fallback = "fallback"
    [http.services.failover-status.failover.errors]
      status = ["500-504"]
  [http.services.main.loadBalancer]
    [[http.services.main.loadBalancer.servers]]
      url = "${u(main)}"
  [http.services.fallback.loadBalancer]
    [[http.services.fallback.loadBalancer.servers]]
      url = "${u(fallback)}"
  [http.services.w-follow.weighted]
    [http.services.w-follow.weighted.healthCheck]
    [[http.services.w-follow.weighted.services]]
      name = "hc"
    [[http.services.w-follow.weighted.services]]
      name = "hc-b"
  [http.services.w-plain.weighted]
    [[http.services.w-plain.weighted.services]]
      name = "hc"
    [[http.services.w-plain.weighted.services]]
      name = "hc-b"
  [http.services.hc-b.loadBalancer]
    [http.services.hc-b.loadBalancer.healthCheck]
      path = "/"
      interval = "200ms"
    [[http.services.hc-b.loadBalancer.servers]]
      url = "${u(b)}"
  [http.services.passive.loadBalancer]
    [http.services.passive.loadBalancer.passiveHealthCheck]
      failureWindow = "1s"
    [[http.services.passive.loadBalancer.servers]]
      url = "${u(flaky)}"
    [[http.services.passive.loadBalancer.servers]]
      url = "${u(b)}"
  [http.services.bad-port.loadBalancer]
    [[http.services.bad-port.loadBalancer.servers]]
      url = "http://127.0.0.1:8989474"
  [http.services.svc-mw]
    middlewares = ["add-hdr"]
    [http.services.svc-mw.loadBalancer]
      [[http.services.svc-mw.loadBalancer.servers]]
        url = "${u(echo)}"
  [http.services.failing.loadBalancer]
    [[http.services.failing.loadBalancer.servers]]
      url = "${u(failing)}"
`;
  gw = await startGateway({ files: { 'compat.toml': toml } });
});

after(async () => {
  await gw.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

test('field names in any case, as in Traefik: entrypoints, healthcheck, Headers.CustomResponseHeaders', async () => {
  const r = await send('lower.test');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a');
  assert.equal(r.headers['x-case'], 'insensitive');
  // The lower-case healthcheck is a real health check: a failing probe takes the only server out.
  state.aHealthy = false;
  assert.ok(await eventually(async () => (await send('lower.test')).status === 503, 5000));
  state.aHealthy = true;
  assert.ok(await eventually(async () => (await send('lower.test')).status === 200, 5000));
});

test('Traefik v2: a router that fails only on Method answers 405 with Allow; otherwise 404; v3 syntax 404', async () => {
  const r = await send('m.test', { method: 'GET' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'POST, PUT');
  assert.equal((await send('m.test', { method: 'PUT' })).status, 200);
  assert.equal((await send('other.test', { method: 'GET' })).status, 404);
  assert.equal((await send('m3.test', { method: 'GET' })).status, 404);
  assert.equal((await send('m3.test', { method: 'POST' })).status, 200);
});

test('the unavailable service (servers: {} or a server without url) answers 503', async () => {
  assert.equal((await send('unavailable.test')).status, 503);
  assert.equal((await send('nourl.test')).status, 503);
});

test('FNV-1a 64 as Traefik hashes for hrw (published test vectors)', () => {
  assert.equal(fnv1a64('').toString(16), 'cbf29ce484222325');
  assert.equal(fnv1a64('a').toString(16), 'af63dc4c8601ec8c');
});

test('highestRandomWeight and the hrw strategy pick by client IP, always the same for one IP', async () => {
  const ips = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const argmax = (ip: string, members: Array<[string, number, string]>): string =>
    members.reduce((best, m) => (hrwScore(ip, m[0], m[1]) > hrwScore(ip, best[0], best[1]) ? m : best))[2];
  const got = new Set<string>();
  for (const ip of ips) {
    const want = argmax(ip, [
      ['svc-a', 1, 'a'],
      ['svc-b', 1, 'b'],
    ]);
    for (let i = 0; i < 3; i++) assert.equal((await send('hrw.test', { from: ip })).body, want, `service, client ${ip}`);
    got.add(want);
    const lbUrls = servers.slice(0, 2).map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
    const wantLb = argmax(ip, [
      [lbUrls[0]!, 1, 'a'],
      [lbUrls[1]!, 1, 'b'],
    ]);
    for (let i = 0; i < 3; i++) assert.equal((await send('hrw-lb.test', { from: ip })).body, wantLb, `strategy hrw, client ${ip}`);
  }
  assert.equal(got.size, 2, 'eight client addresses spread over both services');
});

test('failover errors.status: a listed status from the main service is replaced by the fallback answer to the same request', async () => {
  const before = state.mainCalls;
  const r = await send('failover.test', { method: 'POST', body: 'payload' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'fallback POST payload');
  assert.equal(state.mainCalls, before + 1);
});

test('weighted follows child health only with healthCheck (Traefik propagation)', async () => {
  state.aHealthy = false;
  try {
    assert.ok(await eventually(async () => (await send('lower.test')).status === 503, 5000));
    // healthCheck: {} on the weighted service: the down child is skipped.
    for (let i = 0; i < 4; i++) assert.equal((await send('w-follow.test')).body, 'b');
    // Without it, the weighted service still sends half the requests to the down child, which answers 503.
    const statuses = new Set<number>();
    for (let i = 0; i < 4; i++) statuses.add((await send('w-plain.test')).status);
    assert.deepEqual([...statuses].sort(), [200, 503]);
  } finally {
    state.aHealthy = true;
  }
});

test('passiveHealthCheck: a server that answers 5xx leaves the rotation for failureWindow, then returns', async () => {
  state.flaky = true;
  const bodies: string[] = [];
  for (let i = 0; i < 8; i++) bodies.push((await send('passive.test')).body);
  // At most one request reached the failing server; every later one went to the other server.
  assert.ok(bodies.filter((b) => b === 'flaky').length <= 1, bodies.join(','));
  assert.deepEqual(bodies.slice(2), Array(6).fill('b'));
  state.flaky = false;
  assert.ok(await eventually(async () => (await send('passive.test')).body === 'flaky', 5000), 'back after the window');
});

test('a server URL whose port is above 65535 is accepted (as Traefik) and answers 502', async () => {
  assert.equal((await send('bad-port.test')).status, 502);
});

test('service-level middlewares run before the service', async () => {
  const r = await send('svc-mw.test');
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-svc-mw'], 'yes');
});

test('errors without status passes answers through; errorRequestHeaders limits the error page request headers', async () => {
  const r = await send('err-nostatus.test');
  assert.equal(r.status, 500);
  assert.equal(r.body, 'origin error');
  const p = await send('err-headers.test', { headers: { 'x-keep': '1', 'x-drop': '1' } });
  assert.equal(p.status, 500);
  const page = JSON.parse(p.body) as { url: string; headers: Record<string, string> };
  assert.equal(page.url, '/page');
  assert.equal(page.headers['x-keep'], '1');
  assert.equal(page.headers['x-drop'], undefined);
});

test('inFlightReq without amount refuses every request with 429, as Traefik does', async () => {
  assert.equal((await send('inflight.test')).status, 429);
});

test('forwardAuth maxResponseBodySize: a larger auth answer gives 401', async () => {
  assert.equal((await send('auth.test')).status, 401);
});
