/**
 * Redis with cluster workers and AUTH (docs/redis.md): with `--workers 2`
 * each worker has its own Redis connection (no IPC hop through the primary)
 * and the limit holds across both workers and a second gateway; the password
 * comes from `--redis.passwordfile`; a wrong password is a clear error in
 * GET /api/redis, and the middleware's onFailure mode applies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startRedis, type TestRedis } from './support/redis.js';

let redis: TestRedis;
let up: Server;
let dir: string;
let files: Record<string, string>;
const gateways: TestGateway[] = [];

before(async () => {
  redis = await startRedis({ password: 'pw-for-tests' });
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-workers-'));
  writeFileSync(join(dir, 'good'), 'pw-for-tests\n');
  writeFileSync(join(dir, 'bad'), 'not-the-password\n');
  up = createServer((_req, res) => res.end('ok'));
  const port = await listenLoopback(up);
  files = {
    'r.yaml': `
http:
  routers:
    limited: { rule: PathPrefix(\`/\`), service: s, middlewares: [limit] }
  middlewares:
    limit: { rateLimit: { average: 8, period: 1m, burst: 8, redis: { onFailure: closed } } }
  services:
    s:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
  };
});

after(async () => {
  for (const g of gateways) await g.close();
  await redis?.close();
  await new Promise<void>((r) => up.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const flags = (pwfile: string): string[] => [
  `--redis.endpoints=${redis.endpoint}`,
  `--redis.passwordfile=${join(dir, pwfile)}`,
  '--redis.timeout=300ms',
  '--redis.cooldown=300ms',
  '--api.insecure',
];

async function statuses(url: string, n: number): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    // A new connection per request: the workers take turns (round-robin).
    const r = await fetch(url, { headers: { connection: 'close' } });
    await r.arrayBuffer();
    out[r.status] = (out[r.status] ?? 0) + 1;
  }
  return out;
}

test('two workers each talk to Redis with the password file; the limit holds across workers and gateways', async () => {
  const w = await startGateway({ files, workers: 2, flags: flags('good') });
  gateways.push(w);
  const one = await startGateway({ files, flags: flags('good') });
  gateways.push(one);
  const clients = async (): Promise<number> => ((await redis.command('CLIENT', 'LIST')).match(/name=gatehouse /g) ?? []).length;
  // Two workers + the single-process gateway, each with its own connection.
  assert.ok(await eventually(async () => (await clients()) === 3, 8000), `gatehouse connections: ${await clients()}`);
  assert.ok(
    await eventually(
      async () => (await fetch(`${w.admin}/api/redis`).then((r) => r.json() as Promise<{ state: string }>)).state === 'up',
      5000,
    ),
  );
  const a = await statuses(`${w.url}/x`, 10);
  const b = await statuses(`${one.url}/x`, 4);
  assert.equal((a[200] ?? 0) + (b[200] ?? 0), 8, `${JSON.stringify(a)} ${JSON.stringify(b)}`);
  assert.deepEqual(b, { 429: 4 });
});

test('a wrong password: a clear error in /api/redis, never the password; onFailure closed answers 503', async () => {
  const g = await startGateway({ files, flags: flags('bad') });
  gateways.push(g);
  const text = await fetch(`${g.admin}/api/redis`).then((r) => r.text());
  const st = JSON.parse(text) as { state: string; lastError: string; auth: string };
  assert.equal(st.state, 'down');
  assert.equal(st.auth, 'password');
  assert.match(st.lastError, /^authentication failed \(.*(WRONGPASS|invalid).*\): check --redis\.passwordfile/);
  assert.doesNotMatch(text, /not-the-password|pw-for-tests/);
  const r = await fetch(`${g.url}/x`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /Redis/);
});
