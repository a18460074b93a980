/**
 * Many replicas, one certificate (docs/tls.md, traefik #5792): two gateways
 * sharing a real redis-server and one certificate resolver. Exactly one of
 * them orders the name from pebble (the Redis lock); the CA's http-01
 * validation reaches the OTHER gateway's entry point, which answers from the
 * challenge shared in Redis; both then serve the same certificate.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from './support/gateway.js';
import { freePort, startPebble } from './support/pebble.js';
import { startRedis } from './support/redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function served(port: number, name: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const c = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', name],
      { timeout: 10_000 },
      (err, stdout) => {
        const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout);
        if (pem === null) reject(err ?? new Error(`no certificate in: ${stdout}`));
        else resolve(new X509Certificate(pem[0]));
      },
    );
    c.stdin?.end('Q\n');
  });
}

async function successes(gw: TestGateway): Promise<number> {
  const m = /gatehouse_acme_orders_total\{resolver="le",result="success"\} (\d+)/.exec(await (await fetch(`${gw.admin}/metrics`)).text());
  return m === null ? 0 : Number(m[1]);
}

test('two gateways on one Redis: one order, the challenge answered by the other replica, both serve the certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-acme-redis-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const backend = createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => backend.close(() => r())));
  const [httpA, httpB, tlsA, tlsB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // pebble validates http-01 on httpA only: gateway A's entry point.
  const pebble = await startPebble({ httpPort: httpA, tlsPort: tlsA });
  cleanups.push(() => pebble.close());
  const conf = `
http:
  routers:
    app:
      entryPoints: [websecure]
      rule: Host(\`shared.example.test\`)
      service: backend
      tls: { certResolver: le }
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${(backend.address() as { port: number }).port}" }]
`;
  const start = async (web: number, tls: number, files: string): Promise<TestGateway> => {
    const gw = await startGateway({
      webAddress: `127.0.0.1:${web}`,
      files: { 'dyn.yml': files },
      flags: [
        '--api.insecure',
        '--metrics.prometheus',
        `--entrypoints.websecure.address=127.0.0.1:${tls}`,
        `--redis.endpoints=127.0.0.1:${redis.port}`,
        '--certificatesresolvers.le.acme.email=ops@example.test',
        `--certificatesresolvers.le.acme.caserver=${pebble.directory}`,
        `--certificatesresolvers.le.acme.cacertificates=${pebble.caFile}`,
        '--certificatesresolvers.le.acme.httpchallenge.entrypoint=web',
      ],
    });
    cleanups.push(() => gw.close());
    return gw;
  };
  // A (where the CA's validation arrives) has no router for the name yet: only B wants it, so B orders.
  const a = await start(httpA, tlsA, conf.replace(/ {2}routers:[\s\S]*? {2}services:/, '  services:'));
  const b = await start(httpB, tlsB, conf);
  const servedBy = async (port: number): Promise<X509Certificate | undefined> => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const c = await served(port, 'shared.example.test').catch(() => undefined);
      if (c !== undefined && /DNS:shared\.example\.test/.test(c.subjectAltName ?? '')) return c;
      await new Promise((r) => setTimeout(r, 300));
    }
    return undefined;
  };
  const certB = await servedBy(tlsB);
  assert.ok(certB !== undefined, 'B serves the certificate it ordered (the challenge was answered by A from Redis)');
  // Now A's routers ask for the name too: it takes the certificate from Redis, no second order.
  a.write('dyn.yml', conf);
  const certA = await servedBy(tlsA);
  assert.match(certA?.subjectAltName ?? '', /DNS:shared\.example\.test/, 'A serves the certificate');
  assert.equal(certA?.serialNumber, certB?.serialNumber, 'both serve the same certificate');
  const [sa, sb] = [await successes(a), await successes(b)];
  assert.equal(sa + sb, 1, `one order in all (A ${sa}, B ${sb})`);
});
