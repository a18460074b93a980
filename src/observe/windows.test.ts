import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketIndex } from './histogram.js';
import { PendingSlices, SlidingWindows, WindowSum, type Sample } from './windows.js';

const T0 = 1_700_000_040_000; // aligned to the minute

function sample(at: number, latencyMs: number, success = true): Sample {
  return {
    at,
    latencyMs,
    bucket: bucketIndex(latencyMs),
    success,
    clientError: false,
    timed: true,
    bytesIn: 10,
    bytesOut: 100,
    retries: 0,
  };
}

test('rate and quantiles over a 10 s window', () => {
  const w = new SlidingWindows();
  // 10 requests per second for 10 s: latencies 1..100 ms.
  for (let s = 0; s < 10; s++) for (let i = 0; i < 10; i++) w.record(sample(T0 + s * 1000 + i * 50, s * 10 + i + 1, i !== 0));
  const now = T0 + 9_999;
  const sum = w.query(now, 10_000, new WindowSum());
  assert.equal(sum.requests, 100);
  assert.equal(sum.successes, 90);
  assert.equal(sum.successRate(), 0.9);
  assert.ok(Math.abs(sum.rps() - 10) < 0.01, `rps ${sum.rps()}`);
  const p50 = sum.quantile(0.5) as number;
  assert.ok(Math.abs(p50 - 50) / 50 <= 0.1, `p50 ${p50}`);
  const p99 = sum.quantile(0.99) as number;
  assert.ok(Math.abs(p99 - 99) / 99 <= 0.1, `p99 ${p99}`);
  assert.equal(sum.min, 1);
  assert.equal(sum.max, 100);
  assert.equal(sum.bytesOut, 10_000);
});

test('windows expire: old slices leave the 10 s window but stay in longer ones', () => {
  const w = new SlidingWindows();
  for (let i = 0; i < 20; i++) w.record(sample(T0 + i * 10, 5));
  assert.equal(w.query(T0 + 5_000, 10_000, new WindowSum()).requests, 20);
  assert.equal(w.query(T0 + 10_500, 10_000, new WindowSum()).requests, 0, 'gone from 10 s');
  assert.equal(w.query(T0 + 30_000, 60_000, new WindowSum()).requests, 20, 'still in 1 min');
  assert.equal(w.query(T0 + 70_000, 60_000, new WindowSum()).requests, 0, 'gone from 1 min');
  assert.equal(w.query(T0 + 500_000, 600_000, new WindowSum()).requests, 20, 'still in 10 min');
  assert.equal(w.query(T0 + 3_000_000, 3_600_000, new WindowSum()).requests, 20, 'still in 1 h');
  assert.equal(w.query(T0 + 3_700_000, 3_600_000, new WindowSum()).requests, 0, 'gone from 1 h');
  assert.equal(w.idleSince(T0 + 3_700_000), true);
  assert.equal(w.idleSince(T0 + 100_000), false);
  // A slot reused after expiry starts from zero.
  w.record(sample(T0 + 3_700_000, 7));
  const s = w.query(T0 + 3_700_500, 10_000, new WindowSum());
  assert.equal(s.requests, 1);
  assert.equal(s.quantile(0.5), 7);
});

test('rate over a window not yet full uses the time since counting started', () => {
  const w = new SlidingWindows();
  for (let i = 0; i < 30; i++) w.record(sample(T0 + i * 100, 1));
  const sum = w.query(T0 + 3_000, 60_000, new WindowSum(), T0);
  assert.ok(Math.abs(sum.rps() - 10) < 0.01, `rps ${sum.rps()}`);
});

test('group-by: one WindowSum over several series', () => {
  const a = new SlidingWindows();
  const b = new SlidingWindows();
  for (let i = 0; i < 10; i++) a.record(sample(T0 + i, 1));
  for (let i = 0; i < 10; i++) b.record(sample(T0 + i, 1000, false));
  const sum = new WindowSum();
  a.query(T0 + 500, 10_000, sum);
  b.query(T0 + 500, 10_000, sum);
  assert.equal(sum.requests, 20);
  assert.equal(sum.successRate(), 0.5);
  const p95 = sum.quantile(0.95) as number;
  assert.ok(p95 >= 900 && p95 <= 1000, String(p95));
});

test('pending slices drain as deltas that rebuild the same windows', () => {
  const local = new SlidingWindows();
  const pending = new PendingSlices();
  for (let i = 0; i < 50; i++) {
    const s = sample(T0 + i * 97, 1 + (i % 13), i % 5 !== 0);
    local.record(s);
    pending.record(s, true);
  }
  const deltas = JSON.parse(JSON.stringify(pending.drain()));
  assert.equal(pending.drain().length, 0, 'drained');
  const remote = new SlidingWindows();
  for (const d of deltas) remote.addDelta(d);
  const now = T0 + 6_000;
  const x = local.query(now, 10_000, new WindowSum());
  const y = remote.query(now, 10_000, new WindowSum());
  assert.equal(y.requests, x.requests);
  assert.equal(y.successes, x.successes);
  assert.equal(y.quantile(0.9), x.quantile(0.9));
  assert.equal(y.last, x.last);
});

test('timeline gives one point per slice', () => {
  const w = new SlidingWindows();
  for (let i = 0; i < 120; i++) w.record(sample(T0 + i * 1000, 3));
  const pts = w.timeline(T0 + 119_500, 3_600_000);
  assert.equal(pts.length, 60);
  const last = pts[pts.length - 1]!;
  assert.equal(last.requests, 60);
  assert.equal(last.rps, 1);
  assert.equal(last.p50, 3);
});
