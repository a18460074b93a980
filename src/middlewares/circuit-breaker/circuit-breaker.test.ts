import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import { serveHandler, testDeps } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { middleware } from './index.js';
import { parseExpression } from './expression.js';
import { RollingMetrics } from './metrics.js';
import { Breaker } from './breaker.js';

/** A backend whose answer the test switches. */
function switchable(): { handler: Handler; status: number; hits: number } {
  const s = {
    status: 200,
    hits: 0,
    handler: ((ctx) => {
      s.hits++;
      ctx.rw.writeHead(s.status, { 'content-length': 2 });
      ctx.rw.end('up');
    }) as Handler,
  };
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('trips on a network error ratio, falls back, recovers, returns to standby', async () => {
  const be = switchable();
  const cb = middleware.create(
    { expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '10ms', fallbackDuration: '150ms', recoveryDuration: '150ms' },
    testDeps(),
  );
  const srv = await serveHandler(cb(be.handler));
  try {
    assert.equal((await send(srv.url)).status, 200);
    be.status = 502;
    for (let i = 0; i < 5; i++) await send(srv.url);
    await sleep(15);
    await send(srv.url); // evaluated after this response: ratio > 0.5 → tripped
    const hitsAtTrip = be.hits;
    const r = await send(srv.url);
    assert.equal(r.status, 503);
    assert.equal(r.body, 'Service Unavailable');
    assert.equal(be.hits, hitsAtTrip, 'fallback answers without calling the backend');
    be.status = 200;
    await sleep(160); // fallback over → recovering: some requests pass, others get the fallback
    const during: number[] = [];
    for (let i = 0; i < 20; i++) {
      during.push((await send(srv.url)).status);
      await sleep(5);
    }
    assert.ok(during.includes(200), 'recovering lets some traffic through');
    await sleep(200);
    for (let i = 0; i < 5; i++) assert.equal((await send(srv.url)).status, 200, 'back to standby');
  } finally {
    await srv.close();
  }
});

test('responseCode and ResponseCodeRatio', async () => {
  const be = switchable();
  be.status = 500;
  const cb = middleware.create(
    { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.5', checkPeriod: '1ms', fallbackDuration: '10s', responseCode: 429 },
    testDeps(),
  );
  const srv = await serveHandler(cb(be.handler));
  try {
    await send(srv.url);
    await sleep(5);
    await send(srv.url);
    const r = await send(srv.url);
    assert.equal(r.status, 429);
    assert.equal(r.body, 'Too Many Requests');
  } finally {
    await srv.close();
  }
});

test('healthy traffic never trips', async () => {
  const be = switchable();
  const srv = await serveHandler(
    middleware.create(
      { expression: 'NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(50.0) > 1000', checkPeriod: '1ms' },
      testDeps(),
    )(be.handler),
  );
  try {
    for (let i = 0; i < 10; i++) assert.equal((await send(srv.url)).status, 200);
  } finally {
    await srv.close();
  }
});

test('metrics: ratios, quantiles and the rolling window', () => {
  let now = 100_000;
  const m = new RollingMetrics(() => now);
  m.record(200, 10);
  m.record(502, 10);
  m.record(504, 100);
  m.record(404, 200);
  assert.equal(m.networkErrorRatio(), 0.5);
  assert.equal(m.responseCodeRatio(500, 600, 0, 600), 0.5);
  assert.equal(m.responseCodeRatio(400, 500, 0, 600), 0.25);
  assert.equal(m.responseCodeRatio(400, 500, 600, 700), 0);
  const p50 = m.latencyAtQuantileMs(50);
  assert.ok(p50 >= 10 && p50 <= 10.6, `p50 ${p50}`);
  const p100 = m.latencyAtQuantileMs(100);
  assert.ok(p100 >= 200 && p100 <= 211, `p100 ${p100}`);
  now += 10_500;
  assert.equal(m.total(), 0, 'buckets older than 10 s are out of the window');
});

test('expression parser: precedence, parentheses and comparison operators', () => {
  const m = new RollingMetrics(() => 0);
  m.record(502, 5);
  m.record(200, 5);
  const t = (e: string) => parseExpression(e)(m);
  assert.equal(t('NetworkErrorRatio() >= 0.5'), true);
  assert.equal(t('NetworkErrorRatio() > 0.5'), false);
  assert.equal(t('NetworkErrorRatio() > 0.9 || NetworkErrorRatio() == 0.5 && 1 < 2'), true);
  assert.equal(t('(NetworkErrorRatio() > 0.9 || NetworkErrorRatio() == 0.5) && 1 > 2'), false);
  assert.equal(t('ResponseCodeRatio(500, 600, 0, 600) != 0'), true);
  assert.equal(t('LatencyAtQuantileMS(50.0) < .5'), false);
});

test('expression errors are positioned', () => {
  assert.throws(() => parseExpression('NetworkErrorRatio() >'), /at column 22: unexpected end of expression/);
  assert.throws(() => parseExpression('NetworkErrorRatio()'), /at column 1: the expression must be a condition/);
  assert.throws(() => parseExpression('Foo() > 1'), /at column 1: unknown function "Foo"/);
  assert.throws(() => parseExpression('ResponseCodeRatio(500, 600) > 0.5'), /takes 4 argument/);
  assert.throws(() => parseExpression('NetworkErrorRatio() > 0.5 $'), /at column 27: unexpected character "\$"/);
  assert.throws(() => parseExpression('1 > 2 > 3'), /at column 7: unexpected ">"/);
  assert.throws(() => parseExpression('1 && 2 > 1'), /operand of "&&" must be a condition/);
  assert.throws(
    () => middleware.create({ expression: 'NetworkErrorRatio() >' }, testDeps()),
    /^MiddlewareOptionError: expression: at column 22/,
  );
  assert.throws(
    () => middleware.create({ expression: 'NetworkErrorRatio() > 1', checkPeriod: 'x' }, testDeps()),
    /^MiddlewareOptionError: checkPeriod:/,
  );
  assert.throws(() => middleware.create({ expression: 'NetworkErrorRatio() > 1', responseCode: 42 }, testDeps()), /responseCode/);
});

test('breaker: recovery ramps the allowed share up over recoveryDuration', () => {
  let now = 0;
  const b = new Breaker({ condition: () => true, checkPeriodMs: 1, fallbackMs: 100, recoveryMs: 1000, now: () => now });
  b.record(500, 1);
  assert.equal(b.state, 'tripped');
  now = 50;
  assert.equal(b.shouldFallback(), true);
  now = 101;
  let early = 0;
  for (let i = 0; i < 100; i++) if (!b.shouldFallback()) early++;
  now = 101 + 900;
  let late = 0;
  for (let i = 0; i < 100; i++) if (!b.shouldFallback()) late++;
  assert.ok(late > early, `late ${late} > early ${early}`);
  now = 1200;
  assert.equal(b.shouldFallback(), false);
  assert.equal(b.state, 'standby');
});
