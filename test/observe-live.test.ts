/**
 * The observability gaps closed end to end through the real gateway:
 * live tap events (req at start, rsp at headers, end when over), caller
 * attribution (verified JWT client id from the built-in issuer, else
 * `--observability.callerheader`, else the address), request body bytes
 * actually read (chunked too), `--metrics.prometheus.buckets`, and
 * `--observability.metrics=false`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import { statMain } from '../src/cli/stat.js';
import { tapMain } from '../src/cli/tap.js';
import type { StatRow } from '../src/observe/metrics.js';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { IDENTITY_YAML, protectedCalcYaml, TENANT_ID, CLIENT_APP_ID, SCOPE } from '../src/demo/identity-scenario.js';

class Buf {
  s = '';
  write(x: string): boolean {
    this.s += x;
    return true;
  }
}

let gw: TestGateway;
let up: Server;
/** /hold/<n> waits for the test: `held.get(n)` writes the head, then ends. */
const held = new Map<string, ServerResponse>();
const SECRET = 'live-test-secret-1234567890';

before(async () => {
  process.env.CALC_CLIENT_SECRET = SECRET;
  up = createServer((req, res) => {
    const hold = /^\/hold\/(\w+)/.exec(req.url ?? '');
    if (hold !== null) {
      held.set(hold[1]!, res);
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      const m = /^\/add\/(-?\d+)\/(-?\d+)$/.exec(req.url ?? '');
      res.end(m !== null ? String(Number(m[1]) + Number(m[2])) : `read ${n}`);
    });
  });
  const port = await listenLoopback(up);
  gw = await startGateway({
    flags: [
      '--api.insecure',
      '--identity.insecure',
      '--metrics.prometheus',
      '--metrics.prometheus.buckets=0.05,0.5,2.5',
      '--observability.callerheader=Client',
    ],
    files: {
      'identity.yaml': IDENTITY_YAML,
      'open.yaml': `
http:
  routers:
    open:
      rule: PathPrefix(\`/\`)
      entryPoints: [web]
      service: add
  services:
    add:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
    },
  });
  gw.write('calc.yaml', protectedCalcYaml(gw.admin, 'add'));
  assert.ok(
    await eventually(async () => {
      const r = await request(`${gw.url}/secure/add/1/1`);
      await r.body.dump();
      return r.statusCode === 401;
    }, 4000),
    'protected route is up',
  );
});

after(async () => {
  for (const res of held.values()) res.destroy();
  await gw.close();
  up.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await request(gw.url + path, { headers });
  return { status: r.statusCode, body: await r.body.text() };
}

async function stat(kind: string, extra: string[] = []): Promise<StatRow[]> {
  const out = new Buf();
  const err = new Buf();
  assert.equal(await statMain([kind, '-o', 'json', '--admin', gw.admin, ...extra], {}, out, err), 0, err.s);
  return JSON.parse(out.s) as StatRow[];
}

function events(s: string): Array<Record<string, unknown>> {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('tap is live: req while the backend has not answered, rsp when headers go out, end when over', async () => {
  const out = new Buf();
  const ac = new AbortController();
  const done = tapMain(['--path', '/hold/', '-o', 'json', '--admin', gw.admin], {}, out, new Buf(), ac.signal);
  try {
    // The tap is open once a probe exchange shows up.
    assert.ok(
      await eventually(
        async () => {
          const p = get('/hold/probe');
          await eventually(() => held.has('probe'), 2000, 10);
          held.get('probe')?.end('p');
          held.delete('probe');
          await p;
          return out.s.includes('"type":"end"');
        },
        5000,
        50,
      ),
      'the tap opened',
    );
    // Late events of the probes may still arrive: look at /hold/a's only.
    const mine = (type: string): Record<string, unknown> | undefined => events(out.s).find((e) => e.path === '/hold/a' && e.type === type);
    const pending = get('/hold/a');
    assert.ok(await eventually(() => held.has('a'), 3000, 10), 'the backend got the request');
    assert.ok(await eventually(() => mine('req') !== undefined, 3000, 10), 'req arrives before any answer');
    assert.equal(mine('rsp'), undefined, out.s);
    const req = mine('req')!;
    assert.equal(req.router, '', 'a live req is not routed yet');

    const res = held.get('a')!;
    res.writeHead(202, { 'content-type': 'text/plain' });
    res.write('head-');
    assert.ok(await eventually(() => mine('rsp') !== undefined, 3000, 10), 'rsp arrives when headers go out');
    assert.equal(mine('end'), undefined, 'no end before the body is over');
    const rsp = mine('rsp')!;
    assert.equal(rsp.status, 202);
    assert.equal(rsp.router, 'open@file');
    assert.match(String(rsp.server), /^http:\/\/127\.0\.0\.1:\d+$/);

    await new Promise((r) => setTimeout(r, 150));
    res.end('tail');
    assert.deepEqual(await pending, { status: 202, body: 'head-tail' });
    assert.ok(await eventually(() => mine('end') !== undefined, 3000, 10));
    const end = mine('end')!;
    assert.equal(end.id, req.id);
    assert.equal(end.bytes, 9);
    assert.ok((end.latencyMs as number) >= (rsp.latencyMs as number) + 140, `end ${end.latencyMs} ms, rsp ${rsp.latencyMs} ms`);
  } finally {
    ac.abort();
    assert.equal(await done, 0);
  }
});

test('caller attribution: the verified JWT client id (azp), else the configured header, else the address', async () => {
  const t = await request(`${gw.admin}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT_APP_ID,
      client_secret: SECRET,
      scope: SCOPE,
    }).toString(),
  });
  assert.equal(t.statusCode, 200);
  const token = String(((await t.body.json()) as Record<string, unknown>).access_token);
  for (let i = 0; i < 4; i++) {
    // The header does not override a verified token.
    assert.deepEqual(await get(`/secure/add/${i}/1`, { authorization: `Bearer ${token}`, client: 'spoofed' }), {
      status: 200,
      body: String(i + 1),
    });
  }
  for (let i = 0; i < 3; i++) assert.equal((await get('/add/1/1', { client: 'header-app' })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await get('/add/2/2')).status, 200);

  const callers = await stat('callers');
  const by = new Map(callers.map((r) => [r.name, r.requests]));
  assert.equal(by.get(CLIENT_APP_ID), 4, JSON.stringify(callers));
  assert.equal(by.get('header-app'), 3, JSON.stringify(callers));
  assert.ok((by.get('127.0.0.1') ?? 0) >= 2, JSON.stringify(callers));
  assert.equal(by.get('spoofed'), undefined);

  // `--from <client id>` selects the token's calls on the protected router.
  const routers = await stat('routers', ['--from', CLIENT_APP_ID]);
  assert.deepEqual(
    routers.map((r) => [r.name, r.requests]),
    [['calc-secure@file', 4]],
  );

  // The table view lists the client app too, by its display name (docs/cli.md).
  const table = new Buf();
  assert.equal(await statMain(['callers', '--admin', gw.admin], {}, table, new Buf()), 0);
  assert.match(table.s, /^add-cli\s+100\.00%/m);
});

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('bytes in: request body bytes actually read, chunked uploads too; --metrics.prometheus.buckets', async () => {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 4; i++) {
      yield Buffer.alloc(2500, 0x61);
      await new Promise((r) => setTimeout(r, 5));
    }
    yield Buffer.from('12345');
  }
  const r1 = await request(`${gw.url}/upload`, { method: 'POST', body: Readable.from(chunks()) });
  assert.equal(await r1.body.text(), 'read 10005');
  const r2 = await request(`${gw.url}/upload`, { method: 'PUT', body: Buffer.alloc(4321, 0x62) });
  assert.equal(await r2.body.text(), 'read 4321');

  const m = await (await request(`${gw.admin}/metrics`)).body.text();
  assert.equal(metricValue(m, 'traefik_entrypoint_requests_bytes_total', { entrypoint: 'web', method: 'POST' }), 10005);
  assert.equal(metricValue(m, 'traefik_entrypoint_requests_bytes_total', { entrypoint: 'web', method: 'PUT' }), 4321);
  assert.equal(metricValue(m, 'traefik_service_requests_bytes_total', { service: 'add@file', method: 'POST' }), 10005);
  // The configured buckets, not Traefik's defaults.
  assert.match(m, /traefik_entrypoint_request_duration_seconds_bucket\{[^}]*le="0\.05"\}/);
  assert.match(m, /traefik_entrypoint_request_duration_seconds_bucket\{[^}]*le="2\.5"\}/);
  assert.doesNotMatch(m, /le="1\.2"/);
});

test('static options: --observability.* flags and GATEHOUSE_OBSERVABILITY_* environment', () => {
  const base = ['--entrypoints.web.address=127.0.0.1:0'];
  const d = serveOptionsFromStatic(parseStaticConfig({ argv: base, env: {}, cwd: '/tmp' }), '/tmp');
  assert.deepEqual(d.observability, { metrics: true, callerHeader: null });
  const e = serveOptionsFromStatic(
    parseStaticConfig({
      argv: base,
      env: { GATEHOUSE_OBSERVABILITY_CALLERHEADER: 'X-Client', GATEHOUSE_OBSERVABILITY_METRICS: 'false' },
      cwd: '/tmp',
    }),
    '/tmp',
  );
  assert.deepEqual(e.observability, { metrics: false, callerHeader: 'x-client' });
  const f = serveOptionsFromStatic(
    parseStaticConfig({ argv: [...base, '--metrics.prometheus.buckets=0.1,0.1,1'], env: {}, cwd: '/tmp' }),
    '/tmp',
  );
  assert.deepEqual(f.metrics?.buckets, [0.1, 1], 'duplicate bounds dropped');
});

test('--observability.metrics=false: no golden metrics recorded, tap still works', async () => {
  const off = await startGateway({
    flags: ['--api.insecure', '--observability.metrics=false'],
    files: {
      'r.yaml': `
http:
  routers:
    open:
      rule: PathPrefix(\`/\`)
      service: add
  services:
    add:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${(up.address() as AddressInfo).port}" }]
`,
    },
  });
  const out = new Buf();
  const ac = new AbortController();
  const done = tapMain(['-o', 'json', '--admin', off.admin], {}, out, new Buf(), ac.signal);
  try {
    assert.ok(
      await eventually(
        async () => {
          await (await request(`${off.url}/add/1/2`)).body.dump();
          return out.s.includes('"type":"end"');
        },
        5000,
        50,
      ),
      'tap works with metrics off',
    );
    for (let i = 0; i < 5; i++) await (await request(`${off.url}/add/1/2`)).body.dump();
    const r = await request(`${off.admin}/api/gatehouse/stat?kind=routers`);
    const rows = (await r.body.json()) as StatRow[];
    assert.equal(
      rows.reduce((n, x) => n + x.requests, 0),
      0,
      JSON.stringify(rows),
    );
  } finally {
    ac.abort();
    await done;
    await off.close();
  }
});
