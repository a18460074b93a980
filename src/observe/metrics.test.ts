import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsStore, type ExchangeRecord } from './metrics.js';
import { isSuccess, pathTemplate } from './classify.js';

const T0 = 1_700_000_040_000;

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

test('success classification: HTTP and gRPC (Linkerd codes)', () => {
  assert.equal(isSuccess(200, null, false), true);
  assert.equal(isSuccess(404, null, false), true);
  assert.equal(isSuccess(499, null, false), true);
  assert.equal(isSuccess(500, null, false), false);
  assert.equal(isSuccess(503, null, false), false);
  assert.equal(isSuccess(0, null, false), false, 'no response');
  assert.equal(isSuccess(200, null, true), false, 'upstream error');
  const failures = new Set([2, 4, 13, 14, 15]);
  for (let code = 0; code <= 16; code++) assert.equal(isSuccess(200, code, false), !failures.has(code), `grpc ${code}`);
  assert.equal(isSuccess(200, 99, false), false, 'unknown code');
  assert.equal(isSuccess(502, 0, false), false, 'gateway 502 on a gRPC call');
});

test('path templates', () => {
  assert.equal(pathTemplate('/add/10/10'), '/add/{n}/{n}');
  assert.equal(pathTemplate('/add/-1/2.5'), '/add/{n}/{n}');
  assert.equal(pathTemplate('/users/123e4567-e89b-12d3-a456-426614174000/x'), '/users/{uuid}/x');
  assert.equal(pathTemplate('/blobs/deadbeef01'), '/blobs/{hex}');
  assert.equal(pathTemplate('/static/app.js'), '/static/app.js');
  assert.equal(pathTemplate('/'), '/');
  assert.equal(pathTemplate('/add.Calculator/Add'), '/add.Calculator/Add');
});

test('stat: 1000 known requests give exact counts, success and quantiles within one bucket', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  for (let i = 0; i < 1000; i++) {
    m.record(ex({ at: T0 + i * 10, latencyMs: i + 1, status: i % 10 === 0 ? 502 : 200, upstreamError: i % 10 === 0 }));
  }
  c.set(T0 + 9_999);
  const [row] = m.stat('routers', 10_000);
  assert.ok(row);
  assert.equal(row.name, 'calc@file');
  assert.equal(row.requests, 1000);
  assert.equal(row.success, 0.9);
  assert.ok(Math.abs(row.rps - 100) < 0.5, `rps ${row.rps}`);
  assert.ok(Math.abs((row.latencyP50Ms as number) - 500) / 500 <= 0.1, `p50 ${row.latencyP50Ms}`);
  assert.ok(Math.abs((row.latencyP99Ms as number) - 990) / 990 <= 0.1, `p99 ${row.latencyP99Ms}`);
  assert.equal(row.tcpConnections, null);
  for (const kind of ['services', 'servers', 'callers', 'entrypoints'] as const) {
    const rows = m.stat(kind, 10_000);
    assert.equal(rows.length, 1, kind);
    assert.equal(rows[0]!.requests, 1000, kind);
  }
  // Contract names, JSON-serialisable.
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(row))).sort(), [
    'clientErrors',
    'latencyP50Ms',
    'latencyP95Ms',
    'latencyP99Ms',
    'name',
    'requests',
    'rps',
    'success',
    'tcpConnections',
  ]);
});

test('stat filters by caller (--from) and destination (--to); tcp connections from the gauge', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  m.record(ex({ caller: 'a', service: 's1' }));
  m.record(ex({ caller: 'a', service: 's2', router: 'r2' }));
  m.record(ex({ caller: 'b', service: 's1' }));
  m.setConnections('web', 3);
  m.setConnections('admin', 1);
  c.set(T0 + 1000);
  assert.deepEqual(
    m.stat('services', 10_000, { from: 'a' }).map((r) => [r.name, r.requests]),
    [
      ['s1', 1],
      ['s2', 1],
    ],
  );
  assert.deepEqual(
    m.stat('callers', 10_000, { to: 's1' }).map((r) => [r.name, r.requests]),
    [
      ['a', 1],
      ['b', 1],
    ],
  );
  assert.deepEqual(
    m.stat('callers', 10_000, { to: 'r2' }).map((r) => r.name),
    ['a'],
  );
  const eps = m.stat('entrypoints', 10_000);
  assert.deepEqual(
    eps.map((r) => [r.name, r.requests, r.tcpConnections, r.success]),
    [
      ['admin', 0, 1, null],
      ['web', 3, 3, 1],
    ],
  );
});

test('label cap: callers beyond the cap fold into "other"', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now, maxCallers: 3 });
  for (let i = 0; i < 10; i++) m.record(ex({ caller: `client-${i}` }));
  c.set(T0 + 500);
  const rows = m.stat('callers', 10_000);
  assert.deepEqual(
    rows.map((r) => [r.name, r.requests]),
    [
      ['client-0', 1],
      ['client-1', 1],
      ['client-2', 1],
      ['other', 7],
    ],
  );
  const snap = m.prometheusSnapshot();
  assert.equal(snap.totals.callerDurations.size, 4);
});

test('series cap folds new edges into one "other" series', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now, maxSeries: 2, maxCallers: 100 });
  for (let i = 0; i < 5; i++) m.record(ex({ server: `http://10.0.0.${i}:80` }));
  c.set(T0 + 500);
  const rows = m.stat('servers', 10_000);
  assert.deepEqual(
    rows.map((r) => [r.name, r.requests]),
    [
      ['http://10.0.0.0:80', 1],
      ['http://10.0.0.1:80', 1],
      ['other', 3],
    ],
  );
});

test('edges and top', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  m.record(ex({ path: '/add/1/2', latencyMs: 3, at: T0 }));
  m.record(ex({ path: '/add/3/4', latencyMs: 9, at: T0 + 10, status: 500 }));
  m.record(ex({ path: '/add/5/6', latencyMs: 4, at: T0 + 20 }));
  m.record(ex({ path: '/health', latencyMs: 1, at: T0 + 30, caller: 'probe', router: 'health', service: 'ping@internal', server: '' }));
  c.set(T0 + 1000);
  const top = m.top(60_000);
  assert.equal(top.length, 2);
  assert.deepEqual(top[0], { method: 'GET', path: '/add/{n}/{n}', count: 3, rps: 3, bestMs: 3, worstMs: 9, lastMs: 4, success: 2 / 3 });
  const edges = m.edges(60_000);
  assert.deepEqual(
    edges.map((e) => [e.caller, e.router, e.service, e.server, e.requests]),
    [
      ['add-cli', 'calc@file', 'add-svc@file', 'http://10.0.0.1:80', 3],
      ['probe', 'health', 'ping@internal', '', 1],
    ],
  );
  // Windows expire.
  c.set(T0 + 11_000);
  assert.equal(m.stat('routers', 10_000)[0]?.requests ?? 0, 0);
  assert.deepEqual(
    m.stat('routers', 60_000).map((r) => r.requests),
    [3, 1],
  );
  assert.equal(m.edges(10_000).length, 0);
});

test("multi-worker: two workers' deltas merge in the primary", () => {
  const c = clock();
  const w1 = new MetricsStore({ mode: 'worker', now: c.now });
  const w2 = new MetricsStore({ mode: 'worker', now: c.now });
  const primary = new MetricsStore({ now: c.now });
  const single = new MetricsStore({ now: c.now });
  for (let i = 0; i < 300; i++) {
    const e = ex({
      at: T0 + i * 20,
      latencyMs: 1 + (i % 40),
      status: i % 7 === 0 ? 503 : 200,
      retries: i % 50 === 0 ? 1 : 0,
      caller: i % 3 === 0 ? 'x' : 'y',
    });
    (i % 2 === 0 ? w1 : w2).record(e);
    single.record(e);
  }
  w1.setConnections('web', 2);
  w2.setConnections('web', 5);
  assert.throws(() => primary.takeDelta());
  const d1 = JSON.parse(JSON.stringify(w1.takeDelta()));
  const d2 = JSON.parse(JSON.stringify(w2.takeDelta()));
  assert.ok(JSON.stringify(d1).length < 20_000, `delta is small: ${JSON.stringify(d1).length} bytes`);
  primary.applyDelta(d1, 'w1');
  primary.applyDelta(d2, 'w2');
  c.set(T0 + 6_500);
  for (const kind of ['routers', 'callers'] as const) {
    const a = primary.stat(kind, 10_000);
    const b = single.stat(kind, 10_000);
    assert.deepEqual(
      a.map((r) => ({ ...r, tcpConnections: null })),
      b,
      kind,
    );
  }
  assert.equal(primary.stat('entrypoints', 10_000)[0]?.tcpConnections, 7);
  assert.deepEqual(primary.top(60_000), single.top(60_000));
  const pt = primary.prometheusSnapshot().totals;
  const st = single.prometheusSnapshot().totals;
  assert.deepEqual(
    [...pt.entrypoints.values()].map((s) => [s.labels, s.count, s.buckets]).sort(),
    [...st.entrypoints.values()].map((s) => [s.labels, s.count, s.buckets]).sort(),
  );
  assert.deepEqual(pt.retries, st.retries);
  // A second delta holds only what happened since.
  const again = w1.takeDelta();
  assert.equal(again.edges.length, 0);
  assert.equal(again.totals.ep.length, 0);
  assert.equal(again.conn, undefined, 'gauges only when changed');
  w1.setConnections('web', 0);
  primary.applyDelta(w1.takeDelta(), 'w1');
  assert.equal(primary.stat('entrypoints', 10_000)[0]?.tcpConnections, 5);
  primary.forgetSource('w2');
  assert.equal(primary.stat('entrypoints', 10_000)[0]?.tcpConnections, 0);
});

test('gRPC exchanges: success by Linkerd classification, protocol label grpc', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  for (const code of [0, 0, 5, 3, 14, 13]) m.record(ex({ grpcStatus: code, method: 'POST', path: '/add.Calculator/Add' }));
  c.set(T0 + 100);
  assert.equal(m.stat('services', 10_000)[0]?.success, 4 / 6);
  const keys = [...m.prometheusSnapshot().totals.services.values()].map((s) => s.labels.join(','));
  assert.deepEqual(keys, ['200,POST,grpc,add-svc@file']);
  const cls = [...m.prometheusSnapshot().totals.callers.values()].map((s) => [s.labels[3], s.count]);
  assert.deepEqual(cls, [
    ['success', 4],
    ['failure', 2],
  ]);
});

test('timeline for charts and config reload counters', () => {
  const c = clock();
  const m = new MetricsStore({ now: c.now });
  for (let i = 0; i < 120; i++) m.record(ex({ at: T0 + i * 1000 }));
  c.set(T0 + 119_000);
  const pts = m.timeline('routers', 'calc@file', 3_600_000);
  assert.equal(pts.length, 60);
  assert.equal(pts.at(-1)!.requests, 60);
  m.recordConfigReload(true, T0);
  m.recordConfigReload(false, T0 + 1000);
  assert.deepEqual(m.prometheusSnapshot().reloads, {
    total: 2,
    failures: 1,
    lastSuccess: T0 / 1000,
    lastFailure: T0 / 1000 + 1,
    stale: {},
    providers: [],
  });
  m.setConfigStale({ file: true, git: false });
  assert.deepEqual(m.prometheusSnapshot().reloads.stale, { file: 1, git: 0 });
});

test('per-router memo: interleaved label changes and deltas count every exchange in its own series', () => {
  const c = clock();
  const w = new MetricsStore({ mode: 'worker', now: c.now });
  const primary = new MetricsStore({ now: c.now });
  const single = new MetricsStore({ now: c.now });
  // Same router, labels changing between consecutive exchanges, and a delta taken mid-stream
  // (a worker's delta drops its series: the memo must not record into them afterwards).
  const seq: Array<Partial<ExchangeRecord>> = [];
  for (let i = 0; i < 200; i++) {
    seq.push({
      at: T0 + i * 10,
      caller: i % 5 === 0 ? 'b' : 'a',
      server: i % 7 === 0 ? 'http://10.0.0.2:80' : 'http://10.0.0.1:80',
      status: i % 11 === 0 ? 502 : 200,
      method: i % 13 === 0 ? 'POST' : 'GET',
    });
  }
  seq.forEach((o, i) => {
    const e = ex(o);
    w.record(e);
    single.record(e);
    if (i === 101) {
      // exchange 102 has the same labels as 101: the memo is hit across the deltas
      primary.applyDelta(JSON.parse(JSON.stringify(w.takeDelta())), 'w');
      // An idle second: this delta is empty and drops the worker's series.
      primary.applyDelta(JSON.parse(JSON.stringify(w.takeDelta())), 'w');
    }
  });
  primary.applyDelta(JSON.parse(JSON.stringify(w.takeDelta())), 'w');
  c.set(T0 + 5_000);
  for (const kind of ['routers', 'servers', 'callers'] as const) {
    assert.deepEqual(
      primary.stat(kind, 10_000).map((r) => ({ ...r, tcpConnections: null })),
      single.stat(kind, 10_000).map((r) => ({ ...r, tcpConnections: null })),
      kind,
    );
  }
  const pt = primary.prometheusSnapshot().totals;
  const st = single.prometheusSnapshot().totals;
  const rows = (t: typeof pt): string[] =>
    [...t.routers.values(), ...t.callers.values()].map((s) => `${s.labels.join('|')}=${s.count}`).sort();
  assert.deepEqual(rows(pt), rows(st));
  assert.equal(
    rows(st).reduce((n, r) => n + Number(r.split('=')[1]), 0),
    400,
    'every exchange counted once per family',
  );
});
