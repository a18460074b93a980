import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsStore, type ExchangeRecord } from './metrics.js';
import { HISTORY_SLICE_MS } from './history.js';

const T0 = 1_700_000_100_000; // aligned to 5 minutes

function clock(start = T0): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

function ex(over: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    entryPoint: 'web',
    router: 'calc@file',
    service: 'add-svc@file',
    server: 'http://10.0.0.1:80',
    caller: 'add-cli',
    method: 'GET',
    status: 200,
    grpcStatus: null,
    latencyMs: 5,
    bytesIn: 0,
    bytesOut: 2,
    retries: 0,
    upstreamError: false,
    at: T0,
    path: '/add/10/10',
    ...over,
  };
}

test('a long-lived stream of the API is a request without a latency (windows and Prometheus)', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  const api = { router: 'api@internal', service: 'api@internal', server: '' };
  for (let i = 0; i < 20; i++) m.record(ex({ ...api, at: T0 + i * 100, latencyMs: 2 }));
  // Two dashboards kept their tap open for 6.4 s and 30 s.
  m.record(ex({ ...api, at: T0 + 2_000, latencyMs: 6_400, streaming: true }));
  m.record(ex({ ...api, at: T0 + 2_100, latencyMs: 30_000, streaming: true }));
  c.set(T0 + 3_000);
  const [row] = m.stat('routers', 60_000);
  assert.equal(row!.name, 'api@internal');
  assert.equal(row!.requests, 22, 'the streams are counted as requests');
  assert.equal(row!.success, 1);
  assert.ok(row!.latencyP99Ms! < 3, `p99 ${row!.latencyP99Ms} ms: the streams are not latencies`);
  const [pt] = m.timeline('routers', 'api@internal', 10_000).filter((p) => p.requests > 0);
  assert.ok(pt!.p99! < 3, `timeline p99 ${pt!.p99}`);

  // Prometheus: requests_total counts them, the duration histogram does not.
  const series = [...m.prometheusSnapshot().totals.routers.values()];
  assert.equal(
    series.reduce((n, s) => n + s.count, 0),
    22,
  );
  assert.equal(
    series.reduce((n, s) => n + s.timed, 0),
    20,
  );
  assert.ok(series.reduce((n, s) => n + s.sum, 0) < 1, 'duration sum without the streams');

  // The same through a worker's delta.
  const w = new MetricsStore({ mode: 'worker', now: c.now });
  const p = new MetricsStore({ now: c.now });
  w.record(ex({ ...api, at: T0 + 100, latencyMs: 2 }));
  w.record(ex({ ...api, at: T0 + 200, latencyMs: 9_000, streaming: true }));
  p.applyDelta(JSON.parse(JSON.stringify(w.takeDelta())) as ReturnType<MetricsStore['takeDelta']>, 'w');
  const [r2] = p.stat('routers', 60_000);
  assert.equal(r2!.requests, 2);
  assert.equal(r2!.latencyP99Ms, 2);
});

test('4xx are counted apart from failures (success stays "not 5xx")', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  for (let i = 0; i < 10; i++) m.record(ex({ at: T0 + i, status: i < 6 ? 401 : i < 8 ? 502 : 200 }));
  c.set(T0 + 1_000);
  const [row] = m.stat('routers', 10_000);
  assert.equal(row!.requests, 10);
  assert.equal(row!.clientErrors, 6);
  assert.equal(row!.success, 0.8);
  const [edge] = m.edges(10_000);
  assert.equal(edge!.clientErrors, 6);
  const pts = m.timeline('routers', 'calc@file', 10_000);
  assert.equal(
    pts.reduce((n, p) => n + p.clientErrors, 0),
    6,
  );
});

test('timelines: 5-second points for 5 minutes, quantiles merged over several series', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  // Two servers behind one router: 1 ms on one, 100 ms on the other.
  for (let i = 0; i < 100; i++) {
    m.record(ex({ at: T0 + i * 10, server: 'http://a', latencyMs: 1 }));
    m.record(ex({ at: T0 + i * 10, server: 'http://b', latencyMs: 100 }));
  }
  c.set(T0 + 4_000);
  const pts = m.timeline('routers', 'calc@file', 300_000);
  assert.equal(pts.length, 60);
  assert.equal(pts[1]!.t - pts[0]!.t, 5_000);
  const last = pts.at(-1)!;
  assert.equal(last.requests, 200);
  // Merged: p50 is between the two, not the worst series' p50 (100 ms).
  assert.ok(last.p50! < 10, `p50 ${last.p50}`);
  assert.ok(last.p99! > 90, `p99 ${last.p99}`);
  // The current slice's rate is over the 4 s elapsed in it.
  assert.equal(last.rps, 50);
});

test('history: 5-minute points over 6 h and 24 h, rolled from the 1-minute slices', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  // 7 hours: each 5-minute period k gets k + 1 requests on calc@file (10 ms) and one 401 on auth@file.
  const periods = 7 * 12;
  for (let k = 0; k < periods; k++) {
    const start = T0 + k * HISTORY_SLICE_MS;
    c.set(start);
    for (let i = 0; i <= k; i++) m.record(ex({ at: start + 1_000 + i, latencyMs: 10 }));
    m.record(ex({ at: start + 2_000, router: 'auth@file', service: 'auth@file', status: 401 }));
    m.record(ex({ at: start + 3_000, router: 'api@internal', service: 'api@internal' }));
  }
  const now = T0 + (periods - 1) * HISTORY_SLICE_MS + 30_000;
  c.set(now);
  const six = m.timeline('routers', 'calc@file', 6 * 3_600_000);
  assert.equal(six.length, 72);
  assert.equal(six[1]!.t - six[0]!.t, HISTORY_SLICE_MS);
  // The last point is the current period (from the 1-minute slices); earlier ones from the history.
  assert.deepEqual(
    six.slice(-3).map((p) => p.requests),
    [periods - 2, periods - 1, periods],
  );
  assert.equal(six[0]!.requests, periods - 71);
  assert.ok(Math.abs(six[0]!.p50! - 10) <= 1, `p50 ${six[0]!.p50}`);
  assert.equal(six[0]!.rps, Math.round(((periods - 71) / 300) * 1000) / 1000);
  const day = m.timeline('routers', 'calc@file', 24 * 3_600_000);
  assert.equal(day.length, 288);
  assert.equal(day.filter((p) => p.requests > 0).length, periods, 'before the start: empty points');
  const auth = m.timeline('routers', 'auth@file', 6 * 3_600_000);
  assert.ok(
    auth.every((p) => p.requests === 1 && p.clientErrors === 1 && p.successes === 1),
    JSON.stringify(auth.slice(0, 2)),
  );
  const web = m.timeline('entrypoints', 'web', 6 * 3_600_000);
  assert.equal(web[0]!.requests, periods - 71 + 2, 'entry points include @internal');

  // The overview: its total leaves @internal out; busiest routers of the last minute.
  const s = m.summary(6 * 3_600_000, 5);
  assert.equal(s.stepMs, HISTORY_SLICE_MS);
  assert.equal(s.total.points.length, 72);
  assert.equal(s.total.points[0]!.requests, periods - 71 + 1);
  assert.deepEqual(
    s.routers.map((r) => [r.name, r.requests]),
    [
      ['calc@file', periods],
      ['auth@file', 1],
    ],
  );
  assert.equal(s.internal.requests, 1);
  assert.equal(s.routers[0]!.points.at(-1)!.requests, periods);
  assert.throws(() => m.timeline('callers', 'add-cli', 6 * 3_600_000), /history beyond 1 h is kept for routers, services, entrypoints/);
});

test('history memory is bounded: names beyond maxHistoryNames are not kept', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now, maxHistoryNames: 4 });
  for (let k = 0; k < 3; k++) {
    const start = T0 + k * HISTORY_SLICE_MS;
    c.set(start);
    for (let r = 0; r < 5; r++) m.record(ex({ at: start + 1_000, router: `r${r}@file` }));
  }
  c.set(T0 + 3 * HISTORY_SLICE_MS + 30_000);
  // Kept: the entry point, then the first names met (edge order): r0, its service, the total.
  const kept = [0, 1, 2, 3, 4].filter((r) => m.timeline('routers', `r${r}@file`, 6 * 3_600_000).at(-4)!.requests > 0);
  assert.deepEqual(kept, [0]);
  assert.equal(m.timeline('entrypoints', 'web', 6 * 3_600_000).at(-4)!.requests, 5);
  // The last hour is still served from the windows for every name.
  assert.equal(
    m.timeline('routers', 'r4@file', 3_600_000).reduce((n, p) => n + p.requests, 0),
    3,
  );
});

test('summary: the last minute live, busiest first, with 5-second points', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  for (let i = 0; i < 300; i++) m.record(ex({ at: T0 + i * 100, latencyMs: 1 + (i % 100) }));
  for (let i = 0; i < 30; i++)
    m.record(ex({ at: T0 + i * 1000, router: 'b@file', service: 'b-svc@file', status: i % 3 === 0 ? 500 : 200 }));
  for (let i = 0; i < 50; i++) m.record(ex({ at: T0 + i * 100, router: 'api@internal', service: 'api@internal' }));
  c.set(T0 + 30_000);
  const s = m.summary(300_000, 5);
  assert.equal(s.total.requests, 330);
  assert.equal(s.total.rps, 11);
  assert.equal(s.total.success, 320 / 330);
  assert.ok(Math.abs(s.total.latencyP50Ms! - 45) < 6, `p50 ${s.total.latencyP50Ms}`);
  assert.deepEqual(
    s.routers.map((r) => [r.name, r.requests]),
    [
      ['calc@file', 300],
      ['b@file', 30],
    ],
  );
  assert.deepEqual(
    s.services.map((r) => r.name),
    ['add-svc@file', 'b-svc@file'],
  );
  assert.equal(s.internal.requests, 50);
  assert.equal(s.stepMs, 5_000);
  assert.equal(s.total.points.length, 60);
  assert.equal(
    s.total.points.reduce((n, p) => n + p.requests, 0),
    330,
  );
});
