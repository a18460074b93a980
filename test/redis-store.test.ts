/**
 * The Redis store's Lua scripts and connection against a real redis-server:
 * GCRA reservations (at once, delayed, refused taking nothing), idle keys
 * expiring, in-flight leases (limit, release, expiry of a crashed holder,
 * refresh while running), the circuit breaker, and AUTH.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type TestRedis } from './support/redis.js';
import { RedisConnection, RedisUnavailableError } from '../src/middlewares/rate-limit/redis-client.js';
import { RedisLimitStore, RATE_PREFIX } from '../src/middlewares/rate-limit/store-redis.js';
import { createMemoryRateLimitStore } from '../src/middlewares/rate-limit/store-memory.js';
import { redisOptionsFromStatic, type RedisOptions } from '../src/middlewares/rate-limit/redis-options.js';
import { silentLogger } from '../src/log.js';
import { eventually } from './support/gateway.js';

let redis: TestRedis;
let dir: string;
const stores: RedisLimitStore[] = [];

function options(endpoint: string, extra: Partial<Record<string, unknown>> = {}): RedisOptions {
  const o = redisOptionsFromStatic({ endpoints: [endpoint], db: 0, replicas: 2, timeout: 200, cooldown: 400, ...extra }, dir);
  assert.ok(o !== null);
  return o;
}

async function store(endpoint = redis.endpoint, extra: Partial<Record<string, unknown>> = {}, leaseMs?: number): Promise<RedisLimitStore> {
  const conn = new RedisConnection(options(endpoint, extra), silentLogger);
  const s = new RedisLimitStore(conn, createMemoryRateLimitStore(), leaseMs !== undefined ? { leaseMs } : {});
  stores.push(s);
  await conn.start(2000);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-store-'));
  redis = await startRedis();
});

after(async () => {
  for (const s of stores) await s.close();
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
});

test('reservations: the burst at once, then refused with retryAfter and nothing taken', async () => {
  const s = await store();
  assert.equal(s.conn.up, true);
  // 10/s, burst 2, wait at most 50 ms: a token comes every 100 ms, so the third is refused.
  const a = await s.reserve('k1', 10, 2, 50);
  const b = await s.reserve('k1', 10, 2, 50);
  assert.deepEqual([a.allowed, a.delayMs, b.allowed, b.delayMs], [true, 0, true, 0]);
  const before = await redis.command('GET', `${RATE_PREFIX}k1`);
  const c = await s.reserve('k1', 10, 2, 50);
  assert.equal(c.allowed, false);
  assert.ok(c.retryAfterMs > 50 && c.retryAfterMs <= 100, `retryAfter ${c.retryAfterMs}`);
  // A refusal takes nothing: the stored arrival time is unchanged.
  assert.equal(await redis.command('GET', `${RATE_PREFIX}k1`), before);
});

test('reservations: a request may wait up to maxDelay for its token (delayMs grows by the interval)', async () => {
  const s = await store();
  const r = [];
  for (let i = 0; i < 4; i++) r.push(await s.reserve('k2', 10, 1, 250));
  assert.equal(r[0]!.allowed, true);
  assert.equal(r[0]!.delayMs, 0);
  assert.equal(r[1]!.allowed, true);
  assert.ok(r[1]!.delayMs > 80 && r[1]!.delayMs <= 100, `delay ${r[1]!.delayMs}`);
  assert.equal(r[2]!.allowed, true);
  assert.ok(r[2]!.delayMs > 180 && r[2]!.delayMs <= 200, `delay ${r[2]!.delayMs}`);
  assert.equal(r[3]!.allowed, false);
  assert.ok(r[3]!.retryAfterMs > 250 && r[3]!.retryAfterMs <= 300, `retry ${r[3]!.retryAfterMs}`);
});

test('reservations: two connections share one bucket; tokens come back at the rate', async () => {
  const a = await store();
  const b = await store();
  assert.equal((await a.reserve('k3', 20, 2, 0)).allowed, true);
  assert.equal((await b.reserve('k3', 20, 2, 0)).allowed, true);
  assert.equal((await a.reserve('k3', 20, 2, 0)).allowed, false);
  assert.equal((await b.reserve('k3', 20, 2, 0)).allowed, false);
  await sleep(60); // one token every 50 ms
  assert.equal((await b.reserve('k3', 20, 2, 0)).allowed, true);
});

test('idle bucket keys expire when the bucket would be full again', async () => {
  const s = await store();
  await s.reserve('k4', 10, 3, 0); // 3 tokens at 10/s: full again in 100 ms
  const ttl = Number((await redis.command('PTTL', `${RATE_PREFIX}k4`)).replace(/^:/, ''));
  assert.ok(ttl > 0 && ttl <= 102, `ttl ${ttl}`);
  assert.ok(await eventually(async () => (await redis.command('EXISTS', `${RATE_PREFIX}k4`)).startsWith(':0'), 2000));
});

test('in-flight leases: at most amount, a release frees a slot, shared by two connections', async () => {
  const a = await store();
  const b = await store();
  const l1 = await a.acquire('f1', 2);
  const l2 = await b.acquire('f1', 2);
  assert.ok(l1 !== null && l2 !== null);
  assert.equal(await a.acquire('f1', 2), null);
  assert.equal(await b.acquire('f1', 2), null);
  b.release('f1', l2);
  assert.ok(await eventually(async () => (await a.acquire('f1', 2)) !== null, 2000));
});

test('in-flight leases: a holder that dies frees its slot after the lease; a running holder keeps it by refreshing', async () => {
  const dead = await store(redis.endpoint, {}, 300);
  const alive = await store(redis.endpoint, {}, 300);
  const other = await store(redis.endpoint, {}, 300);
  assert.ok((await dead.acquire('f2', 1)) !== null);
  assert.ok((await alive.acquire('f3', 1)) !== null);
  await dead.close(); // crashed: never releases, never refreshes
  await sleep(700);
  // The dead holder's lease expired; the live one was refreshed (every 100 ms) and still holds.
  assert.ok((await other.acquire('f2', 1)) !== null, 'the slot of a dead holder comes back');
  assert.equal(await other.acquire('f3', 1), null, 'a refreshed lease is still held');
});

test('circuit breaker: Redis stopped → failures, then fail fast; Redis back → up again', async () => {
  const r2 = await startRedis();
  try {
    const s = await store(r2.endpoint);
    assert.equal((await s.reserve('b1', 1, 1, 0)).allowed, true);
    await r2.stop();
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const err = await s.reserve('b1', 1, 1, 0).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RedisUnavailableError, `call ${i} fails`);
      assert.ok(Date.now() - t0 < 400, 'every call ends within the timeout');
      reasons.push(err.reason);
    }
    assert.equal(reasons.at(-1), 'circuit_open', reasons.join(','));
    assert.equal(s.conn.status().state, 'down');
    assert.equal(s.conn.status().breaker, 'open');
    assert.ok((s.conn.status().failures.connection ?? 0) >= 3);
    assert.match(s.conn.prometheusText(), /^gatehouse_redis_up 0$/m);
    await r2.start();
    assert.ok(await eventually(() => s.conn.up, 5000), 'up again after Redis restarts');
    assert.equal((await s.reserve('b1', 1, 1, 0)).allowed, true);
    assert.match(s.conn.prometheusText(), /^gatehouse_redis_up 1$/m);
  } finally {
    await r2.close();
  }
});

test('AUTH: the password file works; a wrong password is a clear error and the connection stays down', async () => {
  const r3 = await startRedis({ password: 's3cret-pw' });
  try {
    writeFileSync(join(dir, 'good'), 's3cret-pw\n');
    writeFileSync(join(dir, 'bad'), 'nope\n');
    const good = await store(r3.endpoint, { passwordfile: 'good' });
    assert.equal(good.conn.up, true);
    assert.equal((await good.reserve('a1', 1, 1, 0)).allowed, true);
    assert.equal(good.conn.status().auth, 'password');
    const bad = await store(r3.endpoint, { passwordfile: 'bad' });
    assert.ok(
      await eventually(() => /authentication failed/.test(bad.conn.status().lastError ?? ''), 3000),
      bad.conn.status().lastError ?? '',
    );
    assert.equal(bad.conn.up, false);
    assert.match(bad.conn.status().lastError ?? '', /WRONGPASS|invalid/);
    assert.doesNotMatch(JSON.stringify(bad.conn.status()) + bad.conn.prometheusText(), /nope|s3cret/);
    await assert.rejects(bad.reserve('a1', 1, 1, 0), RedisUnavailableError);
    assert.throws(
      () =>
        redisOptionsFromStatic({ endpoints: [r3.endpoint], db: 0, replicas: 1, timeout: 200, cooldown: 400, passwordfile: 'missing' }, dir),
      /--redis\.passwordfile: cannot read .*missing.*ENOENT/,
    );
  } finally {
    await r3.close();
  }
});

test('options: endpoints are checked with the flag named', () => {
  assert.throws(
    () => redisOptionsFromStatic({ endpoints: ['nohost'], db: 0, replicas: 1, timeout: 200, cooldown: 400 }, dir),
    /--redis\.endpoints: "nohost" is not host:port/,
  );
  assert.throws(
    () => redisOptionsFromStatic({ endpoints: [], db: 0, replicas: 1, timeout: 200, cooldown: 400 }, dir),
    /--redis\.endpoints/,
  );
  const o = redisOptionsFromStatic({ endpoints: ['127.0.0.1:1,[::1]:2'], db: 3, replicas: 1, timeout: 200, cooldown: 400 }, dir);
  assert.deepEqual(o?.endpoints, [
    { host: '127.0.0.1', port: 1 },
    { host: '::1', port: 2 },
  ]);
});
