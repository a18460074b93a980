/**
 * Kubernetes TLS objects end to end (docs/tls.md "Kubernetes: Secrets,
 * TLSStore, TLSOption"): Kubernetes YAML read by the file provider — an
 * IngressRoute with `tls.secretName` (the seed's cert-manager form), the
 * kubernetes.io/tls Secret, a default TLSStore whose defaultCertificate is
 * another Secret, Service/Endpoints to a real backend — and `openssl s_client`
 * sees the Secrets' certificates.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, listenLoopback, startGateway, type TestGateway } from './support/gateway.js';

let dir: string;
let backend: Server;
let gw: TestGateway;
const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Self-signed certificates (openssl) for `k8s.test` and for the store's default. */
function certs(): void {
  const make = (name: string, cn: string): void => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        `subjectAltName=DNS:${cn}`,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
    );
  };
  make('route', 'k8s.test');
  make('store', 'store-default.test');
}

function objects(port: number): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: k8s-test-tls, namespace: web }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(read('route.crt'))}
  tls.key: ${b64(read('route.key'))}
---
apiVersion: v1
kind: Secret
metadata: { name: store-default, namespace: web }
type: kubernetes.io/tls
stringData:
  tls.crt: ${JSON.stringify(read('store.crt'))}
  tls.key: ${JSON.stringify(read('store.key'))}
---
apiVersion: traefik.io/v1alpha1
kind: TLSStore
metadata: { name: default, namespace: web }
spec:
  defaultCertificate: { secretName: store-default }
---
apiVersion: v1
kind: Service
metadata: { name: app, namespace: web }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: app, namespace: web }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${port} }] }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: app, namespace: web }
spec:
  routes:
    - match: Host(\`k8s.test\`)
      kind: Rule
      services: [{ name: app, port: 80 }]
  tls:
    secretName: k8s-test-tls
`;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-k8s-tls-'));
  certs();
  backend = createServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.headers['x-forwarded-proto']}`));
  const port = await listenLoopback(backend);
  gw = await startGateway({ files: { 'app.yaml': objects(port) }, flags: ['--api.insecure'] });
});

after(async () => {
  await gw?.close();
  await new Promise<void>((r) => backend.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** The certificate `openssl s_client` is served (its SHA-256 fingerprint, as node prints it). */
function served(servername: string | null): Promise<string> {
  return new Promise((resolve) => {
    const args = [
      's_client',
      '-connect',
      `127.0.0.1:${gw.port}`,
      ...(servername === null ? ['-noservername'] : ['-servername', servername]),
    ];
    const c = execFile('openssl', args, { timeout: 10_000 }, (_err, stdout) => {
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
      resolve(pem === undefined ? `no certificate: ${stdout.slice(0, 200)}` : new X509Certificate(pem).fingerprint256);
    });
    c.stdin?.end('Q\n');
  });
}

const fingerprint = (f: string): string => new X509Certificate(read(f)).fingerprint256;

test('IngressRoute tls.secretName: openssl s_client -servername sees the Secret certificate; the route answers over HTTPS', async () => {
  assert.ok(
    await eventually(async () => (await served('k8s.test')) === fingerprint('route.crt'), 10_000),
    'the Secret certificate is served for k8s.test',
  );
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: gw.port,
        servername: 'k8s.test',
        headers: { host: 'k8s.test' },
        ca: read('route.crt'),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'backend saw k8s.test https');
});

test('TLSStore default: its defaultCertificate (a Secret) answers for other names and for no SNI', async () => {
  assert.equal(await served('unknown.test'), fingerprint('store.crt'));
  assert.equal(await served(null), fingerprint('store.crt'));
});

test('/api/tls/certificates lists both as kubernetes certificates (the store one as default), without PEM', async () => {
  const r = await fetch(`${gw.admin}/api/tls/certificates`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.ok(!text.includes('BEGIN'), 'no PEM in the API');
  const list = JSON.parse(text) as Array<{ names: string[]; source: string; default: boolean }>;
  const k8s = list.filter((c) => c.source === 'kubernetes').map((c) => [c.names.join(','), c.default]);
  assert.deepEqual(k8s.sort(), [
    ['k8s.test', false],
    ['store-default.test', true],
  ]);
});
