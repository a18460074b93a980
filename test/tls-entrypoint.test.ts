/**
 * HTTPS on entry points (docs/tls.md): certificates from files and inline PEM,
 * SNI (exact, wildcard, default), TLS routers apart from plain ones, TLS
 * options (versions, ciphers, ALPN, client certificates, sniStrict), reload
 * without a restart, and refused certificates visible as issues. Checked with
 * the real `openssl s_client` and `curl`, and node:tls.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { startGateway, type TestGateway } from './support/gateway.js';
import { send } from './support/http-request.js';

let dir: string;
let backend: Server;
let backendUrl: string;
let gw: TestGateway;

/** A CA, and leaves it signs: `a.test` (with `www.a.test`), `*.wild.test`, a client certificate, an expired one. */
function pki(): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3',
    '-subj',
    '/CN=Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  const leaf = (name: string, subj: string, san: string, extra: string[] = []): void => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    writeFileSync(
      join(dir, `${name}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n${san === '' ? '' : `subjectAltName=${san}\n`}`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
      ...(extra.length > 0 ? extra : ['-days', '2']),
    );
  };
  leaf('a', '/CN=a.test', 'DNS:a.test,DNS:www.a.test');
  leaf('wild', '/CN=*.wild.test', 'DNS:*.wild.test');
  leaf('client', '/CN=client one', '');
}

/** A self-signed certificate that expired in 2020 (openssl 3.0 cannot back-date one). */
async function expired(): Promise<void> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=old.test',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2020-02-01T00:00:00Z'),
    signingAlgorithm: alg,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  writeFileSync(p('expired.crt'), cert.toString('pem'));
  writeFileSync(p('expired.key'), `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  pki();
  await expired();
  backend = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ host: req.headers.host, proto: req.headers['x-forwarded-proto'], path: req.url }));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const a = backend.address();
  backendUrl = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  gw = await startGateway({ files: { 'dyn.yml': config() }, flags: ['--api.insecure'] });
});

after(async () => {
  await gw?.close();
  await new Promise<void>((r) => backend.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const p = (name: string): string => join(dir, name);

function config(extra = ''): string {
  return `
http:
  routers:
    secure:
      rule: Host(\`a.test\`) || Host(\`www.a.test\`)
      service: backend
      tls: {}
    wild:
      rule: HostRegexp(\`^.+\\.wild\\.test$\`)
      ruleSyntax: v3
      service: backend
      tls: {}
    plain:
      rule: Host(\`a.test\`)
      service: backend
    modern:
      rule: Host(\`modern.wild.test\`)
      service: backend
      tls:
        options: modern
    mtls:
      rule: Host(\`mtls.wild.test\`)
      service: backend
      tls:
        options: mtls
  services:
    backend:
      loadBalancer:
        servers: [{ url: "${backendUrl}" }]
tls:
  certificates:
    - certFile: ${p('a.crt')}
      keyFile: ${p('a.key')}
    - certFile: |
${readFileSync(p('wild.crt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
      keyFile: |
${readFileSync(p('wild.key'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
  options:
    modern:
      minVersion: VersionTLS13
    mtls:
      clientAuth:
        caFiles: [${p('ca.crt')}]
        clientAuthType: RequireAndVerifyClientCert
${extra}`;
}

function connect(port: number, opts: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(p('ca.crt')), ...opts }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  });
}

/** One HTTP/1.1 request over TLS; resolves to status and body. */
async function httpsGet(
  port: number,
  host: string,
  path = '/',
  opts: ConnectionOptions = {},
): Promise<{ status: number; body: string; socket: TLSSocket }> {
  const s = await connect(port, { servername: host, ...opts });
  return new Promise((resolve, reject) => {
    let raw = '';
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    s.once('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4), socket: s });
    });
    s.once('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  });
}

/** A command's stdout (asynchronously: the gateway runs in this process). */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const c = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 10_000 }, (_err, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}`),
    );
    c.stdin?.end('Q\n');
  });
}

test('SNI picks the certificate: exact name, wildcard, else the generated default; TLS routers answer over TLS only', async () => {
  const a = await httpsGet(gw.port, 'a.test');
  assert.equal(a.status, 200);
  assert.equal(JSON.parse(a.body).proto, 'https', 'X-Forwarded-Proto is https');
  assert.equal(a.socket.getPeerCertificate().subject.CN, 'a.test');
  const w = await httpsGet(gw.port, 'x.wild.test');
  assert.equal(w.status, 200);
  assert.equal(w.socket.getPeerCertificate().subject.CN, '*.wild.test');
  // No certificate for this name: the default one (self-signed, not trusted by the test CA).
  const d = await httpsGet(gw.port, 'unknown.test', '/', { rejectUnauthorized: false });
  assert.equal(d.socket.getPeerCertificate().subject.CN, 'GATEHOUSE DEFAULT CERT');
  assert.equal(d.status, 404, 'no TLS router for that host');
  // Plain HTTP on the same port reaches the plain router only.
  const plain = await send(`${gw.url}/x`, { headers: { host: 'a.test' } });
  assert.equal(plain.status, 200);
  assert.equal((JSON.parse(plain.body) as { proto: string }).proto, 'http');
  const plainWild = await send(`${gw.url}/x`, { headers: { host: 'x.wild.test' } });
  assert.equal(plainWild.status, 404, 'a TLS router does not answer plain HTTP');
});

test('ALPN: h2 and http/1.1 offered; HTTP/2 over TLS reaches the backend (node:http2 and curl --http2)', async () => {
  const s = await connect(gw.port, { servername: 'a.test', ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(s.alpnProtocol, 'h2');
  s.destroy();
  const client = h2connect(`https://127.0.0.1:${gw.port}`, { ca: readFileSync(p('ca.crt')), servername: 'a.test' });
  const body = await new Promise<string>((resolve, reject) => {
    const req = client.request({ ':path': '/h2', ':authority': 'a.test' });
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => resolve(b));
    req.on('error', reject);
  });
  client.close();
  assert.equal(JSON.parse(body).path, '/h2');
  // Routed by the TLS routers (a plain router for a.test exists too): the request came over TLS.
  assert.equal(JSON.parse(body).proto, 'https');
  const out = await run('curl', [
    '-sS',
    '--http2',
    '--cacert',
    p('ca.crt'),
    '--resolve',
    `a.test:${gw.port}:127.0.0.1`,
    '-o',
    '/dev/null',
    '-w',
    '%{http_version} %{http_code}',
    `https://a.test:${gw.port}/c`,
  ]);
  assert.equal(out, '2 200');
});

test('TLS options: minVersion per host (openssl s_client), client certificates required where configured', async () => {
  const tls12 = await sClient(gw.port, ['-servername', 'modern.wild.test', '-tls1_2']);
  assert.match(tls12, /alert protocol version/, 'TLS 1.2 refused for modern.wild.test');
  const tls13 = await sClient(gw.port, ['-servername', 'modern.wild.test', '-tls1_3']);
  assert.match(tls13, /TLSv1\.3/);
  const other12 = await sClient(gw.port, ['-servername', 'a.test', '-tls1_2']);
  assert.match(other12, /Protocol\s*:\s*TLSv1\.2/, 'the default options still allow TLS 1.2');
  const old = await sClient(gw.port, ['-servername', 'a.test', '-tls1_1']);
  assert.doesNotMatch(old, /Protocol\s*:\s*TLSv1\.1\b\s*\n\s*Cipher\s*:\s*[A-Z]/, 'TLS 1.1 is below the default minimum');
  assert.match(old, /alert|no protocols available|wrong version/i);

  await assert.rejects(httpsGet(gw.port, 'mtls.wild.test'), 'no client certificate: refused');
  const ok = await httpsGet(gw.port, 'mtls.wild.test', '/', { cert: readFileSync(p('client.crt')), key: readFileSync(p('client.key')) });
  assert.equal(ok.status, 200);
});

test('a broken certificate is an issue naming it; the others keep serving; a fixed file is served after reload', async () => {
  gw.write(
    'dyn.yml',
    config(`    broken:
      minVersion: VersionTLS14
`).replace(
      '\n  options:\n',
      `
    - certFile: ${p('expired.crt')}
      keyFile: ${p('expired.key')}
    - certFile: ${p('a.crt')}
      keyFile: ${p('wild.key')}
  options:
`,
    ),
  );
  let issues: string[] = [];
  for (let i = 0; i < 50; i++) {
    const o = (await (await fetch(`${gw.admin}/api/overview`)).json()) as { errors?: string[] };
    issues = o.errors ?? [];
    if (issues.some((m) => m.includes('expired'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(
    issues.some((m) => /expired\.crt.*expired on 2020/.test(m)),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((m) => /does not match certificate/.test(m)),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((m) => /unknown TLS version "VersionTLS14"/.test(m)),
    issues.join('\n'),
  );
  assert.ok(!issues.some((m) => m.includes('BEGIN')), 'no PEM in messages');
  const a = await httpsGet(gw.port, 'a.test');
  assert.equal(a.status, 200);
  assert.equal(a.socket.getPeerCertificate().subject.CN, 'a.test');
  gw.write('dyn.yml', config());
});

test('a certificate file replaced on disk (cert-manager, certbot) is served to new handshakes without a restart', async () => {
  // The previous test rewrote the configuration: let that reload finish, so only the file watch can bring the new certificate.
  await new Promise((r) => setTimeout(r, 2000));
  const before = (await httpsGet(gw.port, 'a.test')).socket.getPeerCertificate().serialNumber;
  // Renew: a new key and certificate for the same names, written over the same files.
  execFileSync(
    'openssl',
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'a2.key', '-out', 'a2.csr', '-subj', '/CN=a.test'],
    { cwd: dir, stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'a2.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'a2.crt',
      '-extfile',
      'a.ext',
      '-days',
      '2',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  writeFileSync(p('a.key'), readFileSync(p('a2.key')));
  writeFileSync(p('a.crt'), readFileSync(p('a2.crt')));
  const want = new X509Certificate(readFileSync(p('a2.crt'))).serialNumber;
  let now = before;
  for (let i = 0; i < 60 && now !== want; i++) {
    await new Promise((r) => setTimeout(r, 250));
    now = (await httpsGet(gw.port, 'a.test')).socket.getPeerCertificate().serialNumber;
  }
  assert.notEqual(want, before);
  assert.equal(now, want, 'the renewed certificate is served');
});
