/**
 * Secrets from Azure Key Vault end to end (docs/secrets.md): a Key Vault REST
 * stand-in (test/support/keyvault-standin.ts) that accepts only tokens
 * Gatehouse's own identity provider issued through the real client-credentials
 * flow (verified with jose against its discovery document); a second gateway
 * reading akv2k8s AzureKeyVaultSecret objects from its file provider: a
 * basicAuth middleware whose users come from the vault, an identity
 * Application whose client secret comes from a multi-key-value-secret,
 * rotation without restart, a vault that goes down (last value kept, error
 * reported), and no value in any log line or API answer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from './support/keyvault-standin.js';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve, type RunningGatehouse } from '../src/server/serve.js';
import { createLogger } from '../src/log.js';
import { KeyVaultClient, KeyVaultError } from '../src/secrets/index.js';

const TENANT = '7d3c1e52-0b7a-4c55-8f7e-3f0d6c1a9b21';
const KV_APP = 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093';
const READER = '2b0f6a8e-5d1c-4e3b-9a7f-1c2d3e4f5a6b';
const OUTSIDER = '3c1a7b9f-6e2d-4f4c-8b8a-2d3e4f5a6b7c';
const READER_SECRET = 'reader-secret-value-3141592653';
const OUTSIDER_SECRET = 'outsider-secret-value-2718281828';

// The consumer gateway's own identity (the client secret comes from Key Vault).
const APP_TENANT = '8e4d2f63-1c8b-4d66-9a8f-4a1e7d2b0c32';
const API_APP = '4d2b8c0a-7f3e-4a5d-9c9b-3e4f5a6b7c8d';
const CALLER_APP = '5e3c9d1b-8a4f-4b6e-8d0c-4f5a6b7c8d9e';
const CALLER_SECRET = 'caller-client-secret-from-kv-161803';

const sha = (pw: string): string => createHash('sha1').update(pw, 'utf8').digest('base64');
const line = (user: string, pw: string): string => `${user}:{SHA}${sha(pw)}`;
const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

const IDP_YAML = `apiVersion: gatehouse.dev/v1alpha1
kind: Tenant
metadata: { name: corp }
spec: { tenantId: ${TENANT}, domain: corp.example }
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: azure-key-vault }
spec:
  tenant: corp
  appId: ${KV_APP}
  identifierUris: ["https://vault.azure.net"]
  accessTokenAcceptedVersion: 1 # v1 tokens (aud https://vault.azure.net, iss {base}/{tenant}/), as Key Vault gets from Entra ID
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: kv-reader }
spec:
  tenant: corp
  appId: ${READER}
  passwordCredentials: [{ secretFrom: { env: KV_READER_SECRET } }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: kv-outsider }
spec:
  tenant: corp
  appId: ${OUTSIDER}
  passwordCredentials: [{ secretFrom: { env: KV_OUTSIDER_SECRET } }]
`;

const CONSUMER_YAML = `apiVersion: spv.no/v2beta1
kind: AzureKeyVaultSecret
metadata: { name: web-users, namespace: default }
spec:
  vault:
    name: gatehouse-kv
    object: { name: web-users, type: secret }
  output:
    secret: { name: web-users, dataKey: users }
    transform: [trim]
---
apiVersion: spv.no/v1
kind: AzureKeyVaultSecret
metadata: { name: app-creds }
spec:
  vault:
    name: gatehouse-kv
    object: { name: app-creds, type: multi-key-value-secret, contentType: application/x-json }
  output:
    secret: { name: app-creds }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: web-auth, namespace: default }
spec:
  basicAuth: { secret: web-users }
---
apiVersion: gatehouse.dev/v1alpha1
kind: Tenant
metadata: { name: apps }
spec: { tenantId: ${APP_TENANT} }
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: api }
spec:
  tenant: apps
  appId: ${API_APP}
  identifierUris: ["api://${API_APP}"]
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: caller }
spec:
  tenant: apps
  appId: ${CALLER_APP}
  passwordCredentials:
    - secretFrom: { secret: { name: app-creds, key: client-secret } }
`;

let idp: TestGateway;
let kv: KeyVaultStandIn;
let backend: Server;
let root: string;
let logFile: string;
let consumer: RunningGatehouse | null = null;
let web = '';
let admin = '';
const bodies: string[] = [];

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await request(url, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, text };
}

async function api(path: string): Promise<string> {
  const r = await get(`${admin}${path}`);
  bodies.push(`${path}\n${r.text}`);
  return r.text;
}

async function tokenFor(
  base: string,
  tenant: string,
  clientId: string,
  secret: string,
  scope: string,
): Promise<{ status: number; token: string }> {
  const r = await request(`${base}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }).toString(),
  });
  const body = (await r.body.json()) as { access_token?: string };
  return { status: r.statusCode, token: body.access_token ?? '' };
}

before(async () => {
  process.env.KV_READER_SECRET = READER_SECRET;
  process.env.KV_OUTSIDER_SECRET = OUTSIDER_SECRET;
  idp = await startGateway({ files: { 'identity.yaml': IDP_YAML }, flags: ['--identity.insecure'] });
  kv = await startKeyVaultStandIn({
    discoveryUrl: `${idp.admin}/${TENANT}/.well-known/openid-configuration`,
    tenantId: TENANT,
    allowedClients: [READER],
  });
  kv.setSecret('gatehouse-kv', 'web-users', `${line('alice', 'pw-one')}\n`);
  kv.setSecret('gatehouse-kv', 'app-creds', JSON.stringify({ 'client-secret': CALLER_SECRET }), 'application/json');
  backend = createServer((_req, res) => res.end('backend'));
  const port = await listenLoopback(backend);

  root = mkdtempSync(join(tmpdir(), 'gatehouse-kv-'));
  const conf = join(root, 'conf');
  mkdirSync(conf);
  const put = (name: string, text: string): void => {
    writeFileSync(join(root, `.${name}`), text);
    renameSync(join(root, `.${name}`), join(conf, name));
  };
  put('akv.yaml', CONSUMER_YAML);
  put(
    'routes.yaml',
    `http:\n  routers:\n    kv:\n      entryPoints: [web]\n      rule: PathPrefix(\`/kv\`)\n      middlewares: [default-web-auth@kubernetescrd]\n      service: backend\n  services:\n    backend:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${port}" }]\n`,
  );
  writeFileSync(join(root, 'client-secret'), `${READER_SECRET}\n`);
  logFile = join(root, 'gatehouse.log');
  const argv = [
    '--entrypoints.web.address=127.0.0.1:0',
    '--entrypoints.traefik.address=127.0.0.1:0',
    `--providers.file.directory=${conf}`,
    '--providers.providersThrottleDuration=0s',
    '--api.insecure',
    '--identity.insecure',
    '--workers=1',
    `--datadir=${join(root, 'data')}`,
    `--secrets.azurekeyvault.tenantid=${TENANT}`,
    `--secrets.azurekeyvault.clientid=${READER}`,
    `--secrets.azurekeyvault.clientsecretfile=${join(root, 'client-secret')}`,
    `--secrets.azurekeyvault.authorityhost=${idp.admin}`,
    `--secrets.azurekeyvault.vaulturltemplate=${kv.template}`,
    '--secrets.refreshinterval=1s',
  ];
  const o = serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root);
  consumer = await serve(o, { log: createLogger('debug', logFile) });
  web = `http://127.0.0.1:${consumer.addresses.web!.port}`;
  admin = `http://127.0.0.1:${consumer.addresses.traefik!.port}`;
});

after(async () => {
  await consumer?.close();
  await kv?.close();
  await idp?.close();
  backend?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

test('the stand-in answers as Key Vault: 401 challenge, 403 without access, 404 SecretNotFound; only tokens of the identity provider', async () => {
  const url = `${kv.base}/gatehouse-kv/secrets/web-users/?api-version=7.4`;
  const none = await request(url);
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer authorization="[^"]+", resource="https:\/\/vault\.azure\.net"$/);
  assert.equal(((await none.body.json()) as { error: { code: string } }).error.code, 'Unauthorized');

  const forged = await request(url, { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJhcHBpZCI6IngifQ.' } });
  assert.equal(forged.statusCode, 401);
  await forged.body.dump();

  // A real token of the identity provider, but for another audience: refused.
  const wrongAud = await tokenFor(idp.admin, TENANT, READER, READER_SECRET, `${KV_APP}/.default`);
  assert.equal(wrongAud.status, 200);
  const r1 = await request(url, { headers: { authorization: `Bearer ${wrongAud.token}` } });
  assert.equal(r1.statusCode, 401, 'a token whose audience is not https://vault.azure.net is refused');
  await r1.body.dump();

  const outsider = await tokenFor(idp.admin, TENANT, OUTSIDER, OUTSIDER_SECRET, 'https://vault.azure.net/.default');
  assert.equal(outsider.status, 200);
  const r2 = await request(url, { headers: { authorization: `Bearer ${outsider.token}` } });
  assert.equal(r2.statusCode, 403);
  const e2 = (await r2.body.json()) as { error: { code: string; innererror: { code: string } } };
  assert.equal(e2.error.code, 'Forbidden');
  assert.equal(e2.error.innererror.code, 'ForbiddenByPolicy');

  const reader = await tokenFor(idp.admin, TENANT, READER, READER_SECRET, 'https://vault.azure.net/.default');
  const r3 = await request(`${kv.base}/gatehouse-kv/secrets/nope/?api-version=7.4`, {
    headers: { authorization: `Bearer ${reader.token}` },
  });
  assert.equal(r3.statusCode, 404);
  assert.equal(((await r3.body.json()) as { error: { code: string } }).error.code, 'SecretNotFound');

  // Gatehouse's client over the same protocol: the value and its version; typed errors.
  const secretFile = join(root, 'client-secret');
  const client = new KeyVaultClient({
    tenantId: TENANT,
    clientId: READER,
    clientSecretFile: secretFile,
    authorityHost: idp.admin,
    vaultUrlTemplate: kv.template,
  });
  const got = await client.getSecret('gatehouse-kv', 'web-users');
  assert.equal(got.value.trim(), line('alice', 'pw-one'));
  assert.match(got.version, /^[0-9a-f]{32}$/);
  await assert.rejects(
    client.getSecret('gatehouse-kv', 'missing'),
    (e: unknown) => e instanceof KeyVaultError && e.code === 'not-found' && /SecretNotFound/.test(e.message),
  );
  const outsiderFile = join(root, 'outsider-secret');
  writeFileSync(outsiderFile, OUTSIDER_SECRET);
  const other = new KeyVaultClient({
    tenantId: TENANT,
    clientId: OUTSIDER,
    clientSecretFile: outsiderFile,
    authorityHost: idp.admin,
    vaultUrlTemplate: kv.template,
  });
  await assert.rejects(other.getSecret('gatehouse-kv', 'web-users'), (e: unknown) => e instanceof KeyVaultError && e.code === 'forbidden');
  writeFileSync(outsiderFile, 'not-the-secret-at-all');
  const wrong = new KeyVaultClient({
    tenantId: TENANT,
    clientId: OUTSIDER,
    clientSecretFile: outsiderFile,
    authorityHost: idp.admin,
    vaultUrlTemplate: kv.template,
  });
  await assert.rejects(
    wrong.getSecret('gatehouse-kv', 'web-users'),
    (e: unknown) => e instanceof KeyVaultError && e.code === 'token' && /invalid_client/.test(e.message),
  );
});

test('basicAuth users and an Application client secret from Key Vault; rotation without restart; vault down keeps the last value', async () => {
  assert.ok(
    await eventually(async () => (await get(`${web}/kv/x`, { authorization: basic('alice', 'pw-one') })).status === 200, 10_000),
    'basicAuth with the users from Key Vault',
  );
  assert.equal((await get(`${web}/kv/x`, { authorization: basic('alice', 'wrong') })).status, 401);
  assert.equal((await get(`${web}/kv/x`)).status, 401);

  // The client secret of an Application from a multi-key-value-secret (application/x-json).
  const t = await tokenFor(admin, APP_TENANT, CALLER_APP, CALLER_SECRET, `api://${API_APP}/.default`);
  assert.equal(t.status, 200, 'token with the client secret read from Key Vault');
  assert.equal((await tokenFor(admin, APP_TENANT, CALLER_APP, 'not-the-secret-value-000000', `api://${API_APP}/.default`)).status, 401);

  const before = JSON.parse(await api('/api/secrets')) as Array<Record<string, string>>;
  const users = before.find((s) => s.object === 'web-users');
  assert.ok(users !== undefined, 'GET /api/secrets lists web-users');
  assert.equal(users.source, 'azurekeyvault');
  assert.equal(users.vault, 'gatehouse-kv');
  assert.equal(users.state, 'ok');
  assert.match(users.version, /^[0-9a-f]{32}$/);
  assert.match(users.fingerprint, /^hmac-sha256:[0-9a-f]{16}$/);
  assert.ok(users.lastRefresh !== '');

  // Rotation: a new version in the vault; the next refresh brings it, the old password stops working.
  const v2 = kv.setSecret('gatehouse-kv', 'web-users', line('alice', 'pw-two'));
  assert.ok(
    await eventually(async () => (await get(`${web}/kv/x`, { authorization: basic('alice', 'pw-two') })).status === 200, 10_000),
    'the rotated password works without a restart',
  );
  assert.equal((await get(`${web}/kv/x`, { authorization: basic('alice', 'pw-one') })).status, 401, 'the old password fails');
  const rotated = (JSON.parse(await api('/api/secrets')) as Array<Record<string, string>>).find((s) => s.object === 'web-users')!;
  assert.equal(rotated.version, v2);
  assert.notEqual(rotated.fingerprint, users.fingerprint);

  // The vault goes down: the last value keeps serving, the error is reported.
  kv.setDown(true);
  assert.ok(
    await eventually(async () => {
      const s = (JSON.parse(await api('/api/secrets')) as Array<Record<string, string>>).find((x) => x.object === 'web-users');
      return s?.state === 'stale' && /unreachable/.test(s.error ?? '');
    }, 10_000),
    'GET /api/secrets reports the refresh error',
  );
  assert.equal((await get(`${web}/kv/x`, { authorization: basic('alice', 'pw-two') })).status, 200, 'last value kept');
  const providers = await api('/api/providers');
  assert.match(providers, /azurekeyvault/);
  kv.setDown(false);
  assert.ok(
    await eventually(async () => {
      const s = (JSON.parse(await api('/api/secrets')) as Array<Record<string, string>>).find((x) => x.object === 'web-users');
      return s?.state === 'ok';
    }, 10_000),
    'readable again',
  );
});

test('no value in any log line or API answer', async () => {
  for (const p of [
    '/api/rawdata',
    '/api/http/middlewares',
    '/api/http/middlewares/default-web-auth@kubernetescrd',
    '/api/overview',
    '/api/secrets',
    '/api/providers',
  ]) {
    await api(p);
  }
  const mw = JSON.parse(await api('/api/http/middlewares/default-web-auth@kubernetescrd')) as { basicAuth: { users: string[] } };
  assert.deepEqual(mw.basicAuth.users, ['alice:[redacted]'], 'users shown with the hash redacted');
  await consumer?.close();
  consumer = null;
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /configuration compiled/, 'the log was captured');
  assert.match(log, /Key Vault secret web-users of vault gatehouse-kv changed/, 'the rotation is logged');
  assert.match(log, /refresh failed .*keeps serving/, 'the outage is logged with the last value kept');
  const values = [
    'pw-one',
    'pw-two',
    sha('pw-one'),
    sha('pw-two'),
    line('alice', 'pw-one'),
    line('alice', 'pw-two'),
    CALLER_SECRET,
    READER_SECRET,
    JSON.stringify({ 'client-secret': CALLER_SECRET }),
  ];
  for (const v of values) {
    assert.ok(!log.includes(v), `log holds a secret value (${v.slice(0, 3)}…)`);
    for (const b of bodies) assert.ok(!b.includes(v), `API answer ${b.split('\n')[0]} holds a secret value (${v.slice(0, 3)}…)`);
  }
});
