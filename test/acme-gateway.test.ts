/**
 * ACME through the whole gateway (docs/tls.md): certificate resolvers given
 * as Traefik's flags order certificates from a real pebble for the hosts of
 * TLS routers — http-01 answered by acme-http@internal on the web entry
 * point, tls-alpn-01 by the TLS acceptor — and the entry point serves them
 * (seen by openssl s_client), with their state in /api/tls/certificates, the
 * metric gatehouse_acme_orders_total, and gatehouse certs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from './support/gateway.js';
import { freePort, startPebble, type TestPebble } from './support/pebble.js';
import { certsMain } from '../src/cli/certs.js';

let pebble: TestPebble;
let gw: TestGateway;
let backend: Server;
let dir: string;
let tlsPort: number;

async function setUp(workers: number): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-acme-gw-'));
  backend = createServer((_req, res) => res.end('from backend'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const bport = (backend.address() as { port: number }).port;
  const httpPort = await freePort();
  tlsPort = await freePort();
  pebble = await startPebble({ httpPort, tlsPort });
  const acme = (name: string, challenge: string[]): string[] => [
    `--certificatesresolvers.${name}.acme.email=ops@example.test`,
    `--certificatesresolvers.${name}.acme.caserver=${pebble.directory}`,
    `--certificatesresolvers.${name}.acme.cacertificates=${pebble.caFile}`,
    `--certificatesresolvers.${name}.acme.storage=${join(dir, `${name}.json`)}`,
    ...challenge,
  ];
  gw = await startGateway({
    workers,
    webAddress: `127.0.0.1:${httpPort}`,
    flags: [
      '--api.insecure',
      '--metrics.prometheus',
      `--entrypoints.websecure.address=127.0.0.1:${tlsPort}`,
      ...acme('le', ['--certificatesresolvers.le.acme.httpchallenge.entrypoint=web']),
      ...acme('alpn', ['--certificatesresolvers.alpn.acme.tlschallenge=true']),
    ],
    files: {
      'dyn.yml': `
http:
  routers:
    app:
      entryPoints: [websecure]
      rule: Host(\`app.example.test\`) || Host(\`www.example.test\`)
      service: backend
      tls: { certResolver: le }
    alpn:
      entryPoints: [websecure]
      rule: Host(\`alpn.example.test\`)
      service: backend
      tls: { certResolver: alpn }
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${bport}" }]
`,
    },
  });
}

async function tearDown(): Promise<void> {
  await gw?.close();
  await pebble?.close();
  await new Promise<void>((r) => backend.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
}

interface CertRow {
  names: string[];
  source: string;
  resolver?: string;
  issuer?: string;
  acme?: { state: string; error?: string; nextRenewal?: string };
}

async function certificates(): Promise<CertRow[]> {
  return (await (await fetch(`${gw.admin}/api/tls/certificates`)).json()) as CertRow[];
}

async function until(what: string, ok: (rows: CertRow[]) => boolean, ms = 60_000): Promise<CertRow[]> {
  const end = Date.now() + ms;
  let rows: CertRow[] = [];
  while (Date.now() < end) {
    rows = await certificates();
    if (ok(rows)) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what}: ${JSON.stringify(rows, null, 1)}`);
}

/** The certificate chain the entry point serves for `name` (openssl s_client -showcerts). */
function served(name: string): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const c = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-servername', name, '-showcerts'],
      { timeout: 10_000 },
      (err, stdout) => {
        const pems = stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        if (pems === null) reject(err ?? new Error(`no certificate in: ${stdout}`));
        else resolve(pems.map((p) => new X509Certificate(p)));
      },
    );
    c.stdin?.end('Q\n');
  });
}

for (const workers of [1, 2])
  test(`${workers} worker(s): http-01 (acme-http@internal) and tls-alpn-01 (the TLS acceptor) ordered once by the primary from pebble before traffic, served by SNI, chain to pebble root`, async (t) => {
    await setUp(workers);
    t.after(tearDown);
    await scenario();
  });

async function scenario(): Promise<void> {
  const rows = await until(
    'both ACME certificates Ready',
    (r) => r.filter((c) => c.source === 'acme' && c.acme?.state === 'Ready' && c.issuer !== undefined).length === 2,
  );
  const app = rows.find((c) => c.names.includes('app.example.test'));
  assert.deepEqual(app?.names.sort(), ['app.example.test', 'www.example.test']);
  assert.equal(app?.resolver, 'le');
  assert.ok(app?.acme?.nextRenewal !== undefined, 'a next renewal time');
  const root = new X509Certificate(await pebble.root());
  for (const host of ['www.example.test', 'alpn.example.test']) {
    const chain = await served(host);
    const leaf = chain[0]!;
    assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${host.replace(/\./g, '\\.')}`));
    // leaf ← intermediate ← pebble's root
    const inter = chain[1]!;
    assert.ok(leaf.checkIssued(inter) && leaf.verify(inter.publicKey), 'leaf signed by the intermediate');
    assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey), 'intermediate signed by pebble root');
  }
  // The account and certificates are stored as Traefik's acme.json, mode 600.
  assert.equal(statSync(join(dir, 'le.json')).mode & 0o777, 0o600);
  const metrics = await (await fetch(`${gw.admin}/metrics`)).text();
  assert.match(metrics, /gatehouse_acme_orders_total\{resolver="le",result="success"\} 1/);
  assert.match(metrics, /gatehouse_acme_orders_total\{resolver="alpn",result="success"\} 1/);
  assert.match(metrics, /traefik_tls_certs_not_after\{cn="[^"]*",serial="[0-9a-f]+",sans="app\.example\.test,www\.example\.test"\} \d+/);
  const routers = (await (await fetch(`${gw.admin}/api/http/routers/app@file`)).json()) as {
    tlsCertificate?: { source: string; resolver?: string };
  };
  assert.equal(routers.tlsCertificate?.source, 'acme');
  // gatehouse certs: the table, exit 0 (nothing expires within 14 days).
  let out = '';
  const code = await certsMain(['--admin', gw.admin], {}, { write: (s: string) => ((out += s), true) });
  assert.equal(code, 0);
  assert.match(out, /app\.example\.test,www\.example\.test .*acme le/);
  assert.doesNotMatch(JSON.stringify(await certificates()), /PRIVATE KEY/);
}
