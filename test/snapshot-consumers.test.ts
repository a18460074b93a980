/**
 * Every snapshot consumer sees every revision, with one worker and with two:
 * the gateway (a router added at runtime serves), identity (an Application
 * added at runtime gets tokens), alerts (an AlertRule added at runtime shows
 * in /api/gatehouse/alerts), telemetry (the reload counters move) and the DNS
 * publisher (the new router's host gets its record in a real PowerDNS). The
 * worker's reload path once skipped identity (the token endpoint kept
 * answering "unknown client" with --workers 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer } from 'node:http';
import { startGateway, eventually, listenLoopback } from './support/gateway.js';
import { IDENTITY_YAML, TENANT_ID, OTHER_APP_ID, SCOPE } from '../src/demo/identity-scenario.js';
import { startPdns } from './support/pdns.js';

const OTHER = 'other-secret-value-0987654321';
/** The seed's identity setup without the `calc-other` application. */
const WITHOUT_OTHER = IDENTITY_YAML.slice(0, IDENTITY_YAML.lastIndexOf('---'));

async function token(admin: string): Promise<number> {
  const r = await request(`${admin}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: OTHER_APP_ID, client_secret: OTHER, scope: SCOPE }).toString(),
  });
  await r.body.dump();
  return r.statusCode;
}

async function getJson(url: string): Promise<unknown> {
  const r = await request(url);
  return r.statusCode === 200 ? r.body.json() : (await r.body.dump(), null);
}

async function status(url: string, host: string): Promise<number> {
  const r = await request(url, { headers: { host } });
  await r.body.dump();
  return r.statusCode;
}

async function reloads(admin: string): Promise<number> {
  const r = await request(`${admin}/metrics`);
  const text = await r.body.text();
  const m = /^traefik_config_reloads_total (\d+)/m.exec(text);
  return m === null ? -1 : Number(m[1]);
}

for (const workers of [1, 2]) {
  test(`every snapshot consumer applies a runtime change (--workers ${workers})`, { timeout: 60_000 }, async () => {
    process.env.CALC_CLIENT_SECRET = 'test-secret-value-1234567890';
    process.env.CALC_OTHER_SECRET = OTHER;
    const up = createServer((_req, res) => res.end('up'));
    const port = await listenLoopback(up);
    const pdns = await startPdns();
    await pdns.createZone('late.test');
    const gw = await startGateway({
      workers,
      files: { 'identity.yaml': WITHOUT_OTHER },
      flags: [
        '--identity.insecure',
        '--api.insecure',
        '--metrics.prometheus',
        '--metrics.prometheus.entrypoint=traefik',
        '--dns.provider=pdns',
        `--dns.pdns.server=${pdns.apiUrl}`,
        `--dns.pdns.apikeyfile=${pdns.apiKeyFile}`,
        `--dns.checkaddress=127.0.0.1:${pdns.dnsPort}`,
        '--dns.targets=203.0.113.10',
        '--dns.policy=sync',
        '--dns.domainfilters=late.test',
        '--dns.mineventsyncinterval=0s',
      ],
    });
    try {
      assert.equal(await token(gw.admin), 400, 'unknown client before the change');
      assert.equal(await status(gw.url, 'late.test'), 404);
      const before = await reloads(gw.admin);
      assert.ok(before >= 1, `reload counter present (${before})`);

      gw.write('identity.yaml', IDENTITY_YAML);
      gw.write(
        'late.yaml',
        `http:
  routers:
    late: { rule: "Host(\`late.test\`)", service: late }
  services:
    late: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${port}" }] } }
`,
      );
      gw.write(
        'alert.yaml',
        `apiVersion: gatehouse.dev/v1alpha1
kind: AlertRule
metadata: { name: late-latency }
spec:
  signal: latencyP99
  scope: { service: late@file }
  operator: GreaterThan
  threshold: 5000
  windowSize: 10s
  evaluationFrequency: 1s
  severity: 3
`,
      );
      // Every worker must serve the change: ask several times (connections spread over workers).
      const allOf = async (fn: () => Promise<boolean>): Promise<boolean> => {
        for (let i = 0; i < 6; i++) if (!(await fn())) return false;
        return true;
      };
      assert.ok(
        await eventually(() => allOf(async () => (await status(gw.url, 'late.test')) === 200), 8000),
        'gateway: the new router serves',
      );
      assert.ok(
        await eventually(() => allOf(async () => (await token(gw.admin)) === 200), 8000),
        'identity: the new application gets tokens',
      );
      assert.ok(
        await eventually(async () => {
          const a = (await getJson(`${gw.admin}/api/gatehouse/alerts`)) as Array<{ rule?: string }> | null;
          return (a ?? []).some((x) => String(x.rule ?? '').includes('late-latency'));
        }, 8000),
        'alerts: the new rule is evaluated',
      );
      assert.ok(await eventually(async () => (await reloads(gw.admin)) > before, 8000), 'telemetry: the reload counter moved');
      assert.ok(
        await eventually(async () => (await pdns.dig('late.test', 'A')).includes('203.0.113.10'), 10_000),
        'dns: the new router host is published',
      );
      const dns = (await getJson(`${gw.admin}/api/dns`)) as { records?: Array<{ name: string; type: string; state: string }> } | null;
      assert.ok(
        (dns?.records ?? []).some((r) => r.name === 'late.test' && r.type === 'A' && r.state === 'Published'),
        `dns: /api/dns lists the record: ${JSON.stringify(dns)}`,
      );
      const router = (await getJson(`${gw.admin}/api/http/routers/late@file`)) as { dns?: { state?: string } } | null;
      assert.equal(router?.dns?.state, 'Published', 'dns: the router shows its record state');
      assert.match(await (await request(`${gw.admin}/metrics`)).body.text(), /gatehouse_dns_records\{state="Published"\} [1-9]/);
    } finally {
      await gw.close();
      up.close();
      await pdns.close();
    }
  });
}
