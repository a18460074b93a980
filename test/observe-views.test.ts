/**
 * Live traffic views end to end in one process: known traffic through the real
 * gateway, then the admin endpoints and the CLI (stat, top, edges, tap) read it.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import { statMain } from '../src/cli/stat.js';
import { topMain } from '../src/cli/top.js';
import { edgesMain } from '../src/cli/edges.js';
import { tapMain } from '../src/cli/tap.js';
import type { StatRow } from '../src/observe/metrics.js';

let gw: TestGateway;
let up: Server;

class Buf {
  s = '';
  write(x: string): boolean {
    this.s += x;
    return true;
  }
}

before(async () => {
  // /slow/<ms> answers after that many ms; /fail answers 500.
  up = createServer((req, res) => {
    const m = /^\/slow\/(\d+)/.exec(req.url ?? '');
    if (req.url === '/fail') {
      res.statusCode = 500;
      res.end('boom');
      return;
    }
    setTimeout(() => res.end(`ok ${req.url}`), m !== null ? Number(m[1]) : 0);
  });
  const port = await listenLoopback(up);
  gw = await startGateway({
    flags: ['--api.insecure'],
    files: {
      'r.yaml': `
http:
  routers:
    calc:
      rule: Host(\`calc.test\`)
      service: calc
    other:
      rule: Host(\`other.test\`)
      service: calc
  services:
    calc:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
    },
  });
});

after(async () => {
  await gw.close();
  up.close();
});

async function get(path: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(gw.url + path, { headers: { host, ...headers } });
  await r.body.dump();
  return r.statusCode;
}

async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const r = await request(gw.admin + path);
  return { status: r.statusCode, body: (await r.body.json()) as T };
}

test('stat counts, success and percentiles against known traffic', async () => {
  // 40 fast, 10 at ~80 ms, 5 failures on router calc.
  for (let i = 0; i < 40; i++) assert.equal(await get(`/add/${i}/1`, 'calc.test'), 200);
  await Promise.all(Array.from({ length: 10 }, () => get('/slow/80', 'calc.test')));
  for (let i = 0; i < 5; i++) assert.equal(await get('/fail', 'calc.test'), 500);
  for (let i = 0; i < 3; i++) assert.equal(await get('/x', 'other.test'), 200);

  const { status, body } = await api<StatRow[]>('/api/gatehouse/stat?kind=routers&window=1m');
  assert.equal(status, 200);
  const calc = body.find((r) => r.name === 'calc@file');
  assert.ok(calc, JSON.stringify(body));
  assert.equal(calc.requests, 55);
  assert.ok(Math.abs((calc.success as number) - 50 / 55) < 1e-9);
  assert.ok(calc.rps > 0);
  // p50 is a fast request, p95/p99 among the 80 ms ones (one bucket ≤ 10 %).
  assert.ok((calc.latencyP50Ms as number) < 40, `p50 ${calc.latencyP50Ms}`);
  assert.ok((calc.latencyP99Ms as number) >= 72 && (calc.latencyP99Ms as number) < 200, `p99 ${calc.latencyP99Ms}`);
  assert.equal(body.find((r) => r.name === 'other@file')?.requests, 3);

  const svc = await api<StatRow[]>('/api/gatehouse/stat?kind=services&to=other@file');
  assert.deepEqual(
    svc.body.map((r) => [r.name, r.requests]),
    [['calc@file', 3]],
  );

  const callers = await api<StatRow[]>('/api/gatehouse/stat?kind=callers');
  assert.ok(
    callers.body.some((r) => r.name === '127.0.0.1' && r.requests >= 58),
    JSON.stringify(callers.body),
  );

  const eps = await api<StatRow[]>('/api/gatehouse/stat?kind=entrypoints');
  const web = eps.body.find((r) => r.name === 'web');
  assert.ok(web !== undefined && web.requests >= 58 && typeof web.tcpConnections === 'number', JSON.stringify(eps.body));
});

test('bad view parameters are 400 with a message', async () => {
  assert.equal((await api('/api/gatehouse/stat?kind=nope')).status, 400);
  assert.equal((await api('/api/gatehouse/stat?window=2h')).status, 400);
  assert.equal((await api('/api/gatehouse/tap?status=6xx')).status, 400);
  assert.equal((await api('/api/gatehouse/nope')).status, 404);
});

test('CLI stat -o json prints the contract rows; the table has the linkerd columns', async () => {
  await get('/add/1/1', 'calc.test');
  const out = new Buf();
  const err = new Buf();
  assert.equal(await statMain(['routers', '-o', 'json', '--admin', gw.admin], {}, out, err), 0, err.s);
  const rows = JSON.parse(out.s) as Array<Record<string, unknown>>;
  assert.ok(Array.isArray(rows) && rows.length >= 2);
  for (const r of rows)
    assert.deepEqual(Object.keys(r).sort(), [
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
  const table = new Buf();
  assert.equal(await statMain(['services', '-t', '10m'], { GATEHOUSE_ADMIN: gw.admin }, table, err), 0);
  assert.match(table.s, /^NAME\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\n/);
  assert.match(table.s, /calc@file\s+\d+\.\d\d%\s+[\d.]+rps/);
});

test('CLI top --once and edges', async () => {
  const out = new Buf();
  assert.equal(await topMain(['--once', '--admin', gw.admin], {}, out), 0);
  assert.match(out.s, /GET\s+\/add\/\{n\}\/\{n\}\s+4\d\s/);
  const sorted = new Buf();
  assert.equal(await topMain(['--once', '--sort', 'worst', '-o', 'json', '--admin', gw.admin], {}, sorted), 0);
  assert.equal((JSON.parse(sorted.s) as Array<{ path: string }>)[0]!.path, '/slow/{n}');
  const edges = new Buf();
  assert.equal(await edgesMain(['--admin', gw.admin], {}, edges), 0);
  assert.match(edges.s, /127\.0\.0\.1\s+calc@file\s+calc@file\s+http:\/\/127\.0\.0\.1:\d+/);
});

test('CLI errors clearly when the gateway is unreachable', async () => {
  const err = new Buf();
  assert.equal(await statMain(['--admin', 'http://127.0.0.1:1'], {}, new Buf(), err), 1);
  assert.match(err.s, /cannot reach the gateway's admin API at http:\/\/127\.0\.0\.1:1/);
  assert.match(err.s, /--admin URL or GATEHOUSE_ADMIN/);
});

test('tap -o json: filters by router and status, redacts credentials, caps the rate', async () => {
  const out = new Buf();
  const ac = new AbortController();
  const done = tapMain(
    ['--router', 'calc@file', '--status', '5xx', '--headers', '-o', 'json', '--count', '2', '--admin', gw.admin],
    {},
    out,
    new Buf(),
    ac.signal,
  );
  // Wait for the tap to be open, then send traffic: only calc's 5xx must show.
  const ok = await eventually(
    async () => {
      await get('/fail', 'calc.test', { authorization: 'Bearer secret-token', cookie: 'sid=abc' });
      await get('/add/1/2', 'calc.test');
      await get('/fail', 'other.test');
      return out.s.split('\n').filter((l) => l.includes('"type":"end"')).length >= 2;
    },
    5000,
    100,
  );
  ac.abort();
  assert.equal(await done, 0);
  assert.ok(ok, out.s);
  const events = out.s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const e of events) {
    for (const k of ['type', 'id', 'method', 'authority', 'path', 'status', 'latencyMs', 'router', 'service', 'server', 'caller'])
      assert.ok(k in e, `missing ${k}`);
    assert.equal(e.router, 'calc@file');
    assert.equal(e.path, '/fail');
  }
  const req = events.find((e) => e.type === 'req')!;
  const headers = req.requestHeaders as Record<string, string>;
  assert.equal(headers.authorization, '[redacted]');
  assert.equal(headers.cookie, '[redacted]');
  assert.ok(!out.s.includes('secret-token'));
  const end = events.find((e) => e.type === 'end')!;
  assert.equal(end.status, 500);
  assert.ok((end.latencyMs as number) > 0);
});

test('tap SSE under load respects --max-rps and plain lines follow the linkerd format', async () => {
  const out = new Buf();
  const ac = new AbortController();
  const done = tapMain(['--max-rps', '5', '--path', '/load', '--admin', gw.admin], {}, out, new Buf(), ac.signal);
  await eventually(
    async () => {
      await get('/load/probe', 'calc.test');
      return out.s.includes('end id=');
    },
    3000,
    50,
  );
  const before = out.s.split('\n').filter((l) => l.startsWith('end ')).length;
  const t0 = Date.now();
  // ~300 requests in about a second, 20 at a time.
  for (let i = 0; i < 15; i++) await Promise.all(Array.from({ length: 20 }, (_, j) => get(`/load/${i}/${j}`, 'calc.test')));
  const secs = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 200));
  ac.abort();
  assert.equal(await done, 0);
  const ends = out.s.split('\n').filter((l) => l.startsWith('end ')).length - before;
  // Token bucket: burst of 5 plus 5 per second.
  assert.ok(ends >= 1 && ends <= 5 + Math.ceil(secs * 5) + 1, `${ends} exchanges in ${secs}s`);
  // The plain req line is printed with its response's destination, caller and route (docs/cli.md).
  assert.match(
    out.s,
    /^req id=0:\d+ src=127\.0\.0\.1:\d+ dst=http:\/\/127\.0\.0\.1:\d+ caller=127\.0\.0\.1 :method=GET :authority=calc\.test :path=\/load\/\S+ router=calc@file service=calc@file$/m,
  );
  assert.match(
    out.s,
    /^rsp id=0:\d+ src=127\.0\.0\.1:\d+ dst=http:\/\/127\.0\.0\.1:\d+ caller=127\.0\.0\.1 :status=200 latency=\d+µs router=calc@file service=calc@file$/m,
  );
  assert.match(out.s, /^end id=0:\d+ .* duration=\d+µs response-length=\d+B$/m);
});
