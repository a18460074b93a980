/**
 * Two Gatehouse instances against one real redis-server (docs/redis.md):
 * a rate limit and an in-flight limit hold across both; with Redis stopped
 * each `redis.onFailure` mode does what it says (open: all pass, closed: 503
 * GH_REDIS_UNAVAILABLE, local: each replica its share); with Redis back the
 * shared limit resumes. The state shows in GET /api/redis and /metrics.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startRedis, type TestRedis } from './support/redis.js';

let redis: TestRedis;
let up: Server;
let a: TestGateway;
let b: TestGateway;
const held: ServerResponse[] = [];

const limit = (extra = ''): string => `{ average: 6, period: 1m, burst: 6${extra} }`;

async function status(base: string, path: string): Promise<number> {
  const r = await fetch(base + path);
  await r.arrayBuffer();
  return r.status;
}

async function count(gws: TestGateway[], path: string, n: number): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const s = await status(gws[i % gws.length]!.url, path);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

async function redisState(gw: TestGateway): Promise<Record<string, unknown>> {
  const r = await fetch(`${gw.admin}/api/redis`);
  return (await r.json()) as Record<string, unknown>;
}

before(async () => {
  redis = await startRedis();
  up = createServer((req, res) => {
    if (req.url?.startsWith('/slow') === true) held.push(res);
    else res.end('ok');
  });
  const port = await listenLoopback(up);
  const files = {
    'r.yaml': `
http:
  routers:
    shared: { rule: PathPrefix(\`/shared\`), service: s, middlewares: [shared] }
    open: { rule: PathPrefix(\`/open\`), service: s, middlewares: [open] }
    closed: { rule: PathPrefix(\`/closed\`), service: s, middlewares: [closed] }
    local: { rule: PathPrefix(\`/local\`), service: s, middlewares: [local] }
    slow: { rule: PathPrefix(\`/slow\`), service: s, middlewares: [inflight] }
  middlewares:
    shared: { rateLimit: ${limit()} }
    open: { rateLimit: ${limit(', redis: { onFailure: open }')} }
    closed: { rateLimit: ${limit(', redis: { onFailure: closed }')} }
    local: { rateLimit: ${limit(', redis: { onFailure: local, replicas: 2 }')} }
    inflight: { inFlightReq: { amount: 2, redis: { onFailure: closed } } }
  services:
    s:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
  };
  const flags = [
    `--redis.endpoints=${redis.endpoint}`,
    '--redis.timeout=200ms',
    '--redis.cooldown=300ms',
    '--api.insecure',
    '--metrics.prometheus',
  ];
  a = await startGateway({ files, flags });
  b = await startGateway({ files, flags });
  for (const gw of [a, b]) assert.ok(await eventually(async () => (await status(gw.url, '/open')) === 200, 5000));
});

after(async () => {
  for (const r of held.splice(0)) r.end('released');
  await a?.close();
  await b?.close();
  await redis?.close();
  await new Promise<void>((r) => up.close(() => r()));
});

test('a limit of 6 per minute holds across two gateways (per-process limits would let 12 through)', async () => {
  const t0 = Date.now();
  const got = await count([a, b], '/shared', 20);
  // Tolerance: one more token per 10 s of test time (the refill); none in practice.
  const tolerance = Math.floor((Date.now() - t0) / 10_000);
  assert.ok((got[200] ?? 0) >= 6 && (got[200] ?? 0) <= 6 + tolerance, JSON.stringify(got));
  assert.equal(got[429], 20 - (got[200] ?? 0));
  const st = await redisState(a);
  assert.equal(st.state, 'up');
  assert.deepEqual(st.endpoints, [redis.endpoint]);
});

test('an in-flight limit of 2 holds across two gateways, and a finished request frees its slot', async () => {
  const p1 = fetch(`${a.url}/slow/1`);
  const p2 = fetch(`${a.url}/slow/2`);
  assert.ok(await eventually(() => held.length === 2, 5000), 'two requests reach the backend');
  const third = await fetch(`${b.url}/slow/3`);
  assert.equal(third.status, 429);
  assert.equal(await third.text(), 'max connections reached: 2');
  held.shift()!.end('done');
  assert.equal((await p1).status, 200);
  const p4 = fetch(`${b.url}/slow/4`);
  assert.ok(await eventually(() => held.length === 2, 5000), 'the freed slot admits a request on the other gateway');
  held.splice(0).forEach((h) => h.end('done'));
  assert.equal((await p4).status, 200);
  await p2;
});

test('Redis stopped: open lets all through, closed answers 503, local limits each replica to its share', async () => {
  await redis.stop();
  const open = await count([a], '/open', 10);
  assert.deepEqual(open, { 200: 10 });
  const closed = await fetch(`${a.url}/closed`);
  assert.equal(closed.status, 503);
  assert.equal(await closed.text(), 'Service Unavailable: the shared limit store (Redis) cannot be reached');
  assert.equal(closed.headers.get('retry-after'), '1');
  // average 6, burst 6, replicas 2 → 3 per replica.
  assert.deepEqual(await count([a], '/local', 10), { 200: 3, 429: 7 });
  assert.deepEqual(await count([b], '/local', 10), { 200: 3, 429: 7 });
  const st = await redisState(a);
  assert.equal(st.state, 'down');
  assert.ok(['open', 'half-open'].includes(String(st.breaker)), String(st.breaker));
  const fallbacks = st.fallbacks as Array<{ middleware: string; mode: string; count: number }>;
  assert.deepEqual(
    fallbacks.find((f) => f.middleware === 'open@file'),
    { middleware: 'open@file', mode: 'open', count: 10 },
  );
  const metrics = await (await fetch(`${a.admin}/metrics`)).text();
  assert.match(metrics, /^gatehouse_redis_up 0$/m);
  assert.match(metrics, /^gatehouse_redis_fallback_total\{middleware="open@file",mode="open"\} 10$/m);
  assert.match(metrics, /^gatehouse_redis_fallback_total\{middleware="local@file",mode="local"\} 10$/m);
  assert.match(metrics, /^gatehouse_redis_failures_total\{reason="connection"\} \d+$/m);
});

test('Redis back: shared limiting resumes on both gateways', async () => {
  await redis.start();
  for (const gw of [a, b]) assert.ok(await eventually(async () => (await redisState(gw)).state === 'up', 8000), 'up again');
  // The restarted Redis is empty: a fresh shared bucket of 6, no longer 3 per replica.
  assert.deepEqual(await count([a], '/local', 10), { 200: 6, 429: 4 });
  assert.deepEqual(await count([b], '/local', 4), { 429: 4 });
  const metrics = await (await fetch(`${b.admin}/metrics`)).text();
  assert.match(metrics, /^gatehouse_redis_up 1$/m);
});
