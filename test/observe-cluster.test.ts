/**
 * Live traffic views with two cluster workers: every worker's traffic is
 * aggregated by the primary (stat, /metrics), and a tap opened on one worker
 * sees the exchanges of both.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { createServer, type Server } from 'node:http';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import { tapMain } from '../src/cli/tap.js';
import type { StatRow } from '../src/observe/metrics.js';

let gw: TestGateway;
let up: Server;

before(async () => {
  up = createServer((_req, res) => res.end('ok'));
  const port = await listenLoopback(up);
  gw = await startGateway({
    workers: 2,
    flags: ['--api.insecure', '--metrics.prometheus', '--metrics.prometheus.addrouterslabels'],
    files: {
      'r.yaml': `
http:
  routers:
    calc:
      rule: Host(\`calc.test\`)
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

/** One request on a fresh connection (the OS spreads new connections over the workers). */
async function fresh(path: string): Promise<void> {
  const agent = new Agent({ pipelining: 0 });
  const r = await request(gw.url + path, { headers: { host: 'calc.test' }, dispatcher: agent });
  assert.equal(r.statusCode, 200);
  await r.body.dump();
  await agent.close();
}

async function routerRow(): Promise<StatRow | undefined> {
  const r = await request(`${gw.admin}/api/gatehouse/stat?kind=routers&window=10m`);
  const rows = (await r.body.json()) as StatRow[];
  return rows.find((x) => x.name === 'calc@file');
}

test('stat and /metrics aggregate both workers', async () => {
  for (let i = 0; i < 60; i++) await fresh(`/n/${i}`);
  // Workers send deltas every second; the primary's aggregate reaches 60.
  assert.ok(await eventually(async () => (await routerRow())?.requests === 60, 5000, 200), JSON.stringify(await routerRow()));
  const row = (await routerRow())!;
  assert.equal(row.success, 1);
  assert.ok(row.latencyP99Ms !== null && row.latencyP99Ms > 0);
  // Whichever worker serves /metrics, the text is the primary's aggregate.
  for (let i = 0; i < 4; i++) {
    const agent = new Agent({ pipelining: 0 });
    const m = await request(`${gw.admin}/metrics`, { dispatcher: agent });
    const text = await m.body.text();
    await agent.close();
    assert.equal(m.statusCode, 200);
    assert.match(
      text,
      /traefik_router_requests_total\{code="200",method="GET",protocol="http",router="calc@file",service="calc@file"\} 60\n/,
    );
    assert.match(text, /traefik_service_server_up\{service="calc@file",url="http:\/\/127\.0\.0\.1:\d+"\} 1\n/);
    assert.match(text, /traefik_config_reloads_total [1-9]/);
  }
});

test('a tap on one worker sees the exchanges of every worker', async () => {
  const out = {
    s: '',
    write(x: string) {
      this.s += x;
      return true;
    },
  };
  const ac = new AbortController();
  const done = tapMain(['--path', '/tapped', '-o', 'json', '--admin', gw.admin], {}, out, { write: () => true }, ac.signal);
  const prefixes = (): Set<string> =>
    new Set(
      out.s
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => String((JSON.parse(l) as { id: string }).id).split(':')[0]!),
    );
  const ok = await eventually(
    async () => {
      for (let i = 0; i < 10; i++) await fresh(`/tapped/${i}`);
      await fresh('/not-tapped');
      return prefixes().size >= 2;
    },
    8000,
    100,
  );
  ac.abort();
  assert.equal(await done, 0);
  assert.ok(ok, `events from workers ${[...prefixes()].join(',')}`);
  assert.ok(!out.s.includes('/not-tapped'));
});
