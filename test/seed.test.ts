/**
 * The seed scenario (MISSION.md points 1–3): the seed's IngressRoute and
 * Middleware exactly as written, add-svc resolved from Service + Endpoints on
 * loopback, `/add/10/10` → `20` with the l5d-dst-override header at the
 * backend; the admin API routed through the gateway behind basicAuth.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { startGateway, type TestGateway } from './support/gateway.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { SEED_CALC_YAML, addServiceYaml, adminYaml } from '../src/demo/scenario.js';

let gw: TestGateway;
let add: RunningAddServer;
const seen: IncomingHttpHeaders[] = [];
let spy: ReturnType<typeof createServer>;

before(async () => {
  add = await startAddServer({ host: '127.0.0.1', httpPort: 0, grpcPort: null, name: 'add-1' });
  // A second replica that records the headers it receives and answers like the calculator.
  spy = createServer((req, res) => {
    seen.push(req.headers);
    const m = /^\/add\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(req.url ?? '');
    res.end(m !== null ? String(Number(m[1]) + Number(m[2])) : 'bad');
  });
  await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
  const addPort = Number(new URL(add.httpUrl).port);
  const spyPort = (spy.address() as AddressInfo).port;
  gw = await startGateway({
    files: {
      'seed.yaml': SEED_CALC_YAML,
      'svc.yaml': addServiceYaml([
        { host: '127.0.0.1', port: addPort },
        { host: '127.0.0.1', port: spyPort },
      ]),
      'admin.yaml': adminYaml(`admin:${bcrypt.hashSync('s3cret', 4)}`),
    },
    flags: ['--api', '--entrypoints.web.forwardedheaders.insecure=true'],
  });
});

after(async () => {
  await gw.close();
  await add.close();
  spy.close();
});

test('seed: Host calc.1.1.1.1.xip.io /add/10/10 answers 20 through the seed IngressRoute', async () => {
  for (let i = 0; i < 4; i++) {
    const res = await request(`${gw.url}/add/10/10`, { headers: { host: 'calc.1.1.1.1.xip.io' } });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), '20');
  }
});

test('seed: the backend saw l5d-dst-override from the calcheader middleware', async () => {
  assert.ok(seen.length >= 1, 'the spy replica got traffic (round robin over both endpoints)');
  for (const h of seen) assert.equal(h['l5d-dst-override'], 'add-svc.add.svc.cluster.local:80');
  assert.equal(seen[0]!.host, 'calc.1.1.1.1.xip.io', 'passHostHeader defaults to true');
  assert.equal(seen[0]!['x-forwarded-host'], 'calc.1.1.1.1.xip.io');
  assert.equal(seen[0]!['x-forwarded-proto'], 'http');
});

test('seed: the router carries Traefik kubernetescrd naming and is enabled', async () => {
  const res = await request(`${gw.url}/api/http/routers`, {
    headers: { host: 'admin.127.0.0.1.nip.io', authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` },
  });
  assert.equal(res.statusCode, 200);
  const routers = (await res.body.json()) as Array<{ name: string; status: string; rule: string; middlewares?: string[] }>;
  const calc = routers.find((r) => r.name.startsWith('add-calc-svc-'));
  assert.ok(calc, JSON.stringify(routers.map((r) => r.name)));
  assert.equal(calc.status, 'enabled');
  assert.equal(calc.rule, 'Host(`calc.1.1.1.1.xip.io`) && PathPrefix(`/`)');
  assert.deepEqual(calc.middlewares, ['add-calcheader@kubernetescrd']);
});

test('admin through the gateway: basicAuth protects api@internal', async () => {
  const none = await request(`${gw.url}/api/overview`, { headers: { host: 'admin.127.0.0.1.nip.io' } });
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm=/);
  await none.body.dump();
  const bad = await request(`${gw.url}/api/overview`, {
    headers: { host: 'admin.127.0.0.1.nip.io', authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` },
  });
  assert.equal(bad.statusCode, 401);
  await bad.body.dump();
  const ok = await request(`${gw.url}/api/overview`, {
    headers: { host: 'admin.127.0.0.1.nip.io', authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` },
  });
  assert.equal(ok.statusCode, 200);
  const body = (await ok.body.json()) as { http: { routers: { total: number } } };
  assert.ok(body.http.routers.total >= 2);
  const dash = await request(`${gw.url}/dashboard/`, {
    headers: { host: 'admin.127.0.0.1.nip.io', authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` },
  });
  assert.equal(dash.statusCode, 200);
  assert.match(await dash.body.text(), /<title>Gatehouse<\/title>/);
});

test('admin API is not exposed on the traefik entry point without --api.insecure', async () => {
  const res = await request(`${gw.admin}/api/overview`);
  assert.equal(res.statusCode, 404);
  await res.body.dump();
});

test('unknown host → 404', async () => {
  const res = await request(`${gw.url}/add/1/1`, { headers: { host: 'nowhere.example' } });
  assert.equal(res.statusCode, 404);
  assert.equal(await res.body.text(), '404 page not found');
});
