/**
 * An AlertRule loaded like any configuration fires through the running
 * gateway (metrics of real traffic) and notifies a webhook receiver with the
 * Alertmanager v4 payload; the state shows in /api/gatehouse/alerts.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, eventually, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
let hook: Server;
const payloads: Array<{ version: string; status: string; alerts: Array<{ labels: Record<string, string> }> }> = [];

before(async () => {
  hook = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      payloads.push(JSON.parse(b) as (typeof payloads)[number]);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as AddressInfo).port;
  gw = await startGateway({
    flags: ['--api.insecure'],
    files: {
      'r.yaml': `
http:
  routers:
    broken:
      rule: Host(\`broken.test\`)
      service: broken
  services:
    broken:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:9" }]
`,
      'alert.yaml': `apiVersion: gatehouse.dev/v1alpha1
kind: AlertRule
metadata: { name: broken-success }
spec:
  signal: successRate
  scope: { service: broken@file }
  operator: LessThan
  threshold: 0.5
  windowSize: 10s
  evaluationFrequency: 1s
  severity: 1
  webhooks:
    - url: http://127.0.0.1:${hookPort}/hook
`,
    },
  });
});

after(async () => {
  await gw.close();
  hook.close();
});

test('failing traffic fires the alert: webhook with the Alertmanager v4 payload, state in the API', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await request(`${gw.url}/`, { headers: { host: 'broken.test' } });
    assert.equal(r.statusCode, 502);
    await r.body.dump();
  }
  assert.ok(await eventually(() => payloads.some((p) => p.status === 'firing'), 8000), 'webhook received a firing notification');
  const p = payloads.find((x) => x.status === 'firing')!;
  assert.equal(p.version, '4');
  assert.match(p.alerts[0]!.labels.alertname ?? '', /broken-success$/);
  const r = await request(`${gw.admin}/api/gatehouse/alerts`);
  const states = JSON.stringify(await r.body.json());
  assert.match(states, /broken-success/);
  assert.match(states, /firing/);
});
