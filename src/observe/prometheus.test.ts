import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MetricsStore, type ExchangeRecord } from './metrics.js';
import { escapeLabelValue, renderPrometheus } from './prometheus.js';

const T0 = 1_700_000_040_000;

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
    latencyMs: 50,
    bytesIn: 10,
    bytesOut: 2,
    retries: 0,
    upstreamError: false,
    at: T0,
    ...over,
  };
}

function sampleStore(): MetricsStore {
  const m = new MetricsStore({ now: () => T0 });
  m.record(ex({ latencyMs: 50 }));
  m.record(ex({ latencyMs: 250 }));
  m.record(ex({ latencyMs: 100 })); // exactly on the 0.1 s bound: le is inclusive
  m.record(ex({ latencyMs: 7000, status: 502, upstreamError: true, retries: 2 }));
  m.record(ex({ caller: 'we"ird\\caller\nx', method: 'BREW' }));
  m.setConnections('web', 4);
  m.setServerUp('add-svc@file', 'http://10.0.0.1:80', true);
  m.setServerUp('add-svc@file', 'http://10.0.0.2:80', false);
  m.recordConfigReload(true, T0);
  return m;
}

function value(text: string, line: string): number {
  const l = text.split('\n').find((x) => x.startsWith(line + ' '));
  assert.ok(l, `missing sample ${line}`);
  return Number(l.slice(line.length + 1));
}

test('Traefik names, labels, histogram buckets and totals', () => {
  const text = renderPrometheus(sampleStore().prometheusSnapshot());
  const ep = 'code="200",method="GET",protocol="http",entrypoint="web"';
  assert.equal(value(text, `traefik_entrypoint_requests_total{${ep}}`), 3);
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_bucket{${ep},le="0.1"}`), 2);
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_bucket{${ep},le="0.3"}`), 3);
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_bucket{${ep},le="+Inf"}`), 3);
  assert.ok(Math.abs(value(text, `traefik_entrypoint_request_duration_seconds_sum{${ep}}`) - 0.4) < 1e-9);
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_count{${ep}}`), 3);
  assert.equal(value(text, `traefik_entrypoint_requests_bytes_total{${ep}}`), 30);
  assert.equal(value(text, `traefik_entrypoint_responses_bytes_total{${ep}}`), 6);
  assert.equal(value(text, 'traefik_entrypoint_requests_total{code="200",method="EXTENSION",protocol="http",entrypoint="web"}'), 1);
  assert.equal(value(text, 'traefik_service_requests_total{code="502",method="GET",protocol="http",service="add-svc@file"}'), 1);
  assert.equal(
    value(text, 'traefik_service_request_duration_seconds_bucket{code="502",method="GET",protocol="http",service="add-svc@file",le="5"}'),
    0,
  );
  assert.equal(value(text, 'traefik_service_retries_total{service="add-svc@file"}'), 2);
  assert.equal(value(text, 'traefik_service_server_up{service="add-svc@file",url="http://10.0.0.2:80"}'), 0);
  assert.equal(value(text, 'traefik_service_server_up{service="add-svc@file",url="http://10.0.0.1:80"}'), 1);
  assert.equal(value(text, 'traefik_open_connections{entrypoint="web",protocol="TCP"}'), 4);
  assert.equal(value(text, 'traefik_config_reloads_total'), 1);
  assert.equal(value(text, 'traefik_config_last_reload_success'), T0 / 1000);
  assert.equal(
    value(text, 'gatehouse_requests_total{caller="add-cli",router="calc@file",service="add-svc@file",classification="failure"}'),
    1,
  );
  assert.equal(
    value(text, 'gatehouse_requests_total{caller="add-cli",router="calc@file",service="add-svc@file",classification="success"}'),
    3,
  );
  assert.equal(value(text, 'gatehouse_request_duration_seconds_count{caller="add-cli"}'), 4);
  // Escaped label values.
  assert.equal(value(text, 'gatehouse_request_duration_seconds_count{caller="we\\"ird\\\\caller\\nx"}'), 1);
  // Router metrics only with addRoutersLabels, as in Traefik.
  assert.ok(!text.includes('traefik_router_requests_total'));
  const withRouters = renderPrometheus(sampleStore().prometheusSnapshot(), { addRoutersLabels: true, addServicesLabels: false });
  assert.equal(
    value(withRouters, 'traefik_router_requests_total{code="200",method="GET",protocol="http",router="calc@file",service="add-svc@file"}'),
    3,
  );
  assert.ok(!withRouters.includes('traefik_service_requests_total'));
  // Every family has HELP and TYPE.
  for (const fam of [
    'traefik_entrypoint_requests_total',
    'traefik_entrypoint_request_duration_seconds',
    'traefik_service_server_up',
    'gatehouse_requests_total',
  ]) {
    assert.ok(text.includes(`# HELP ${fam} `) && text.includes(`# TYPE ${fam} `), fam);
  }
});

test('escapeLabelValue', () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

test('configurable buckets', () => {
  const m = new MetricsStore({ now: () => T0, prometheusBuckets: [0.01, 0.05, 1] });
  m.record(ex({ latencyMs: 20 }));
  const text = renderPrometheus(m.prometheusSnapshot());
  const ep = 'code="200",method="GET",protocol="http",entrypoint="web"';
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_bucket{${ep},le="0.01"}`), 0);
  assert.equal(value(text, `traefik_entrypoint_request_duration_seconds_bucket{${ep},le="0.05"}`), 1);
});

test('promtool check metrics accepts the exposition', (t) => {
  const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (which.error !== undefined || which.status !== 0) {
    t.skip('promtool not installed (Debian package "prometheus"): exposition not checked by promtool');
    return;
  }
  for (const opts of [{}, { addRoutersLabels: true }]) {
    const text = renderPrometheus(sampleStore().prometheusSnapshot(), opts);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', `promtool lint: ${r.stdout}${r.stderr}`);
  }
  const empty = renderPrometheus(new MetricsStore().prometheusSnapshot());
  const r = spawnSync('promtool', ['check', 'metrics'], { input: empty, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `promtool (empty store): ${r.stdout}${r.stderr}`);
});
