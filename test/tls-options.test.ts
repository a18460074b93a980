/**
 * TLS options as openssl s_client sees them (docs/tls.md, "TLS options"):
 * maxVersion, cipherSuites (Go's names), sniStrict on the default options,
 * alpnProtocols, and each client-certificate mode, against one gateway.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from './support/gateway.js';

let dir: string;
let backend: Server;
let gw: TestGateway;
const p = (n: string): string => join(dir, n);

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
    '/CN=Options CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  const leaf = (name: string, san: string): void => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(
      p(`${name}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n${san ? `subjectAltName=${san}\n` : ''}`,
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
      '-days',
      '2',
    );
  };
  leaf('server', 'DNS:*.opt.test,DNS:opt.test');
  leaf('client', '');
  // A client certificate nobody trusts.
  ssl('req', '-x509', ...ec, '-keyout', 'stranger.key', '-out', 'stranger.crt', '-days', '2', '-subj', '/CN=stranger');
}

const router = (name: string, options: string): string => `
    ${name}:
      rule: Host(\`${name}.opt.test\`)
      service: backend
      tls: { options: ${options} }`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tlsopt-'));
  pki();
  backend = createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as { port: number }).port;
  gw = await startGateway({
    files: {
      'dyn.yml': `
http:
  routers:${router('plain', 'default')}${router('legacy', 'legacy')}${router('request', 'request')}${router('any', 'any')}${router('ifgiven', 'ifgiven')}${router('verify', 'verify')}
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
tls:
  certificates:
    - certFile: ${p('server.crt')}
      keyFile: ${p('server.key')}
  options:
    default:
      sniStrict: true
      alpnProtocols: [http/1.1]
    legacy:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
    request:
      clientAuth: { clientAuthType: RequestClientCert }
    any:
      clientAuth: { clientAuthType: RequireAnyClientCert }
    ifgiven:
      clientAuth: { caFiles: [${p('ca.crt')}], clientAuthType: VerifyClientCertIfGiven }
    verify:
      clientAuth: { caFiles: [${p('ca.crt')}], clientAuthType: RequireAndVerifyClientCert }
`,
    },
  });
});

after(async () => {
  await gw?.close();
  await new Promise<void>((r) => backend.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function sClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const c = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${gw.port}`, ...args], { timeout: 10_000 }, (_e, out, err) =>
      resolve(`${out}\n${err}`),
    );
    c.stdin?.end('Q\n');
  });
}

/** One GET over TLS: the status line, or the error that ended it. */
function get(name: string, opts: ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    let raw = '';
    const done = (v: string): void => {
      s.destroy();
      resolve(v);
    };
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port: gw.port, servername: name, ca: readFileSync(p('ca.crt')), ...opts }, () =>
      s.write(`GET / HTTP/1.1\r\nhost: ${name}\r\nconnection: close\r\n\r\n`),
    );
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    s.on('end', () => done(raw.split('\r\n')[0] ?? ''));
    s.on('error', (e) => done(`error: ${e.message}`));
    s.setTimeout(5000, () => done('timeout'));
  });
}

test('maxVersion and cipherSuites (Go names) per host', async () => {
  assert.match(await sClient(['-servername', 'legacy.opt.test', '-tls1_3']), /alert protocol version/, 'TLS 1.3 above maxVersion');
  const ok = await sClient(['-servername', 'legacy.opt.test', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.match(ok, /Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/);
  const other = await sClient(['-servername', 'legacy.opt.test', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
  assert.match(other, /handshake failure|no shared cipher|alert/i, 'a suite outside the list is refused');
  // Another host keeps the defaults: TLS 1.3 there.
  assert.match(await sClient(['-servername', 'plain.opt.test', '-tls1_3']), /TLSv1\.3/);
});

test('sniStrict on the default options: no SNI or an unknown name is refused, a known one served; ALPN from alpnProtocols', async () => {
  assert.match(await sClient(['-noservername']), /alert handshake failure|no peer certificate/i);
  assert.match(await sClient(['-servername', 'nobody.example']), /unrecognized name|alert/i);
  const known = await sClient(['-servername', 'plain.opt.test', '-alpn', 'h2,http/1.1']);
  assert.match(known, /ALPN protocol: http\/1\.1/, 'only http/1.1 offered by these options');
  assert.equal(await get('plain.opt.test'), 'HTTP/1.1 200 OK');
});

test('client-certificate modes: RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert (an untrusted certificate refused)', async () => {
  const trusted = { cert: readFileSync(p('client.crt')), key: readFileSync(p('client.key')) };
  const stranger = { cert: readFileSync(p('stranger.crt')), key: readFileSync(p('stranger.key')) };
  // RequestClientCert: asked, never required, never verified.
  assert.equal(await get('request.opt.test'), 'HTTP/1.1 200 OK');
  assert.equal(await get('request.opt.test', stranger), 'HTTP/1.1 200 OK');
  // RequireAnyClientCert: a certificate is required, any will do.
  assert.notEqual(await get('any.opt.test'), 'HTTP/1.1 200 OK');
  assert.equal(await get('any.opt.test', stranger), 'HTTP/1.1 200 OK');
  // VerifyClientCertIfGiven: none is fine, a given one must chain to the CA.
  assert.equal(await get('ifgiven.opt.test'), 'HTTP/1.1 200 OK');
  assert.equal(await get('ifgiven.opt.test', trusted), 'HTTP/1.1 200 OK');
  assert.notEqual(await get('ifgiven.opt.test', stranger), 'HTTP/1.1 200 OK');
  // RequireAndVerifyClientCert: required and verified (a certificate from another CA is refused).
  assert.notEqual(await get('verify.opt.test'), 'HTTP/1.1 200 OK');
  assert.notEqual(await get('verify.opt.test', stranger), 'HTTP/1.1 200 OK');
  assert.equal(await get('verify.opt.test', trusted), 'HTTP/1.1 200 OK');
});
