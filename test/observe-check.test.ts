/**
 * `gatehouse check` against a running gateway: ✔/✖ lines with hints for a
 * healthy service, a service whose only server is down, and the endpoints.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import { liveChecks, renderLiveChecks } from '../src/cli/check-command.js';
import { adminTarget, AdminError } from '../src/cli/admin-client.js';

let gw: TestGateway;
let up: Server;

before(async () => {
  up = createServer((_req, res) => res.end('ok'));
  const port = await listenLoopback(up);
  gw = await startGateway({
    flags: ['--api.insecure', '--api.dashboard', '--metrics.prometheus'],
    files: {
      'r.yaml': `
http:
  routers:
    good:
      rule: Host(\`good.test\`)
      service: good
    bad:
      rule: Host(\`bad.test\`)
      service: bad
  services:
    good:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
        healthCheck: { path: /, interval: 100ms, timeout: 500ms }
    bad:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1" }]
        healthCheck: { path: /, interval: 100ms, timeout: 500ms }
`,
    },
  });
});

after(async () => {
  await gw.close();
  up.close();
});

test('live checks: the unhealthy service fails with a hint, the rest passes', async () => {
  const t = adminTarget(gw.admin, undefined, {});
  let checks = await liveChecks(t);
  await eventually(
    async () => {
      checks = await liveChecks(t);
      return checks.some((c) => !c.ok && c.text.includes('bad@file'));
    },
    5000,
    100,
  );
  const text = renderLiveChecks(checks);
  assert.match(text, /^✔ the admin API answers at http:\/\/127\.0\.0\.1:\d+ \(Gatehouse /m);
  assert.match(text, /^✔ configuration revision \d+ is valid$/m);
  assert.match(text, /^✖ service bad@file has no healthy server \(http:\/\/127\.0\.0\.1:1\)\n {4}see: /m);
  assert.ok(!text.includes('good@file has no healthy'));
  assert.match(text, /^✔ live traffic views answer/m);
  assert.match(text, /^✔ Prometheus metrics answer at \/metrics$/m);
  assert.match(text, /^✔ the dashboard answers at \/dashboard\/$/m);
  assert.match(text, /^✔ no TLS certificates in use/m);
});

test('live checks: an unreachable gateway is an AdminError naming the address', async () => {
  await assert.rejects(
    liveChecks(adminTarget('http://127.0.0.1:1', undefined, {})),
    (e: unknown) => e instanceof AdminError && /127\.0\.0\.1:1/.test(e.message),
  );
});

test('admin target: credentials from the URL or an environment variable, never in the base', () => {
  const a = adminTarget('http://user:p%40ss@127.0.0.1:9000/', undefined, {});
  assert.equal(a.base, 'http://127.0.0.1:9000');
  assert.equal(a.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  const b = adminTarget(undefined, 'GH_AUTH', { GATEHOUSE_ADMIN: '127.0.0.1:9001', GH_AUTH: 'ops:secret' });
  assert.equal(b.base, 'http://127.0.0.1:9001');
  assert.equal(b.authorization, `Basic ${Buffer.from('ops:secret').toString('base64')}`);
  assert.equal(adminTarget(undefined, undefined, {}).base, 'http://127.0.0.1:8080');
  assert.throws(() => adminTarget(undefined, 'NOPE', {}), AdminError);
});
