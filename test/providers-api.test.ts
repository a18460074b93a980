/**
 * Provider status in Flux's model, everywhere (issue 12's "Status you can
 * see", on the provider seam): GET /api/providers, `gatehouse providers`
 * (table, -o json, exit 1 when one is not ready) and the metrics
 * gatehouse_provider_ready / gatehouse_provider_revision_info, with 1 and 2
 * workers (the status lives in the primary; workers ask it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, eventually } from './support/gateway.js';
import { providersMain } from '../src/cli/providers.js';
import type { ProviderStatus } from '../src/providers/types.js';

const ROUTES =
  'http:\n  routers:\n    r:\n      rule: Host(`r.test`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:1\n';

async function statuses(admin: string): Promise<ProviderStatus[]> {
  const r = await request(`${admin}/api/providers`);
  assert.equal(r.statusCode, 200);
  return (await r.body.json()) as ProviderStatus[];
}

async function metrics(admin: string): Promise<string> {
  return (await request(`${admin}/metrics`)).body.text();
}

async function cli(admin: string, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (s: string): boolean => ((out += s), true) };
  const code = await providersMain(['--admin', admin, ...args], {}, sink, sink);
  return { code, out };
}

for (const workers of [1, 2]) {
  test(`provider status in the API, the CLI and the metrics (--workers ${workers})`, { timeout: 60_000 }, async () => {
    const gw = await startGateway({
      workers,
      files: { 'r.yaml': ROUTES },
      flags: ['--api.insecure', '--metrics.prometheus', '--metrics.prometheus.entrypoint=traefik'],
    });
    try {
      const [file] = await statuses(gw.admin);
      assert.ok(file !== undefined);
      assert.equal(file.name, 'file');
      assert.equal(file.type, 'file');
      assert.equal(file.url, gw.dir);
      const ready = file.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True');
      assert.equal(ready?.reason, 'ReconciliationSucceeded');
      assert.equal(file.history?.[0]?.result, 'applied');
      assert.ok(file.lastAppliedRevision !== undefined && file.lastAppliedRevision !== '');
      let m = await metrics(gw.admin);
      assert.match(m, /^gatehouse_provider_ready\{provider="file"\} 1$/m);
      assert.match(m, new RegExp(`^gatehouse_provider_revision_info\\{provider="file",revision="${file.lastAppliedRevision}"\\} 1$`, 'm'));
      let c = await cli(gw.admin);
      assert.equal(c.code, 0, c.out);
      assert.match(c.out, /NAME\s+TYPE\s+REVISION\s+READY/);
      assert.match(c.out, /^file\s+file\s+\S+\s+True/m);

      gw.write('r.yaml', 'http: [\n');
      assert.ok(
        await eventually(
          async () => (await statuses(gw.admin))[0]?.conditions?.find((x) => x.type === 'Ready')?.status === 'False',
          10_000,
        ),
        'not ready once a file is refused',
      );
      const [broken] = await statuses(gw.admin);
      assert.equal(broken!.conditions!.find((x) => x.type === 'Ready')!.reason, 'BuildFailed');
      assert.equal(broken!.history![0]!.result, 'refused');
      assert.match(broken!.history![0]!.message, /r\.yaml:\d+: invalid YAML/);
      assert.equal(broken!.history![1]!.result, 'applied');
      assert.ok(await eventually(async () => /^gatehouse_provider_ready\{provider="file"\} 0$/m.test(await metrics(gw.admin)), 5000));
      c = await cli(gw.admin);
      assert.equal(c.code, 1, 'exit 1 when a provider is not ready');
      assert.match(c.out, /^file\s+file\s+\S+\s+False\s+\S+\s+1 file refused \([^)]*r\.yaml:\d+\)/m, c.out);
      const j = await cli(gw.admin, '-o', 'json');
      assert.equal((JSON.parse(j.out) as ProviderStatus[])[0]!.name, 'file');
      m = await metrics(gw.admin);
      assert.match(m, /^gatehouse_config_stale\{provider="file"\} 1$/m);
    } finally {
      await gw.close();
    }
  });
}
