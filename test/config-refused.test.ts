/**
 * A refused configuration never looks healthy (issue 11 §1): a file that stops
 * parsing shows in /api/overview (`configuration.refused`: file, line, since,
 * the time of the version still served), in /api/rawdata, and in the metrics
 * traefik_config_reloads_failure_total, traefik_config_last_reload_failure and
 * gatehouse_config_stale{provider}; the last good version keeps serving; a fix
 * clears all of it. With one worker and with two (the overview of a worker
 * comes from the snapshot it received).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback } from './support/gateway.js';
import type { ConfigurationStatus } from '../src/admin/api.js';

const routes = (port: number, host: string): string => `http:
  routers:
    calc:
      rule: Host(\`${host}\`)
      service: calc
  services:
    calc:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${port}
`;

async function getJson<T>(url: string): Promise<T> {
  const r = await request(url);
  assert.equal(r.statusCode, 200, url);
  return (await r.body.json()) as T;
}

async function metric(admin: string, name: string): Promise<number> {
  const text = await (await request(`${admin}/metrics`)).body.text();
  const esc = name.replace(/[{}"=]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${esc} ([0-9.e+]+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

async function status(url: string, host: string): Promise<number> {
  const r = await request(url, { headers: { host } });
  await r.body.dump();
  return r.statusCode;
}

interface Overview {
  errors: string[];
  configuration: ConfigurationStatus;
}

for (const workers of [1, 2]) {
  test(
    `a file that stops parsing is refused visibly and its last good version serves (--workers ${workers})`,
    { timeout: 60_000 },
    async () => {
      const up = createServer((_req, res) => res.end('up'));
      const port = await listenLoopback(up);
      const gw = await startGateway({
        workers,
        files: { 'calc.yaml': routes(port, 'calc.test') },
        flags: ['--api.insecure', '--metrics.prometheus', '--metrics.prometheus.entrypoint=traefik'],
      });
      try {
        const ok = await getJson<Overview>(`${gw.admin}/api/overview`);
        assert.equal(ok.configuration.healthy, true);
        assert.deepEqual(ok.configuration.refused, []);
        assert.equal(ok.configuration.lastReload.success, true);
        assert.equal(await metric(gw.admin, 'gatehouse_config_stale{provider="file"}'), 0);
        assert.equal(await metric(gw.admin, 'traefik_config_reloads_failure_total'), 0);
        const loadedBefore = Date.now();

        gw.write('calc.yaml', 'http:\n  routers:\n    calc: [\n');
        const seen = await eventually(async () => {
          const o = await getJson<Overview>(`${gw.admin}/api/overview`);
          return o.configuration.refused.length > 0;
        }, 10_000);
        assert.ok(seen, 'the refused file shows in /api/overview');
        const o = await getJson<Overview>(`${gw.admin}/api/overview`);
        assert.equal(o.configuration.healthy, false);
        assert.equal(o.configuration.lastReload.success, false);
        const r = o.configuration.refused[0]!;
        assert.equal(r.provider, 'file');
        assert.match(r.file, /calc\.yaml$/);
        assert.ok(r.line !== undefined && r.line >= 3, `line ${r.line}`);
        assert.match(r.message, /invalid YAML/);
        assert.ok(r.lastGood !== null && Date.parse(r.lastGood) <= loadedBefore, `lastGood ${r.lastGood} is the first load`);
        assert.ok(Date.parse(r.since) >= loadedBefore - 1000, `since ${r.since}`);
        assert.ok(
          o.errors.some((e) => /calc\.yaml:\d+: invalid YAML/.test(e)),
          `errors name file and line: ${JSON.stringify(o.errors)}`,
        );
        const raw = await getJson<{ configuration: ConfigurationStatus; routers: Record<string, unknown> }>(`${gw.admin}/api/rawdata`);
        assert.equal(raw.configuration.refused.length, 1);
        assert.ok('calc@file' in raw.routers, 'the last good router is still in force');
        assert.equal(await status(gw.url, 'calc.test'), 200, 'the last good version still serves');
        assert.equal(await metric(gw.admin, 'gatehouse_config_stale{provider="file"}'), 1);
        assert.ok((await metric(gw.admin, 'traefik_config_reloads_failure_total')) >= 1);
        assert.ok((await metric(gw.admin, 'traefik_config_last_reload_failure')) * 1000 >= loadedBefore - 1000);

        // The fix clears everything.
        gw.write('calc.yaml', routes(port, 'calc2.test'));
        assert.ok(
          await eventually(async () => (await getJson<Overview>(`${gw.admin}/api/overview`)).configuration.healthy, 10_000),
          'healthy again after the fix',
        );
        assert.equal(await metric(gw.admin, 'gatehouse_config_stale{provider="file"}'), 0);
        assert.equal(await status(gw.url, 'calc2.test'), 200);
      } finally {
        await gw.close();
        up.close();
      }
    },
  );
}
