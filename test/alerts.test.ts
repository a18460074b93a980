/**
 * Alerts: AlertRule validation, firing and resolving against a webhook
 * receiver run here (real HTTP on 127.0.0.1) with the Alertmanager v4 payload,
 * retries with back-off, bounded queue, manual resolution, the CLI table,
 * and the Prometheus rules file checked by the real promtool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage } from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsStore, type ExchangeRecord } from '../src/observe/metrics.js';
import type { Resource } from '../src/config/model.js';
import { AlertEngine, compileAlertRules, type AlertmanagerPayload } from '../src/alerts/index.js';
import { WebhookNotifier } from '../src/alerts/notifier.js';
import { buildPayload } from '../src/alerts/payload.js';
import { renderAlerts, alertsMain } from '../src/cli/alerts.js';

function rule(name: string, spec: Record<string, unknown>, line = 3): Resource {
  return { kind: 'AlertRule', name, spec, source: { file: '/conf/alerts.yaml', line } };
}

function ex(over: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    entryPoint: 'web',
    router: 'calc@file',
    service: 'add-svc@file',
    server: 'http://127.0.0.1:9',
    caller: 'add-cli',
    method: 'GET',
    status: 200,
    grpcStatus: null,
    latencyMs: 5,
    bytesIn: 0,
    bytesOut: 2,
    retries: 0,
    upstreamError: false,
    at: Date.now(),
    path: '/add/1/2',
    ...over,
  };
}

interface Receiver {
  url: string;
  got: Array<{ body: AlertmanagerPayload; headers: IncomingMessage['headers'] }>;
  /** Statuses to answer, in order (then 200). */
  script: number[];
  close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const got: Receiver['got'] = [];
  const script: number[] = [];
  const srv: Server = createServer((req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (b += c));
    req.on('end', () => {
      const status = script.shift() ?? 200;
      if (status === 200) got.push({ body: JSON.parse(b) as AlertmanagerPayload, headers: req.headers });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    script,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

async function until(fn: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fn();
}

test('AlertRule validation: issues carry file, line and field; both operator spellings', () => {
  const { rules, issues } = compileAlertRules([
    rule('ok', { signal: 'successRate', scope: { service: 'add-svc@file' }, operator: 'LessThan', threshold: 0.95 }),
    rule('sym', {
      signal: 'latencyP99',
      operator: '>=',
      threshold: 250,
      windowSize: '10m',
      evaluationFrequency: '30s',
      severity: 1,
      autoMitigate: false,
    }),
    rule('bad-op', { signal: 'successRate', operator: 'Above', threshold: 1 }, 10),
    rule('bad-signal', { signal: 'cpu', operator: '<', threshold: 1 }, 20),
    rule('bad-window', { signal: 'requestRate', operator: '<', threshold: 1, windowSize: '2h' }, 30),
    rule('bad-ratio', { signal: 'successRate', operator: '<', threshold: 95 }, 40),
    rule('two-targets', { signal: 'requestRate', operator: '<', threshold: 1, scope: { router: 'a', service: 'b' } }, 50),
    rule('bad-sev', { signal: 'requestRate', operator: '<', threshold: 1, severity: 7 }, 60),
    rule('bad-hook', { signal: 'requestRate', operator: '<', threshold: 1, webhooks: [{ url: 'ftp://x' }] }, 70),
    { kind: 'Tenant', name: 'ignored', spec: {}, source: { file: 'x' } },
  ]);
  assert.deepEqual(
    rules.map((r) => r.name),
    ['ok', 'sym'],
  );
  const ok = rules[0]!;
  assert.equal(ok.comparison, '<');
  assert.equal(ok.windowMs, 300_000, 'default window 5m');
  assert.equal(ok.everyMs, 60_000, 'default frequency 1m');
  assert.equal(ok.severity, 3);
  assert.equal(ok.autoMitigate, true);
  const sym = rules[1]!;
  assert.equal(sym.comparison, '>=');
  assert.equal(sym.autoMitigate, false);
  const at = (line: number): string[] => issues.filter((i) => i.line === line).map((i) => `${i.file}:${i.line} ${i.object} ${i.field}`);
  assert.ok(
    at(10).some((s) => s === '/conf/alerts.yaml:10 AlertRule bad-op spec.operator'),
    JSON.stringify(issues),
  );
  assert.ok(at(20).some((s) => s.endsWith('spec.signal')));
  assert.ok(at(30).some((s) => s.endsWith('spec.windowSize')));
  assert.ok(at(40).some((s) => s.endsWith('spec.threshold')));
  assert.ok(at(50).some((s) => s.endsWith('spec.scope')));
  assert.ok(at(60).some((s) => s.endsWith('spec.severity')));
  assert.ok(at(70).some((s) => s.includes('spec.webhooks.0.url')));
  assert.equal(issues.filter((i) => i.line !== undefined && i.line < 10).length, 0, 'valid rules have no issue');
});

test('successRate alert fires and resolves; the receiver gets Alertmanager v4 payloads', async () => {
  const rx = await receiver();
  const store = new MetricsStore();
  const engine = new AlertEngine({ metrics: store, externalUrl: 'http://gw.test:8080/' });
  try {
    const issues = engine.update([
      rule('calc-failing', {
        description: 'The calculator fails',
        signal: 'successRate',
        scope: { service: 'add-svc@file' },
        operator: 'LessThan',
        threshold: 0.9,
        windowSize: '4s',
        evaluationFrequency: '1s',
        severity: 0,
        labels: { team: 'calc' },
        webhooks: [{ url: rx.url, name: 'chat', headers: { authorization: 'Bearer s3cret' } }],
      }),
    ]);
    assert.deepEqual(issues, []);
    assert.equal(engine.states()[0]!.state, 'inactive');
    // Healthy traffic first: nothing fires.
    for (let i = 0; i < 20; i++) store.record(ex());
    await engine.evaluateAll();
    assert.equal(engine.states()[0]!.state, 'inactive');
    assert.equal(engine.states()[0]!.value, 1);
    // Failures: 50 % success.
    for (let i = 0; i < 20; i++) store.record(ex({ status: 503 }));
    assert.ok(await until(() => rx.got.length >= 1, 5000), 'a firing notification arrives');
    const f = rx.got[0]!;
    assert.equal(f.headers.authorization, 'Bearer s3cret');
    assert.equal(f.headers['content-type'], 'application/json');
    const p = f.body;
    assert.equal(p.version, '4');
    assert.equal(p.status, 'firing');
    assert.equal(p.receiver, 'chat');
    assert.deepEqual(p.groupLabels, { alertname: 'calc-failing' });
    assert.equal(p.groupKey, '{}:{alertname="calc-failing"}');
    assert.equal(p.externalURL, 'http://gw.test:8080');
    assert.equal(p.alerts.length, 1);
    const a = p.alerts[0]!;
    assert.equal(a.status, 'firing');
    assert.equal(a.labels.alertname, 'calc-failing');
    assert.equal(a.labels.severity, 'critical');
    assert.equal(a.labels.service, 'add-svc@file');
    assert.equal(a.labels.team, 'calc');
    assert.equal(a.annotations.description, 'The calculator fails');
    assert.equal(a.endsAt, '0001-01-01T00:00:00Z');
    assert.ok(!Number.isNaN(Date.parse(a.startsAt)));
    assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal(a.generatorURL, 'http://gw.test:8080/dashboard/#alerts');
    assert.deepEqual(p.commonLabels, a.labels);
    const firing = engine.states()[0]!;
    assert.equal(firing.state, 'firing');
    assert.equal(firing.value, 0.5);
    assert.equal(firing.firedCount, 1);
    // Recovery: only successes; once the failures leave the 4 s window it resolves.
    const feed = setInterval(() => store.record(ex()), 50);
    try {
      assert.ok(await until(() => rx.got.length >= 2, 15000), 'a resolved notification arrives');
    } finally {
      clearInterval(feed);
    }
    const r = rx.got[1]!.body;
    assert.equal(r.status, 'resolved');
    assert.equal(r.alerts[0]!.status, 'resolved');
    assert.equal(r.alerts[0]!.fingerprint, a.fingerprint, 'same alert');
    assert.equal(r.alerts[0]!.startsAt, a.startsAt);
    assert.ok(Date.parse(r.alerts[0]!.endsAt) >= Date.parse(a.startsAt));
    const st = engine.states()[0]!;
    assert.equal(st.state, 'resolved');
    assert.equal(st.lastNotification?.status, 'delivered');
    // The table of `gatehouse alerts`.
    const table = renderAlerts(engine.states());
    assert.match(table, /^RULE\s+STATE/);
    assert.match(table, /calc-failing\s+✔ resolved\s+0\s+successRate < 0.9 over 4s\s+service=add-svc@file/);
    assert.ok(!table.includes('s3cret'));
  } finally {
    engine.close();
    await rx.close();
  }
});

test('healthyServers per service, autoMitigate false stays firing until resolved by hand; config reload failures', async () => {
  const rx = await receiver();
  const store = new MetricsStore();
  let health: Record<string, Record<string, 'UP' | 'DOWN'>> = {
    'a@file': { 'http://1': 'UP' },
    'b@file': { 'http://2': 'DOWN', 'http://3': 'DOWN' },
  };
  const engine = new AlertEngine({ metrics: store, health: () => health });
  try {
    engine.update([
      rule('no-healthy', {
        signal: 'healthyServers',
        operator: '<',
        threshold: 1,
        evaluationFrequency: '1h',
        windowSize: '1h',
        autoMitigate: false,
        webhooks: [{ url: rx.url }],
      }),
      rule('reloads', {
        signal: 'configReloadFailures',
        operator: 'GreaterThan',
        threshold: 0,
        windowSize: '10m',
        evaluationFrequency: '1h',
      }),
    ]);
    await engine.evaluateAll();
    const firing = engine.states().filter((s) => s.state === 'firing');
    assert.deepEqual(
      firing.map((s) => `${s.rule} ${s.labels.service}`),
      ['no-healthy b@file'],
    );
    assert.ok(await until(() => rx.got.length === 1, 3000));
    assert.equal(rx.got[0]!.body.receiver, 'no-healthy-webhook-0');
    assert.equal(rx.got[0]!.body.alerts[0]!.labels.service, 'b@file');
    // Recovered, but autoMitigate is off: still firing.
    health = { 'a@file': { 'http://1': 'UP' }, 'b@file': { 'http://2': 'UP' } };
    await engine.evaluateAll();
    assert.equal(engine.states().filter((s) => s.state === 'firing').length, 1);
    assert.equal(engine.resolve('no-healthy'), 1);
    assert.equal(engine.states().filter((s) => s.state === 'firing').length, 0);
    assert.ok(await until(() => rx.got.length === 2, 3000));
    assert.equal(rx.got[1]!.body.status, 'resolved');
    // A failed reload fires the reload rule.
    store.recordConfigReload(true);
    await engine.evaluateAll();
    assert.equal(engine.states().find((s) => s.rule === 'reloads')!.state, 'inactive');
    store.recordConfigReload(false);
    await engine.evaluateAll();
    const rl = engine.states().find((s) => s.rule === 'reloads')!;
    assert.equal(rl.state, 'firing');
    assert.equal(rl.value, 1);
    // Reloading with the same rules keeps the states; removing a rule drops it.
    engine.update([
      rule('reloads', {
        signal: 'configReloadFailures',
        operator: 'GreaterThan',
        threshold: 0,
        windowSize: '10m',
        evaluationFrequency: '1h',
      }),
    ]);
    assert.deepEqual(
      engine.states().map((s) => `${s.rule} ${s.state}`),
      ['reloads firing'],
    );
  } finally {
    engine.close();
    await rx.close();
  }
});

test('webhook delivery: retried with back-off, bounded queue, never throws', async () => {
  const rx = await receiver();
  const n = new WebhookNotifier({ backoffMs: 30, maxBackoffMs: 200, timeoutMs: 2000 });
  try {
    rx.script.push(503, 502);
    const payload = buildPayload('r', '', { alertname: 'x' }, [
      {
        status: 'firing',
        labels: { alertname: 'x' },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: '0123456789abcdef',
      },
    ]);
    let result: unknown = null;
    n.send(rx.url, {}, payload, (r) => (result = r));
    assert.ok(await until(() => result !== null, 5000));
    assert.deepEqual(
      { ...(result as object), at: 0 },
      { url: rx.url, receiver: 'r', status: 'delivered', attempts: 3, httpStatus: 200, at: 0 },
    );
    assert.equal(rx.got.length, 1);
    // 4xx (other than 408/429) is not retried.
    rx.script.push(400);
    let r2: { status: string; attempts: number } | null = null;
    n.send(rx.url, {}, payload, (r) => (r2 = r));
    assert.ok(await until(() => r2 !== null, 3000));
    assert.deepEqual([r2!.status, r2!.attempts], ['failed', 1]);
  } finally {
    n.close();
    await rx.close();
  }
  // Queue bound: a dead receiver (closed port) and a queue of 2.
  const dead = new WebhookNotifier({ maxQueue: 2, concurrency: 1, backoffMs: 10_000, timeoutMs: 500 });
  const payload = buildPayload('r', '', { alertname: 'x' }, []);
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) dead.send('http://127.0.0.1:9/hook', {}, payload, (r) => outcomes.push(r.status));
  assert.ok(dead.pending <= 3, `pending ${dead.pending}`);
  assert.ok(dead.dropped >= 2);
  assert.ok(outcomes.filter((o) => o === 'dropped').length >= 2);
  dead.close();
});

test('gatehouse alerts: reads /api/gatehouse/alerts from --admin', async () => {
  const store = new MetricsStore();
  const engine = new AlertEngine({ metrics: store });
  engine.update([rule('rps', { signal: 'requestRate', operator: '<', threshold: 1, windowSize: '10s', evaluationFrequency: '1h' })]);
  await engine.evaluateAll();
  const srv = createServer((req, res) => {
    if (req.url === '/api/gatehouse/alerts')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(engine.states()));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const admin = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    let out = '';
    const w = { write: (s: string) => (out += s) };
    assert.equal(await alertsMain(['--admin', admin], {}, w, w), 0);
    assert.match(out, /rps\s+✖ firing\s+3\s+requestRate < 1 over 10s\s+\*\s+0\s/);
    out = '';
    assert.equal(await alertsMain(['-o', 'json', '--state', 'firing'], { GATEHOUSE_ADMIN: admin }, w, w), 0);
    const rows = JSON.parse(out) as Array<{ rule: string; state: string }>;
    assert.deepEqual(
      rows.map((r) => [r.rule, r.state]),
      [['rps', 'firing']],
    );
    out = '';
    assert.equal(await alertsMain(['--admin', 'http://127.0.0.1:9'], {}, w, w), 1);
    assert.match(out, /cannot reach/);
  } finally {
    engine.close();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

test(
  'deploy/prometheus/gatehouse-rules.yaml passes promtool check rules and its unit tests',
  { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' },
  () => {
    const file = join(process.cwd(), 'deploy/prometheus/gatehouse-rules.yaml');
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 4 rules found/);
    // Rule unit tests: each alert fires on the series it is about, and only then.
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rules-'));
    try {
      writeFileSync(
        join(dir, 'test.yaml'),
        `rule_files: [${JSON.stringify(file)}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'traefik_service_requests_total{service="bad@file",code="200",method="GET",protocol="http"}'
        values: '0+60x20'
      - series: 'traefik_service_requests_total{service="bad@file",code="503",method="GET",protocol="http"}'
        values: '0+60x20'
      - series: 'traefik_service_requests_total{service="good@file",code="200",method="GET",protocol="http"}'
        values: '0+600x20'
      - series: 'traefik_service_server_up{service="bad@file",url="http://10.0.0.1"}'
        values: '0x20'
      - series: 'traefik_service_server_up{service="good@file",url="http://10.0.0.2"}'
        values: '1x20'
      - series: 'traefik_config_reloads_failure_total'
        values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1'
      - series: 'traefik_service_request_duration_seconds_bucket{service="slow@file",le="0.1"}'
        values: '0x20'
      - series: 'traefik_service_request_duration_seconds_bucket{service="slow@file",le="1.2"}'
        values: '0x20'
      - series: 'traefik_service_request_duration_seconds_bucket{service="slow@file",le="5"}'
        values: '0+60x20'
      - series: 'traefik_service_request_duration_seconds_bucket{service="slow@file",le="+Inf"}'
        values: '0+60x20'
      - series: 'traefik_service_request_duration_seconds_count{service="slow@file"}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: GatehouseServiceLowSuccessRate
        exp_alerts:
          - exp_labels: { severity: critical, service: bad@file }
            exp_annotations:
              summary: "Service bad@file: success rate below 95%"
              description: "50% of the requests to bad@file failed over the last 5 minutes."
      - eval_time: 10m
        alertname: GatehouseServiceNoHealthyServer
        exp_alerts:
          - exp_labels: { severity: critical, service: bad@file }
            exp_annotations:
              summary: "Service bad@file has no healthy server"
              description: "Every server of bad@file fails its health check: its requests get 503."
      - eval_time: 10m
        alertname: GatehouseServiceHighLatencyP99
        exp_alerts:
          - exp_labels: { severity: warning, service: slow@file }
            exp_annotations:
              summary: "Service slow@file: p99 latency above 1s"
              description: "The 99th percentile of slow@file's latency is 4.962s over the last 5 minutes."
      - eval_time: 5m
        alertname: GatehouseConfigReloadFailures
        exp_alerts:
          - exp_annotations:
              summary: "Gatehouse configuration reloads fail"
              description: "1 configuration reload(s) failed in the last 5 minutes; the last good configuration stays in force. Run \`gatehouse check\`."
            exp_labels: { severity: warning }
      - eval_time: 12m
        alertname: GatehouseConfigReloadFailures
        exp_alerts: []
`,
      );
      const t = spawnSync('promtool', ['test', 'rules', join(dir, 'test.yaml')], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(t.status, 0, t.stdout + t.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
