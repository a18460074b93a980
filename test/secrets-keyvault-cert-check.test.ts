/**
 * Key Vault certificates and `gatehouse check` (docs/secrets.md):
 * - an AzureKeyVaultSecret of `type: certificate` becomes a kubernetes.io/tls
 *   Secret from the certificate's secret (PEM, chain stored root first,
 *   `chainOrder: ensureserverfirst`); a forwardAuth middleware presents it as
 *   its client certificate to an auth server that requires one; a new
 *   certificate version reaches it without a restart; PKCS#12 is refused with
 *   what to change; `type: key` is refused at its field;
 * - `gatehouse check` (the real CLI, a child process) reads each referenced
 *   vault object once: a wrong object name and a denied client are errors at
 *   the AzureKeyVaultSecret's file and line (exit 1); `--offline` contacts no
 *   vault and lists what it did not verify; values are never printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Server } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startVaultWithIdentity, KV_OUTSIDER, KV_OUTSIDER_SECRET, type VaultWithIdentity } from './support/keyvault-standin.js';
import { createTestPki, type TestPki } from './support/test-pki.js';
import { parseYamlDocuments } from '../src/providers/formats/kubernetes/documents.js';
import { fromKubernetesObjects } from '../src/providers/formats/kubernetes/convert.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

const pki: TestPki = createTestPki();
const leaf1 = pki.leaf('client-one');
const leaf2 = pki.leaf('client-two');
const sha = (pw: string): string => createHash('sha1').update(pw, 'utf8').digest('base64');

let env: VaultWithIdentity;
let gw: TestGateway | null = null;
let auth: HttpsServer;
let backend: Server;
let authPort = 0;
let backendPort = 0;
/** Subject CN of the client certificate each auth request presented. */
const seen: string[] = [];
let dir = '';

const certAkv = (name: string, object: string, extra = ''): string => `apiVersion: spv.no/v2beta1
kind: AzureKeyVaultSecret
metadata: { name: ${name}, namespace: default }
spec:
  vault:
    name: gatehouse-kv
    object: { name: ${object}, type: certificate }
  output:
    secret: { name: ${name}, chainOrder: ensureserverfirst${extra} }
`;

const forwardAuthYaml = (secret: string): string => `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: mtls-auth, namespace: default }
spec:
  forwardAuth:
    address: https://127.0.0.1:${authPort}/check
    tls: { certSecret: ${secret}, insecureSkipVerify: true }
`;

const routesYaml = (): string =>
  `http:\n  routers:\n    mtls:\n      entryPoints: [web]\n      rule: PathPrefix(\`/mtls\`)\n      middlewares: [default-mtls-auth@kubernetescrd]\n      service: backend\n  services:\n    backend:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${backendPort}" }]\n`;

before(async () => {
  env = await startVaultWithIdentity();
  // Stored as a CSR-merged certificate often is: root first, the leaf last, then the key.
  env.kv.setCertificate(
    'gatehouse-kv',
    'client-cert',
    [pki.rootCrt, pki.interCrt, leaf1.crt, leaf1.key].join(''),
    'application/x-pem-file',
  );
  env.kv.setCertificate('gatehouse-kv', 'pfx-cert', leaf1.pfxBase64, 'application/x-pkcs12');
  env.kv.setSecret('gatehouse-kv', 'web-users', `alice:{SHA}${sha('pw-one')}`);
  auth = createHttpsServer(
    { key: pki.serverKey, cert: pki.serverCrt, ca: [pki.rootCrt], requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push(String(peer.subject?.CN ?? ''));
      res.end('ok');
    },
  );
  authPort = await listenLoopback(auth);
  backend = createServer((_req, res) => res.end('backend'));
  backendPort = await listenLoopback(backend);
  gw = await startGateway({
    files: { 'akv.yaml': `${certAkv('client-cert', 'client-cert')}---\n${forwardAuthYaml('client-cert')}`, 'routes.yaml': routesYaml() },
    flags: ['--api.insecure', ...env.flags(), '--secrets.refreshinterval=1s'],
  });
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-kv-check-'));
});

after(async () => {
  await gw?.close();
  gw = null;
  await env?.close();
  auth?.close();
  backend?.close();
  pki.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test(
  'a certificate from Key Vault is the client certificate of forwardAuth; a new version is used without a restart',
  { timeout: 60_000 },
  async () => {
    const get = async (): Promise<number> => {
      const r = await request(`${gw!.url}/mtls/x`);
      await r.body.dump();
      return r.statusCode;
    };
    assert.ok(await eventually(async () => (await get()) === 200, 10_000), 'forwardAuth with the certificate from Key Vault');
    assert.equal(seen.at(-1), 'client-one', 'the leaf (moved first by ensureserverfirst) is presented');

    env.kv.setCertificate('gatehouse-kv', 'client-cert', [leaf2.crt, pki.interCrt, leaf2.key].join(''), 'application/x-pem-file');
    assert.ok(
      await eventually(async () => (await get()) === 200 && seen.at(-1) === 'client-two', 10_000),
      'the new certificate version is presented without a restart',
    );

    // PKCS#12 is refused, naming what to change; the middleware is disabled with the reason.
    gw!.write('akv.yaml', `${certAkv('client-cert', 'pfx-cert')}---\n${forwardAuthYaml('client-cert')}`);
    // The middleware goes (404) as soon as the file changes; the reason arrives with the vault's answer.
    let raw = '';
    assert.ok(
      await eventually(async () => {
        raw = await (await request(`${gw!.admin}/api/overview`)).body.text();
        return /PKCS#12/.test(raw);
      }, 10_000),
      `the overview names the PKCS#12 refusal: ${raw}`,
    );
    assert.match(
      raw,
      /application\/x-pkcs12 \(PKCS#12\), which Gatehouse does not read: set the Key Vault certificate policy's secretProperties\.contentType to application\/x-pem-file/,
    );
    assert.ok(!raw.includes(leaf2.key.split('\n')[1] as string), 'no key material in /api/overview');
    assert.ok(!raw.includes(leaf1.pfxBase64.slice(0, 40)), 'no PFX in /api/overview');
  },
);

test('type key is refused at its field; a certificate with another Secret type or chainOrder is refused', () => {
  const yaml = `apiVersion: spv.no/v2beta1
kind: AzureKeyVaultSecret
metadata: { name: k1, namespace: default }
spec:
  vault:
    name: gatehouse-kv
    object: { name: signing-key, type: key }
  output:
    secret: { name: k1, dataKey: key }
---
${certAkv('c2', 'client-cert', ', type: Opaque')}---
${certAkv('c3', 'client-cert').replace('ensureserverfirst', 'rootfirst')}`;
  const { documents } = parseYamlDocuments(yaml, 'akv.yaml');
  const f = fromKubernetesObjects(documents);
  const text = f.issues.map((i) => `${i.line}|${i.field}|${i.message}`).join('\n');
  assert.match(text, /^7\|spec\.vault\.object\.type\|.*"key" is not supported: Key Vault never exports the private part of a key/m);
  assert.match(text, /\|spec\.output\.secret\.type\|.*a certificate writes a kubernetes\.io\/tls Secret/m);
  assert.match(text, /\|spec\.output\.secret\.chainOrder\|.*expected ensureserverfirst, got "rootfirst"/m);
});

function gatehouse(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_ADMIN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

const CHECK_CONF = `apiVersion: spv.no/v2beta1
kind: AzureKeyVaultSecret
metadata: { name: web-users, namespace: default }
spec:
  vault:
    name: gatehouse-kv
    object: { name: web-users, type: secret }
  output:
    secret: { name: web-users, dataKey: users }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: web-auth, namespace: default }
spec:
  basicAuth: { secret: web-users }
---
${certAkv('client-cert', 'client-cert')}`;

test(
  'gatehouse check reads each AzureKeyVaultSecret once: errors at its file and line, exit 1; --offline reads nothing',
  { timeout: 120_000 },
  async () => {
    const conf = join(dir, 'conf');
    const file = join(conf, 'akv.yaml');
    mkdirSync(conf, { recursive: true });
    writeFileSync(file, CHECK_CONF);
    // The gateway of the first test refreshes every second: stopped, so the vault's request count is the CLI's alone.
    await gw?.close();
    gw = null;
    const base = ['check', '--entrypoints.web.address=127.0.0.1:0', `--providers.file.directory=${conf}`];

    const ok = await gatehouse([...base, ...env.flags()]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /✔ AzureKeyVaultSecret default\/web-users: secret web-users of vault gatehouse-kv: read \(version [0-9a-f]{32}\)/);
    assert.match(ok.out, /✔ AzureKeyVaultSecret default\/client-cert: certificate client-cert of vault gatehouse-kv: read/);
    assert.doesNotMatch(ok.out, /not fetched by check/, 'verified secrets are not reported as unverified');

    // A wrong object name: its document starts at line 17.
    writeFileSync(file, CHECK_CONF.replace('object: { name: client-cert,', 'object: { name: client-certs,'));
    const typo = await gatehouse([...base, ...env.flags()]);
    assert.equal(typo.code, 1, typo.out);
    assert.match(
      typo.out,
      new RegExp(
        `✖ ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:17: AzureKeyVaultSecret default/client-cert: certificate client-certs of vault gatehouse-kv: secret client-certs of vault gatehouse-kv not found \\(404 SecretNotFound`,
      ),
    );
    writeFileSync(file, CHECK_CONF);

    // A client without access to the vault, and one whose token is refused.
    const denied = await gatehouse([...base, ...env.flags({ id: KV_OUTSIDER, secret: KV_OUTSIDER_SECRET })]);
    assert.equal(denied.code, 1, denied.out);
    assert.match(
      denied.out,
      /✖ \S+akv\.yaml:1: AzureKeyVaultSecret default\/web-users: .*no access to secret web-users of vault gatehouse-kv \(403 Forbidden\/ForbiddenByPolicy/,
    );
    const badToken = await gatehouse([...base, ...env.flags({ id: KV_OUTSIDER, secret: 'not-the-outsider-secret-000' })]);
    assert.equal(badToken.code, 1, badToken.out);
    assert.match(badToken.out, /✖ \S+akv\.yaml:1: AzureKeyVaultSecret default\/web-users: .*no token for client .*invalid_client/);

    // --offline: the vault is not asked; what was not verified is listed with its place.
    const before = env.kv.requests;
    const offline = await gatehouse([...base, ...env.flags(), '--offline']);
    assert.equal(offline.code, 0, offline.out);
    assert.equal(env.kv.requests, before, 'no request reached the vault');
    assert.match(
      offline.out,
      /--offline: Azure Key Vault not contacted; not verified:\n\s+\S+akv\.yaml:1: AzureKeyVaultSecret default\/web-users: secret web-users of vault gatehouse-kv\n\s+\S+akv\.yaml:17: AzureKeyVaultSecret default\/client-cert: certificate client-cert/,
    );

    for (const r of [ok, typo, denied, badToken, offline]) {
      assert.ok(!r.out.includes(sha('pw-one')), 'no value printed');
      assert.ok(!r.out.includes(leaf1.key.split('\n')[1] as string), 'no key printed');
    }
  },
);
