/**
 * The dashboard's own long-lived requests (server-sent events of the API) are
 * counted as requests of api@internal but not as its latency: through the real
 * gateway, with 1 and 2 workers, in the views and in Prometheus. Also the
 * dashboard's summary and the 24-hour timeline through the API, and their
 * parameter errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, eventually, type TestGateway } from './support/gateway.js';
import type { StatRow, Summary } from '../src/observe/metrics.js';
import type { TimelinePoint } from '../src/observe/windows.js';

async function json<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await request(url);
  return { status: r.statusCode, body: (await r.body.json()) as T };
}

/** Open the tap as the dashboard does (EventSource), hold it `ms`, close it. */
async function holdTap(gw: TestGateway, ms: number): Promise<void> {
  const ac = new AbortController();
  const r = await request(`${gw.admin}/api/gatehouse/tap?maxRps=10`, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  r.body.on('data', () => undefined);
  r.body.on('error', () => undefined);
  await new Promise((res) => setTimeout(res, ms));
  ac.abort();
}

function apiRow(rows: StatRow[]): StatRow | undefined {
  return rows.find((r) => r.name === 'api@internal');
}

for (const workers of [1, 2]) {
  test(`server-sent events of the API are requests, not latency (workers: ${workers})`, { timeout: 60_000 }, async () => {
    const gw = await startGateway({ workers, flags: ['--api.insecure', '--metrics.prometheus'] });
    try {
      // Two taps held open 1.5 s each, and a few short API calls.
      await Promise.all([holdTap(gw, 1_500), holdTap(gw, 1_500)]);
      for (let i = 0; i < 5; i++)
        assert.equal((await request(`${gw.admin}/api/version`).then((r) => r.body.dump().then(() => r))).statusCode, 200);
      // Prometheus: the streams are in requests_total, not in the duration histogram. Poll until
      // both streams' ends reached the aggregate (with 2 workers, deltas travel every second).
      const scrape = async (): Promise<{ total: number; count: number; seconds: number }> => {
        const text = await (await request(`${gw.admin}/metrics`)).body.text();
        const sum = (re: RegExp): number => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
        return {
          total: sum(/^traefik_service_requests_total\{[^}]*service="api@internal"[^}]*\} (\S+)$/gm),
          count: sum(/^traefik_service_request_duration_seconds_count\{[^}]*service="api@internal"[^}]*\} (\S+)$/gm),
          seconds: sum(/^traefik_service_request_duration_seconds_sum\{[^}]*service="api@internal"[^}]*\} (\S+)$/gm),
        };
      };
      let m = await scrape();
      await eventually(async () => {
        m = await scrape();
        return m.total - m.count >= 2 && m.total >= 7;
      }, 10_000);
      assert.equal(m.total - m.count, 2, `the two streams are in requests_total (${m.total}) only, not in the histogram (${m.count})`);
      assert.ok(m.seconds < 1, `duration sum ${m.seconds} s without the streams`);

      // The views: api@internal counts the streams as requests, its p99 is not theirs.
      const row = apiRow((await json<StatRow[]>(`${gw.admin}/api/gatehouse/stat?kind=routers&window=1m`)).body);
      assert.ok(row !== undefined && row.requests >= 7, JSON.stringify(row));
      assert.ok(row.latencyP99Ms !== null && row.latencyP99Ms < 1_000, `p99 ${row.latencyP99Ms} ms must not include the 1.5 s streams`);
    } finally {
      await gw.close();
    }
  });
}

test('summary and long timelines through the API; bad parameters get a clear 400', { timeout: 30_000 }, async () => {
  const gw = await startGateway({ flags: ['--api.insecure'] });
  try {
    for (let i = 0; i < 3; i++) await request(`${gw.url}/nothing`).then((r) => r.body.dump());
    await request(`${gw.admin}/api/version`).then((r) => r.body.dump());
    let s: Summary | undefined;
    assert.ok(
      await eventually(async () => {
        s = (await json<Summary>(`${gw.admin}/api/gatehouse/summary?range=1h&limit=3`)).body;
        return s.total.requests >= 3 && s.internal.requests >= 1;
      }, 10_000),
      JSON.stringify(s),
    );
    assert.equal(s!.rangeMs, 3_600_000);
    assert.equal(s!.stepMs, 60_000);
    assert.equal(s!.total.points.length, 60);
    assert.ok(s!.internal.requests >= 1, 'the API calls are counted apart');

    const day = await json<TimelinePoint[]>(`${gw.admin}/api/gatehouse/timeline?kind=entrypoints&name=web&window=24h`);
    assert.equal(day.status, 200);
    assert.equal(day.body.length, 288);
    assert.ok(day.body.at(-1)!.requests >= 3);

    const bad: Array<[string, RegExp]> = [
      ['summary?range=25h', /range: must be between 1s and 24h/],
      ['summary?range=soon', /range: expected a duration like 5m, 1h, 6h or 24h/],
      ['summary?limit=0', /limit: expected an integer from 1 to 50/],
      ['timeline?kind=callers&name=x&window=6h', /beyond 1h, history is kept for routers, services and entrypoints only/],
      ['timeline?kind=routers&name=x&window=25h', /window: must be between 1s and 24h/],
      ['stat?window=2h', /window: must be between 1s and 1h/],
    ];
    for (const [path, re] of bad) {
      const r = await json<{ message: string }>(`${gw.admin}/api/gatehouse/${path}`);
      assert.equal(r.status, 400, path);
      assert.match(r.body.message, re, path);
    }
  } finally {
    await gw.close();
  }
});
