/**
 * MISSION points 5 and 6 end to end through the real gateway: the seed's
 * client-credentials request against the built-in issuer, a route protected by
 * validateJwt (openid-config, audience, roles any-of invokeRole, 401), `azp`
 * reaching the backend as header `client`, Authorization removed.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import {
  IDENTITY_YAML,
  protectedCalcYaml,
  TENANT_ID,
  API_APP_ID,
  CLIENT_APP_ID,
  OTHER_APP_ID,
  SCOPE,
} from '../src/demo/identity-scenario.js';

let gw: TestGateway;
let up: Server;
let seen: IncomingHttpHeaders = {};
const SECRET = 'test-secret-value-1234567890';
const OTHER = 'other-secret-value-0987654321';

before(async () => {
  process.env.CALC_CLIENT_SECRET = SECRET;
  process.env.CALC_OTHER_SECRET = OTHER;
  up = createServer((req, res) => {
    seen = req.headers;
    const m = /^\/add\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(req.url ?? '');
    res.end(m !== null ? String(Number(m[1]) + Number(m[2])) : `bad ${req.url}`);
  });
  const port = await listenLoopback(up);
  gw = await startGateway({ files: { 'identity.yaml': IDENTITY_YAML }, flags: ['--identity.insecure'] });
  gw.write(
    'calc.yaml',
    protectedCalcYaml(gw.admin, 'add') +
      `  services:\n    add:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${port}" }]\n`,
  );
  assert.ok(
    await eventually(async () => {
      const r = await request(`${gw.url}/secure/add/1/1`);
      await r.body.dump();
      return r.statusCode === 401;
    }, 4000),
    'protected route is up',
  );
});

after(async () => {
  await gw.close();
  up.close();
});

async function token(clientId: string, secret: string, scope = SCOPE): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await request(`${gw.admin}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }).toString(),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

test('token endpoint: the seed request returns an Azure AD shaped token with aud, azp and roles', async () => {
  const t = await token(CLIENT_APP_ID, SECRET);
  assert.equal(t.status, 200);
  assert.equal(t.body.token_type, 'Bearer');
  assert.equal(typeof t.body.expires_in, 'number');
  assert.equal(t.body.expires_in, t.body.ext_expires_in);
  const jwt = String(t.body.access_token);
  const h = decodeProtectedHeader(jwt);
  assert.equal(h.alg, 'RS256');
  assert.ok(typeof h.kid === 'string');
  const c = decodeJwt(jwt);
  assert.equal(c.aud, API_APP_ID);
  assert.equal(c.azp, CLIENT_APP_ID);
  assert.deepEqual(c.roles, ['invokeRole']);
  assert.equal(c.tid, TENANT_ID);
  assert.equal(c.ver, '2.0');
});

test('a client without the grant gets a token without roles', async () => {
  const t = await token(OTHER_APP_ID, OTHER);
  assert.equal(t.status, 200);
  assert.equal(decodeJwt(String(t.body.access_token)).roles, undefined);
});

test('bad secret → AADSTS7000215 (401), unknown client → AADSTS700016', async () => {
  const bad = await token(CLIENT_APP_ID, 'wrong');
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error, 'invalid_client');
  assert.match(String(bad.body.error_description), /^AADSTS7000215/);
  const unknown = await token('11111111-2222-3333-4444-555555555555', 'x');
  assert.match(String(unknown.body.error_description), /^AADSTS700016/);
});

test('protected route: 401 without a token, with APIM body and WWW-Authenticate', async () => {
  const r = await request(`${gw.url}/secure/add/10/10`);
  assert.equal(r.statusCode, 401);
  assert.match(String(r.headers['www-authenticate']), /^Bearer error="invalid_token"/);
  assert.deepEqual(await r.body.json(), { statusCode: 401, message: 'JWT not present.' });
});

test('protected route: 20 with a granted token; backend sees client header and no Authorization', async () => {
  const t = await token(CLIENT_APP_ID, SECRET);
  const r = await request(`${gw.url}/secure/add/10/10`, { headers: { authorization: `Bearer ${String(t.body.access_token)}` } });
  assert.equal(r.statusCode, 200);
  assert.equal(await r.body.text(), '20');
  assert.equal(seen.client, CLIENT_APP_ID);
  assert.equal(seen.authorization, undefined);
});

test('protected route: a token without the invokeRole role → 401 with the claim message', async () => {
  const t = await token(OTHER_APP_ID, OTHER);
  const r = await request(`${gw.url}/secure/add/10/10`, { headers: { authorization: `Bearer ${String(t.body.access_token)}` } });
  assert.equal(r.statusCode, 401);
  const body = (await r.body.json()) as { statusCode: number; message: string };
  assert.equal(body.statusCode, 401);
  assert.match(body.message, /roles/);
  assert.ok(!JSON.stringify(body).includes(String(t.body.access_token)), 'the token is never echoed');
});
