/**
 * `/metrics` against the real Prometheus tools: `promtool check metrics` on the
 * exposition, and a real Prometheus server (started here, scraping every
 * second) answering PromQL over the gateway's series. Skips when the Debian
 * `prometheus` package is not installed.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';

const has = (bin: string): boolean => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_PROMTOOL = has('promtool');
const HAS_PROMETHEUS = has('prometheus');

let gw: TestGateway;
let up: Server;
let prom: ChildProcess | null = null;
let promDir = '';

before(async () => {
  up = createServer((req, res) => {
    if (req.url === '/fail') res.statusCode = 503;
    res.end('ok');
  });
  const port = await listenLoopback(up);
  gw = await startGateway({
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
  if (prom !== null && prom.exitCode === null) {
    const p = prom;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  if (promDir !== '') rmSync(promDir, { recursive: true, force: true });
  await gw.close();
  up.close();
});

async function traffic(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await request(`${gw.url}${i % 10 === 0 ? '/fail' : `/add/${i}/1`}`, { headers: { host: 'calc.test' } });
    await r.body.dump();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

test(
  '/metrics passes promtool check metrics',
  { skip: HAS_PROMTOOL ? false : 'promtool not installed (Debian package prometheus)' },
  async () => {
    await traffic(30);
    const r = await request(`${gw.admin}/metrics`);
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = await r.body.text();
    assert.match(text, /traefik_entrypoint_requests_total\{code="200",method="GET",protocol="http",entrypoint="web"\} 27\n/);
    assert.match(text, /traefik_service_requests_total\{code="503",method="GET",protocol="http",service="calc@file"\} 3\n/);
    assert.match(
      text,
      /gatehouse_requests_total\{caller="127\.0\.0\.1",router="calc@file",service="calc@file",classification="failure"\} 3\n/,
    );
    assert.match(text, /traefik_open_connections\{entrypoint="web",protocol="TCP"\} \d+/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint warnings');
  },
);

test(
  'a real Prometheus scrapes the gateway and answers PromQL',
  { skip: HAS_PROMETHEUS ? false : 'prometheus not installed (Debian package prometheus)', timeout: 40_000 },
  async () => {
    promDir = mkdtempSync(join(tmpdir(), 'gatehouse-prom-'));
    const target = new URL(gw.admin).host;
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: gatehouse\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    let log = '';
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr!.on('data', (d: Buffer) => {
      if (log.length < 20_000) log += d.toString();
    });
    const base = `http://127.0.0.1:${port}`;
    const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      try {
        const r = await request(`${base}/api/v1/query?${new URLSearchParams({ query: q })}`, { headersTimeout: 2000, bodyTimeout: 2000 });
        if (r.statusCode !== 200) {
          await r.body.dump();
          return [];
        }
        const j = (await r.body.json()) as { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        return j.data?.result ?? [];
      } catch {
        return [];
      }
    };
    // Keep traffic flowing while Prometheus starts and scrapes a few times.
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await traffic(10);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const ok = await eventually(
      async () => {
        const res = await query('sum(rate(traefik_entrypoint_requests_total{entrypoint="web"}[5s]))');
        return res.length > 0 && Number(res[0]!.value[1]) > 0;
      },
      25_000,
      500,
    );
    stop = true;
    await load;
    assert.ok(ok, `no request rate from Prometheus; its log:\n${log.slice(-3000)}`);
    const svc = await query('sum by (service) (traefik_service_requests_total)');
    assert.ok(
      svc.some((s) => s.metric.service === 'calc@file' && Number(s.value[1]) > 0),
      JSON.stringify(svc),
    );
    const upq = await query('up{job="gatehouse"}');
    assert.equal(upq[0]?.value[1], '1');
  },
);

test(
  'every query of deploy/grafana/gatehouse.json is valid PromQL (promtool check rules)',
  { skip: HAS_PROMTOOL ? false : 'promtool not installed' },
  async () => {
    const { readFileSync } = await import('node:fs');
    const dash = JSON.parse(readFileSync(new URL('../deploy/grafana/gatehouse.json', import.meta.url), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    assert.ok(exprs.length >= 10);
    for (const e of exprs) assert.match(e, /traefik_|gatehouse_/);
    // Grafana variables → concrete values, then each expression as a recording rule.
    const concrete = exprs.map((e) => e.replaceAll('$__rate_interval', '1m').replace(/\$(entrypoint|service|caller)/g, '.*'));
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-grafana-'));
    try {
      const file = join(dir, 'rules.yml');
      writeFileSync(
        file,
        `groups:\n  - name: grafana\n    rules:\n${concrete.map((e, i) => `      - record: grafana:q${i}\n        expr: ${JSON.stringify(e)}\n`).join('')}`,
      );
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
