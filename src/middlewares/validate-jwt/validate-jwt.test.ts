import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, SignJWT, type JWTPayload, type CryptoKey } from 'jose';
import { createPublicKey, createHmac, randomBytes } from 'node:crypto';
import { middleware } from './index.js';
import type { ValidateJwtOptions } from './schema.js';
import { serveHandler, echoHandler, testDeps, type Echo, type Running } from '../../../test/support/handler-server.js';

const closers: Array<() => void | Promise<void>> = [];
const servers: Running[] = [];
after(async () => {
  for (const s of servers) await s.close();
  for (const c of closers) await c();
});

const rsa = await generateKeyPair('RS256', { modulusLength: 2048 });
const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1' };
const AUD = '06b2a484-141c-42d3-9d73-32bec5910b06';
const CLIENT = 'f1f695cb-2d00-4c0f-84a5-437282f3f3fd';
const now = (): number => Math.floor(Date.now() / 1000);

async function sign(
  claims: JWTPayload,
  opts: { key?: CryptoKey; alg?: string; kid?: string; header?: Record<string, unknown> } = {},
): Promise<string> {
  const j = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'rsa-1', typ: 'JWT', ...opts.header });
  return j.sign(opts.key ?? rsa.privateKey);
}
function good(extra: JWTPayload = {}): JWTPayload {
  return { aud: AUD, azp: CLIENT, roles: ['invokeRole'], iat: now(), nbf: now(), exp: now() + 600, ...extra };
}

async function serve(opts: ValidateJwtOptions): Promise<string> {
  const mw = middleware.create(opts, testDeps({ onClose: (fn) => closers.push(fn) }));
  const r = await serveHandler(mw(echoHandler));
  servers.push(r);
  return r.url;
}

async function call(
  url: string,
  token: string | null,
  path = '/add/10/10',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; www: string | null }> {
  const res = await fetch(url + path, { headers: token === null ? headers : { authorization: `Bearer ${token}`, ...headers } });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, www: res.headers.get('www-authenticate') };
}

const base: ValidateJwtOptions = {
  issuerSigningKeys: [{ jwk: rsaJwk }],
  audiences: [AUD],
  requiredClaims: [{ name: 'roles', match: 'any', values: ['invokeRole'] }],
  claimsToHeaders: { client: 'azp' },
  forwardToken: false,
};
const url = await serve(base);

test('valid token: 200, client header from azp, Authorization removed', async () => {
  const r = await call(url, await sign(good()), '/add/10/10', { client: 'spoofed' });
  assert.equal(r.status, 200);
  const echo = r.body as unknown as Echo;
  assert.equal(echo.headers.client, CLIENT);
  assert.equal(echo.headers.authorization, undefined);
});

test('missing token: JWT not present. with RFC 6750 header', async () => {
  const r = await call(url, null);
  assert.equal(r.status, 401);
  assert.deepEqual(r.body, { statusCode: 401, message: 'JWT not present.' });
  assert.equal(r.www, 'Bearer error="invalid_token", error_description="JWT not present."');
});

test('wrong scheme and malformed tokens: Invalid JWT. (token never echoed)', async () => {
  const t = await sign(good());
  const res = await fetch(url, { headers: { authorization: `Basic ${t}` } });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { statusCode: 401, message: 'Invalid JWT.' });
  for (const bad of ['abc', 'a.b.c', `${t}x!`, '....', t.split('.').slice(0, 2).join('.')]) {
    const r = await call(url, bad);
    assert.equal(r.status, 401, bad);
    assert.ok(!JSON.stringify(r.body).includes(t.slice(20, 60)));
  }
});

test('missing claim and claim value messages', async () => {
  let r = await call(url, await sign(good({ roles: undefined })));
  assert.equal(r.body.message, 'JWT token is missing the following claims: roles');
  r = await call(url, await sign(good({ roles: ['readRole'] })));
  assert.equal(r.body.message, 'Claim roles value of readRole is not allowed.');
});

test('expiry, not-before and clock skew', async () => {
  let r = await call(url, await sign(good({ exp: now() - 5 })));
  assert.equal(r.body.message, 'Lifetime validation failed. The token is expired.');
  r = await call(url, await sign(good({ nbf: now() + 60 })));
  assert.equal(r.body.message, 'Lifetime validation failed. The token is not yet valid.');
  r = await call(url, await sign(good({ exp: undefined })));
  assert.equal(r.body.message, 'Lifetime validation failed. The token is missing an Expiration Time.');
  const skewed = await serve({ ...base, clockSkew: '2m' });
  assert.equal((await call(skewed, await sign(good({ exp: now() - 30 })))).status, 200);
  assert.equal((await call(skewed, await sign(good({ nbf: now() + 30 })))).status, 200);
  assert.equal((await call(skewed, await sign(good({ exp: now() - 300 })))).status, 401);
  const noExp = await serve({ ...base, requireExpirationTime: false });
  assert.equal((await call(noExp, await sign(good({ exp: undefined })))).status, 200);
});

test('audience: string and array, any-of', async () => {
  assert.equal((await call(url, await sign(good({ aud: ['other', AUD] })))).status, 200);
  let r = await call(url, await sign(good({ aud: 'other' })));
  assert.equal(r.body.message, 'Audience validation failed.');
  r = await call(url, await sign(good({ aud: ['x', 'y'] })));
  assert.equal(r.body.message, 'Audience validation failed.');
});

test('issuers with {tenantid} template', async () => {
  const u = await serve({ ...base, issuers: ['https://login.example/{tenantid}/v2.0'] });
  assert.equal((await call(u, await sign(good({ iss: 'https://login.example/t1/v2.0', tid: 't1' })))).status, 200);
  const r = await call(u, await sign(good({ iss: 'https://login.example/t1/v2.0', tid: 't2' })));
  assert.equal(r.body.message, 'Issuer validation failed.');
  assert.equal((await call(u, await sign(good({ iss: 'https://evil/t1/v2.0', tid: 't1' })))).body.message, 'Issuer validation failed.');
});

test('requiredClaims match all, separator, presence only', async () => {
  const u = await serve({
    issuerSigningKeys: [{ jwk: rsaJwk }],
    requiredClaims: [{ name: 'scp', separator: ' ', values: ['read', 'write'] }, { name: 'tid' }],
  });
  assert.equal((await call(u, await sign(good({ scp: 'read write admin', tid: 'x' })))).status, 200);
  assert.equal((await call(u, await sign(good({ scp: 'read', tid: 'x' })))).body.message, 'Claim scp value of read is not allowed.');
  assert.equal((await call(u, await sign(good({ scp: 'read' })))).body.message, 'JWT token is missing the following claims: tid');
});

test('failedValidationHttpCode and failedValidationErrorMessage', async () => {
  const u = await serve({ ...base, failedValidationHttpCode: 403, failedValidationErrorMessage: 'Oops! Something wrong with the JWT!' });
  const r = await call(u, null);
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { statusCode: 403, message: 'Oops! Something wrong with the JWT!' });
});

test('claimsToHeaders: nested path, arrays joined, missing claim removes a client header; caller and claims set', async () => {
  let seen: { caller: string | null; claims: Record<string, unknown> | null } | null = null;
  const mw = middleware.create(
    { issuerSigningKeys: [{ jwk: rsaJwk }], claimsToHeaders: { 'x-roles': 'roles', 'x-tier': 'ext.tier', 'x-missing': 'nope' } },
    testDeps({ onClose: (fn) => closers.push(fn) }),
  );
  const s = await serveHandler(
    mw((ctx) => {
      seen = { caller: ctx.caller, claims: ctx.claims };
      echoHandler(ctx);
    }),
  );
  servers.push(s);
  const r = await call(s.url, await sign(good({ roles: ['a', 'b'], ext: { tier: 'gold' } })), '/', { 'x-missing': 'forged' });
  const echo = r.body as unknown as Echo;
  assert.equal(echo.headers['x-roles'], 'a,b');
  assert.equal(echo.headers['x-tier'], 'gold');
  assert.equal(echo.headers['x-missing'], undefined);
  assert.ok(String(echo.headers.authorization).startsWith('Bearer '), 'token forwarded by default');
  assert.equal(seen!.caller, CLIENT);
  assert.equal(seen!.claims!.azp, CLIENT);
});

test('query parameter and cookie sources; forwardToken false removes them', async () => {
  const q = await serve({ issuerSigningKeys: [{ jwk: rsaJwk }], queryParameterName: 'access_token', forwardToken: false });
  const t = await sign(good());
  let r = await call(q, null, `/x?a=1&access_token=${t}&b=2`);
  assert.equal(r.status, 200);
  assert.equal((r.body as unknown as Echo).url, '/x?a=1&b=2');
  const c = await serve({ issuerSigningKeys: [{ jwk: rsaJwk }], cookieName: 'tok', forwardToken: false });
  r = await call(c, null, '/', { cookie: `a=1; tok=${t}; b=2` });
  assert.equal(r.status, 200);
  assert.equal((r.body as unknown as Echo).headers.cookie, 'a=1; b=2');
  assert.equal((await call(c, null, '/', { cookie: 'a=1' })).body.message, 'JWT not present.');
});

test('option errors name the field', () => {
  const deps = testDeps();
  assert.throws(() => middleware.create({ audiences: [AUD] }, deps), /openidConfig: no signing keys/);
  assert.throws(() => middleware.create({ ...base, queryParameterName: 'q', headerName: 'x' }, deps), /headerName: give exactly one/);
  assert.throws(() => middleware.create({ ...base, algorithms: ['XX1'] }, deps), /algorithms\.0: unsupported algorithm/);
  assert.throws(
    () => middleware.create({ issuerSigningKeys: [{ secret: 'c2hvcnQ=' }] }, deps),
    /issuerSigningKeys\.0: symmetric key of 5 bytes/,
  );
  assert.throws(
    () => middleware.create({ issuerSigningKeys: [{ jwk: rsaJwk, alg: 'HS256' }] }, deps),
    /issuerSigningKeys\.0: algorithm HS256 cannot be used with a RSA key/,
  );
});

test('interop: RS256, PS256, ES256, EdDSA keys generated by jose, by JWK and PEM', async () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
    const kp = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(kp.publicKey)), kid: `k-${alg}` };
    const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string;
    for (const key of [{ jwk }, { pem, kid: `k-${alg}` }]) {
      const u = await serve({ issuerSigningKeys: [key], audiences: [AUD] });
      const t = await sign(good(), { key: kp.privateKey, alg, kid: `k-${alg}` });
      assert.equal((await call(u, t)).status, 200, `${alg} ${Object.keys(key)[0]}`);
      const forged = await sign(good(), { key: rsa.privateKey, alg: 'RS256', kid: `k-${alg}` });
      assert.equal((await call(u, forged)).status, 401);
    }
  }
});

test('symmetric key and RSA n/e forms', async () => {
  const secret = randomBytes(32);
  const u = await serve({ issuerSigningKeys: [{ secret: secret.toString('base64') }, { n: rsaJwk.n as string, e: 'AQAB', kid: 'rsa-1' }] });
  const hs = await new SignJWT(good()).setProtectedHeader({ alg: 'HS256' }).sign(secret);
  assert.equal((await call(u, hs)).status, 200);
  assert.equal((await call(u, await sign(good()))).status, 200);
  // HMAC built by hand with the wrong secret fails.
  const [h, p] = hs.split('.');
  const bad = `${h}.${p}.${createHmac('sha256', randomBytes(32)).update(`${h}.${p}`).digest('base64url')}`;
  assert.equal((await call(u, bad)).body.message, 'Signature validation failed.');
});

test('a repeat call is served from the token cache (same result)', async () => {
  const t = await sign(good());
  for (let i = 0; i < 3; i++) assert.equal((await call(url, t)).status, 200);
});
