import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoHandler, serveHandler, testDeps, memoryRateLimitStoreForTests } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { middleware, goDuration } from './index.js';
import { createMemoryRateLimitStore } from './store-memory.js';
import { TokenBuckets } from './bucket.js';

async function withLimit(
  options: Parameters<typeof middleware.create>[0],
  fn: (url: string) => Promise<void>,
  store = createMemoryRateLimitStore(),
): Promise<void> {
  const srv = await serveHandler(middleware.create(options, testDeps({ rateLimitStore: store }))(echoHandler));
  try {
    await fn(srv.url);
  } finally {
    await srv.close();
    if ('close' in store) (store as { close(): void }).close();
  }
}

test('burst requests pass, the next is refused with 429, Retry-After and X-Retry-In', async () => {
  await withLimit({ average: 1, period: '1m', burst: 3 }, async (url) => {
    const res = [];
    for (let i = 0; i < 5; i++) res.push(await send(url));
    assert.deepEqual(
      res.map((r) => r.status),
      [200, 200, 200, 429, 429],
    );
    const r = res[3]!;
    assert.equal(r.body, 'Too Many Requests');
    const wait = Number(r.headers['retry-after']);
    assert.ok(wait >= 59 && wait <= 61, `retry-after ${wait}`);
    assert.match(String(r.headers['x-retry-in']), /^\d+(\.\d+)?s$/);
  });
});

test('a request within the max delay waits for its token instead of failing', async () => {
  // 10/s: a token every 100 ms, max delay 50 ms. Burst 1.
  await withLimit({ average: 10, burst: 1 }, async (url) => {
    assert.equal((await send(url)).status, 200);
    await new Promise((r) => setTimeout(r, 70)); // 30 ms short of the next token: delayed, not refused
    const t0 = performance.now();
    const second = await send(url);
    assert.equal(second.status, 200);
    assert.ok(performance.now() - t0 >= 15, 'the request was delayed');
    assert.equal((await send(url)).status, 429, 'an immediate third request needs ~100 ms: refused');
  });
});

test('tokens refill over the period', async () => {
  await withLimit({ average: 20, period: 1, burst: 1 }, async (url) => {
    assert.equal((await send(url)).status, 200);
    assert.equal((await send(url)).status, 429);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await send(url)).status, 200);
  });
});

test('sources have separate buckets (requestHeaderName)', async () => {
  await withLimit({ average: 1, period: '1h', sourceCriterion: { requestHeaderName: 'X-User' } }, async (url) => {
    assert.equal((await send(url, { headers: { 'x-user': 'a' } })).status, 200);
    assert.equal((await send(url, { headers: { 'x-user': 'a' } })).status, 429);
    assert.equal((await send(url, { headers: { 'x-user': 'b' } })).status, 200);
  });
});

test('average 0 disables the limit', async () => {
  await withLimit({ average: 0 }, async (url) => {
    for (let i = 0; i < 5; i++) assert.equal((await send(url)).status, 200);
  });
});

test('works with a store that only has take (no delay semantics)', async () => {
  await withLimit(
    { average: 1, period: '1h', burst: 2 },
    async (url) => {
      const codes = [(await send(url)).status, (await send(url)).status, (await send(url)).status];
      assert.deepEqual(codes, [200, 200, 429]);
    },
    memoryRateLimitStoreForTests() as ReturnType<typeof createMemoryRateLimitStore>,
  );
});

test('a failing store fails open', async () => {
  const broken = { take: () => Promise.reject(new Error('down')) };
  const srv = await serveHandler(middleware.create({ average: 1, period: '1h' }, testDeps({ rateLimitStore: broken }))(echoHandler));
  try {
    assert.equal((await send(srv.url)).status, 200);
    assert.equal((await send(srv.url)).status, 200);
  } finally {
    await srv.close();
  }
});

test('invalid options are rejected', () => {
  assert.throws(() => middleware.create({ average: 1, period: 'soon' }, testDeps()), /^MiddlewareOptionError: period: /);
  assert.throws(
    () => middleware.create({ average: 1, sourceCriterion: { requestHost: true, requestHeaderName: 'x' } }, testDeps()),
    /sourceCriterion/,
  );
});

test('token buckets: reservations, cancellation beyond max delay, LRU bound and sweep', () => {
  const b = new TokenBuckets(2);
  assert.deepEqual(b.reserve('a', 10, 1, 0, 0), { allowed: true, delayMs: 0, retryAfterMs: 0 });
  const r = b.reserve('a', 10, 1, 100, 0);
  assert.equal(r.allowed, true);
  assert.equal(Math.round(r.delayMs), 100);
  const refused = b.reserve('a', 10, 1, 100, 0);
  assert.equal(refused.allowed, false);
  assert.equal(Math.round(refused.retryAfterMs), 200);
  // The refused reservation took nothing: at t=200 ms the bucket is back to 0 tokens.
  assert.equal(b.reserve('a', 10, 1, 0, 200).allowed, true);
  b.reserve('b', 1, 1, 0, 0);
  b.reserve('c', 1, 1, 0, 0);
  assert.equal(b.size, 2, 'least recently used bucket dropped');
  b.sweep(10_000);
  assert.equal(b.size, 0, 'full buckets are swept');
});

test('goDuration formats like Go', () => {
  assert.equal(goDuration(1500), '1.5s');
  assert.equal(goDuration(250), '250ms');
  assert.equal(goDuration(61_000), '1m1s');
});
