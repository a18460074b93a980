/**
 * The entry point's default certificate domains (Gatehouse issue 14, docs/tls.md):
 * `--entrypoints.websecure.http.tls.certresolver=le` with the indexed flags
 * `.http.tls.domains[0].main` / `.sans` make a router on that entry point
 * without a `tls` of its own order ONE certificate (main + SANs) from a real
 * pebble over http-01, and the entry point serves it for either name (seen by
 * openssl s_client).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { get as httpsGet } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from './support/gateway.js';
import { freePort, startPebble } from './support/pebble.js';

interface CertRow {
  names: string[];
  source: string;
  resolver?: string;
  issuer?: string;
  acme?: { state: string; error?: string };
}

/** The leaf certificate the entry point on `port` serves for `name`. */
function served(port: number, name: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const c = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', name, '-showcerts'],
      { timeout: 10_000 },
      (err, stdout) => {
        const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
        if (pem === undefined) reject(err ?? new Error(`no certificate in: ${stdout}`));
        else resolve(new X509Certificate(pem));
      },
    );
    c.stdin?.end('Q\n');
  });
}

test('entry point http.tls.domains[0] (indexed flags) orders one certificate with main + SANs for a router without tls', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-acme-ep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const backend = createServer((_req, res) => res.end('from backend'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => backend.close(() => r())));
  const bport = (backend.address() as { port: number }).port;
  const httpPort = await freePort();
  const tlsPort = await freePort();
  const pebble = await startPebble({ httpPort, tlsPort });
  t.after(() => pebble.close());
  const gw = await startGateway({
    workers: 1,
    webAddress: `127.0.0.1:${httpPort}`,
    flags: [
      '--api.insecure',
      `--entrypoints.websecure.address=127.0.0.1:${tlsPort}`,
      '--entrypoints.websecure.http.tls.certresolver=le',
      '--entrypoints.websecure.http.tls.domains[0].main=app.example.test',
      '--entrypoints.websecure.http.tls.domains[0].sans=www.example.test',
      '--certificatesresolvers.le.acme.email=ops@example.test',
      `--certificatesresolvers.le.acme.caserver=${pebble.directory}`,
      `--certificatesresolvers.le.acme.cacertificates=${pebble.caFile}`,
      `--certificatesresolvers.le.acme.storage=${join(dir, 'le.json')}`,
      '--certificatesresolvers.le.acme.httpchallenge.entrypoint=web',
    ],
    files: {
      // No `tls` on the router: it takes the entry point's (resolver and domains).
      'dyn.yml': `
http:
  routers:
    app:
      entryPoints: [websecure]
      rule: Host(\`app.example.test\`)
      service: backend
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${bport}" }]
`,
    },
  });
  t.after(() => gw.close());

  const end = Date.now() + 30_000;
  let rows: CertRow[] = [];
  for (;;) {
    rows = (await (await fetch(`${gw.admin}/api/tls/certificates`)).json()) as CertRow[];
    if (rows.some((c) => c.source === 'acme' && c.acme?.state === 'Ready' && c.issuer !== undefined)) break;
    if (Date.now() > end) assert.fail(`the entry point's certificate is not Ready: ${JSON.stringify(rows, null, 1)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // One certificate, both names: main + SANs ordered together, not one per host.
  const acme = rows.filter((c) => c.source === 'acme');
  assert.equal(acme.length, 1, JSON.stringify(acme));
  assert.deepEqual([...(acme[0]?.names ?? [])].sort(), ['app.example.test', 'www.example.test']);
  assert.equal(acme[0]?.resolver, 'le');

  const www = await served(tlsPort, 'www.example.test');
  const app = await served(tlsPort, 'app.example.test');
  assert.equal(www.fingerprint256, app.fingerprint256, 'the same certificate for main and SAN');
  const sans = (www.subjectAltName ?? '').split(', ').sort();
  assert.deepEqual(sans, ['DNS:app.example.test', 'DNS:www.example.test']);
  assert.match(www.issuer, /Pebble/, 'issued by pebble, not the default certificate');

  // The router serves over TLS on that entry point (it inherited the entry point's tls).
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsGet(
      {
        host: '127.0.0.1',
        port: tlsPort,
        servername: 'app.example.test',
        headers: { host: 'app.example.test' },
        rejectUnauthorized: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
  });
  assert.equal(body, 'from backend');
});
