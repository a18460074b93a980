import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt, generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { compileIdentity, IdentityProvider, hashSecret, type IdentityConfig } from './index.js';
import type { Resource } from '../config/model.js';
import { silentLogger } from '../log.js';
import { serveHandler, echoHandler, testDeps, type Echo, type Running } from '../../test/support/handler-server.js';
import { middleware as validateJwt } from '../middlewares/validate-jwt/index.js';

const TID = '625422dd-8ffb-45a9-9232-4132babb1324';
const API = '06b2a484-141c-42d3-9d73-32bec5910b06';
const CLIENT = 'f1f695cb-2d00-4c0f-84a5-437282f3f3fd';
const NOGRANT = '2b7c3d9e-0000-4c0f-84a5-437282f3f3fd';
const CERTAPP = '3c8d4e0f-0000-4c0f-84a5-437282f3f3fd';
const V1API = '4d9e5f10-0000-4c0f-84a5-437282f3f3fd';
const SECRET = 'calc-client-secret-0123456789';
const dirs: string[] = [];
const servers: Running[] = [];
const closers: Array<() => unknown> = [];
after(async () => {
  for (const c of closers) await c();
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const src = (line: number) => ({ file: 'identity.yaml', line });
const certKeys = await generateKeyPair('RS256', { extractable: true });
const resources: Resource[] = [
  { kind: 'Tenant', name: 'contoso', spec: { tenantId: TID, domain: 'contoso.example' }, source: src(1) },
  {
    kind: 'Application',
    name: 'calc-api',
    source: src(8),
    spec: {
      tenant: 'contoso',
      appId: API,
      identifierUris: [`api://${API}`],
      accessTokenAcceptedVersion: 2,
      appRoles: [{ value: 'invokeRole', id: '3b1c5d62-4f5e-4c1a-9a55-6f1f2e0c9d11', allowedMemberTypes: ['Application'], isEnabled: true }],
    },
  },
  {
    kind: 'Application',
    name: 'calc-client',
    source: src(20),
    spec: {
      tenant: 'contoso',
      appId: CLIENT,
      passwordCredentials: [{ secretFrom: { env: 'CALC_CLIENT_SECRET' } }],
      grants: [{ resourceAppId: API, roles: ['invokeRole'] }],
    },
  },
  {
    kind: 'Application',
    name: 'other-client',
    source: src(30),
    spec: {
      tenant: TID,
      appId: NOGRANT,
      passwordCredentials: [{ secretHash: await hashSecret('other-secret-abcdefgh', { ln: 10, r: 8, p: 1 }) }],
    },
  },
  {
    kind: 'Application',
    name: 'cert-client',
    source: src(40),
    spec: {
      tenant: 'contoso.example',
      appId: CERTAPP,
      keyCredentials: [{ pem: await exportSPKI(certKeys.publicKey), kid: 'cert-1' }],
      grants: [{ resourceAppId: API, roles: ['invokeRole'] }],
    },
  },
  {
    kind: 'Application',
    name: 'v1-api',
    source: src(50),
    spec: { tenant: 'contoso', appId: V1API, identifierUris: ['https://v1.contoso.example'], accessTokenAcceptedVersion: 1 },
  },
];
const env = { CALC_CLIENT_SECRET: SECRET };

function compile(): IdentityConfig {
  const { config, issues } = compileIdentity(resources, env);
  assert.deepEqual(
    issues.filter((i) => i.severity !== 'warning'),
    [],
  );
  return config;
}

async function start(
  dataDir?: string,
  extra: Partial<ConstructorParameters<typeof IdentityProvider>[0]> = {},
): Promise<{ idp: IdentityProvider; url: string; dir: string }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'gh-idp-'));
  if (dataDir === undefined) dirs.push(dir);
  const idp = new IdentityProvider({ dataDir: dir, log: silentLogger, ...extra });
  await idp.init();
  idp.update(compile());
  const r = await serveHandler(idp.handler);
  servers.push(r);
  closers.push(() => idp.close());
  return { idp, url: r.url, dir };
}

async function token(
  url: string,
  form: Record<string, string>,
  tenant = TID,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}
const cc = (extra: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_id: CLIENT,
  client_secret: SECRET,
  scope: `api://${API}/.default`,
  ...extra,
});

const main = await start();

test('compileIdentity reports problems with file, line, object and field', () => {
  const { config, issues } = compileIdentity(
    [
      ...resources.slice(0, 2),
      { kind: 'Application', name: 'bad', source: src(60), spec: { tenant: 'nowhere', appId: 'not-a-guid' } },
      {
        kind: 'Application',
        name: 'lost',
        source: src(70),
        spec: { tenant: 'contoso', appId: '5e0f6a21-0000-4c0f-84a5-437282f3f3fd', passwordCredentials: [{ secretFrom: { env: 'NOPE' } }] },
      },
    ],
    {},
  );
  const bad = issues.find((i) => i.object === 'Application bad');
  assert.equal(bad?.file, 'identity.yaml');
  assert.equal(bad?.line, 60);
  assert.equal(bad?.field, 'spec.appId');
  const lost = issues.find((i) => i.object === 'Application lost');
  assert.equal(lost?.field, 'spec.passwordCredentials.0.secretFrom.env');
  assert.match(lost?.message ?? '', /NOPE is not set/);
  assert.ok(config.tenants.get(TID)?.apps.has('5e0f6a21-0000-4c0f-84a5-437282f3f3fd'), 'the app stays, without that credential');
});

test('token: success shape and v2 claims; roles only when granted', async () => {
  const r = await token(main.url, cc());
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body), ['token_type', 'expires_in', 'ext_expires_in', 'access_token']);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 3599);
  assert.equal(r.headers.get('cache-control'), 'no-store, no-cache');
  const t = r.body.access_token as string;
  const h = decodeProtectedHeader(t);
  assert.equal(h.alg, 'RS256');
  assert.equal(h.typ, 'JWT');
  assert.equal(h.kid, main.idp.keyIds().active);
  const c = decodeJwt(t);
  assert.equal(c.aud, API);
  assert.equal(c.iss, `${main.url}/${TID}/v2.0`);
  assert.equal(c.azp, CLIENT);
  assert.equal(c.azpacr, '1');
  assert.equal(c.tid, TID);
  assert.equal(c.ver, '2.0');
  assert.deepEqual(c.roles, ['invokeRole']);
  assert.equal(c.sub, c.oid);
  assert.equal(typeof c.uti, 'string');
  assert.equal((c.exp as number) - (c.iat as number), 3600);
  const other = await token(main.url, cc({ client_id: NOGRANT, client_secret: 'other-secret-abcdefgh' }));
  assert.equal(other.status, 200);
  assert.equal(decodeJwt(other.body.access_token as string).roles, undefined);
});

test('token: HTTP Basic client authentication, tenant by domain, scope by appId', async () => {
  const basic = Buffer.from(`${CLIENT}:${SECRET}`).toString('base64');
  const r = await token(main.url, { grant_type: 'client_credentials', scope: `${API}/.default` }, 'contoso.example', {
    authorization: `Basic ${basic}`,
  });
  assert.equal(r.status, 200);
});

test('token errors: AADSTS codes, statuses and Azure AD error shape', async () => {
  const cases: Array<[Record<string, string>, string, number, string, number]> = [
    [cc({ client_id: '9a9a9a9a-0000-4c0f-84a5-437282f3f3fd' }), TID, 400, 'unauthorized_client', 700016],
    [cc({ client_secret: 'wrong-secret-xyz' }), TID, 401, 'invalid_client', 7000215],
    [cc({ scope: `api://${API}/read` }), TID, 400, 'invalid_scope', 70011],
    [cc({ grant_type: 'password' }), TID, 400, 'unsupported_grant_type', 70003],
    [cc({ scope: 'api://nothing-here/.default' }), TID, 400, 'invalid_resource', 500011],
    [{ client_id: CLIENT, client_secret: SECRET, scope: `api://${API}/.default` }, TID, 400, 'invalid_request', 900144],
    [cc({ scope: '' }), TID, 400, 'invalid_request', 900144],
    [cc(), '00000000-0000-0000-0000-000000000000', 400, 'invalid_request', 90002],
  ];
  for (const [form, tenant, status, error, code] of cases) {
    const r = await token(main.url, form, tenant, { 'client-request-id': '11111111-2222-4333-8444-555555555555' });
    assert.equal(r.status, status, `${code}`);
    assert.equal(r.body.error, error, `${code}`);
    assert.deepEqual(r.body.error_codes, [code]);
    assert.match(
      String(r.body.error_description),
      new RegExp(
        `^AADSTS${code}: .* Trace ID: [0-9a-f-]{36} Correlation ID: 11111111-2222-4333-8444-555555555555 Timestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
      ),
    );
    assert.match(String(r.body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.equal(r.body.correlation_id, '11111111-2222-4333-8444-555555555555');
    assert.equal(typeof r.body.trace_id, 'string');
    assert.ok(!JSON.stringify(r.body).includes(SECRET));
    // error_uri is optional (RFC 6749 §5.2): present only if it leads to a page that exists.
    if (r.body.error_uri !== undefined) assert.equal((await fetch(String(r.body.error_uri))).status, 200, String(r.body.error_uri));
  }
});

test('discovery advertises only what is implemented: every endpoint answers, no response type without an authorize endpoint', async () => {
  for (const path of [`${TID}/v2.0/.well-known/openid-configuration`, `${TID}/.well-known/openid-configuration`]) {
    const disco = (await (await fetch(`${main.url}/${path}`)).json()) as Record<string, unknown>;
    for (const [k, v] of Object.entries(disco)) {
      if (!/_(endpoint|uri)$/.test(k) || typeof v !== 'string') continue;
      const r = k === 'token_endpoint' ? await fetch(v, { method: 'POST' }) : await fetch(v);
      assert.notEqual(r.status, 404, `${path}: ${k} ${v} answers 404`);
      await r.body?.cancel();
    }
    const types = disco.response_types_supported as string[];
    assert.ok(Array.isArray(types), 'response_types_supported is required (RFC 8414)');
    if (disco.authorization_endpoint === undefined) {
      assert.deepEqual(types, [], `${path}: response types without an authorization endpoint`);
      assert.equal(disco.response_modes_supported, undefined);
    }
    assert.deepEqual(disco.grant_types_supported, ['client_credentials']);
    assert.equal(disco.http_logout_supported, undefined);
    assert.equal(disco.frontchannel_logout_supported, undefined);
  }
});

test('failed authentication is rate limited per client and source', async () => {
  const { url } = await start(undefined, { maxFailures: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await token(url, cc({ client_secret: `bad-${i}` }))).status, 401);
  const locked = await token(url, cc());
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // Another client from the same source is not affected.
  assert.equal((await token(url, cc({ client_id: NOGRANT, client_secret: 'other-secret-abcdefgh' }))).status, 200);
});

test('client_assertion (private_key_jwt) authenticates with azpacr 2; replay refused', async () => {
  const aud = `${main.url}/${TID}/oauth2/v2.0/token`;
  const assertion = await new SignJWT({ jti: 'a-1' })
    .setProtectedHeader({ alg: 'RS256', kid: 'cert-1' })
    .setIssuer(CERTAPP)
    .setSubject(CERTAPP)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(certKeys.privateKey);
  const form = {
    grant_type: 'client_credentials',
    client_id: CERTAPP,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    scope: `api://${API}/.default`,
  };
  const r = await token(main.url, form);
  assert.equal(r.status, 200);
  assert.equal(decodeJwt(r.body.access_token as string).azpacr, '2');
  const again = await token(main.url, form);
  assert.equal(again.status, 401);
  assert.deepEqual(again.body.error_codes, [700027]);
});

test('v1 tokens when the API app asks for them', async () => {
  const r = await token(main.url, cc({ scope: 'https://v1.contoso.example/.default' }));
  const c = decodeJwt(r.body.access_token as string);
  assert.equal(c.ver, '1.0');
  assert.equal(c.aud, 'https://v1.contoso.example');
  assert.equal(c.appid, CLIENT);
  assert.equal(c.iss, `${main.url}/${TID}/`);
});

test('discovery and keys in Azure AD shapes; jose verifies our tokens from the discovery document alone', async () => {
  const disco = (await (await fetch(`${main.url}/contoso.example/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
  assert.equal(disco.issuer, `${main.url}/${TID}/v2.0`);
  assert.equal(disco.token_endpoint, `${main.url}/${TID}/oauth2/v2.0/token`);
  assert.equal(disco.jwks_uri, `${main.url}/${TID}/discovery/v2.0/keys`);
  const keys = (await (await fetch(disco.jwks_uri)).json()) as { keys: Array<Record<string, string>> };
  assert.equal(keys.keys[0]?.kty, 'RSA');
  assert.equal(keys.keys[0]?.use, 'sig');
  assert.equal(keys.keys[0]?.issuer, disco.issuer);
  assert.equal(keys.keys[0]?.d, undefined, 'no private member');
  const t = (await token(main.url, cc())).body.access_token as string;
  const { payload } = await jwtVerify(t, createRemoteJWKSet(new URL(disco.jwks_uri)), {
    issuer: disco.issuer,
    audience: API,
    algorithms: ['RS256'],
  });
  assert.equal(payload.azp, CLIENT);
  const v1 = (await (await fetch(`${main.url}/${TID}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  assert.equal(v1.issuer, `${main.url}/${TID}/`);
  assert.equal((await fetch(`${main.url}/${TID}/nothing`)).status, 404);
});

test('signing keys persist across restarts (0600) and rotate with the old key still published', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-idp-keys-'));
  dirs.push(dir);
  let clock = Date.now();
  const a = await start(dir, { now: () => clock });
  const first = a.idp.keyIds().active;
  const file = join(dir, 'identity', 'signing-keys.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!readFileSync(file, 'utf8').includes(SECRET));
  assert.equal(decodeProtectedHeader((await token(a.url, cc())).body.access_token as string).kid, first);
  const b = await start(dir, { now: () => clock });
  assert.equal(b.idp.keyIds().active, first, 'same key after a restart');
  const old = (await token(b.url, cc())).body.access_token as string;
  assert.equal(decodeProtectedHeader(old).kid, first);
  await b.idp.rotate();
  const ids = b.idp.keyIds();
  assert.notEqual(ids.active, first);
  assert.deepEqual(new Set(ids.published), new Set([first, ids.active]));
  const disco = `${b.url}/${TID}/v2.0/.well-known/openid-configuration`;
  const u = await protect(disco);
  assert.equal((await fetch(u, { headers: { authorization: `Bearer ${old}` } })).status, 200, 'token from the old key still verifies');
  assert.equal(
    (await fetch(u, { headers: { authorization: `Bearer ${(await token(b.url, cc())).body.access_token as string}` } })).status,
    200,
    'new key picked up',
  );
  // A restart after the rotation interval rotates; once tokens of the old key have expired it is no longer published.
  clock += 2 * 86_400_000;
  const c = await start(dir, { now: () => clock, rotationIntervalMs: 86_400_000 });
  assert.ok(!c.idp.keyIds().published.includes(first as string));
  assert.notEqual(c.idp.keyIds().active, ids.active);
});

async function protect(openid: string): Promise<string> {
  const mw = validateJwt.create(
    {
      headerName: 'Authorization',
      failedValidationHttpCode: 401,
      requireExpirationTime: true,
      requireSignedTokens: true,
      clockSkew: '0s',
      openidConfig: [{ url: openid }],
      audiences: [API],
      requiredClaims: [{ name: 'roles', match: 'any', values: ['invokeRole'] }],
      claimsToHeaders: { client: 'azp' },
      forwardToken: false,
    },
    testDeps({ onClose: (fn) => closers.push(fn) }),
  );
  const r = await serveHandler(mw(echoHandler));
  servers.push(r);
  return `${r.url}/add/10/10`;
}

test('seed flow: granted client → 200 with client header, no Authorization; ungranted → 401', async () => {
  const u = await protect(`${main.url}/${TID}/v2.0/.well-known/openid-configuration`);
  const granted = (await token(main.url, cc())).body.access_token as string;
  let res = await fetch(u, { headers: { authorization: `Bearer ${granted}` } });
  assert.equal(res.status, 200);
  const echo = (await res.json()) as Echo;
  assert.equal(echo.headers.client, CLIENT);
  assert.equal(echo.headers.authorization, undefined);
  const ungranted = (await token(main.url, cc({ client_id: NOGRANT, client_secret: 'other-secret-abcdefgh' }))).body.access_token as string;
  res = await fetch(u, { headers: { authorization: `Bearer ${ungranted}` } });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { statusCode: 401, message: 'JWT token is missing the following claims: roles' });
  res = await fetch(u);
  assert.equal(res.status, 401);
});
