import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, SignJWT, CompactEncrypt, type JWTPayload, type CryptoKey } from 'jose';
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { middleware, validateJwtStatus } from './index.js';
import type { ValidateJwtOptions } from './schema.js';
import { serveHandler, serveUpstream, echoHandler, testDeps, type Running } from '../../../test/support/handler-server.js';

const closers: Array<() => void | Promise<void>> = [];
const servers: Running[] = [];
after(async () => {
  for (const c of closers) await c();
  for (const s of servers) await s.close();
});

const rsa = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'good-kid', use: 'sig' };
const attacker = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const AUD = 'api-app';
const now = (): number => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({ aud: AUD, iss: 'will-be-replaced', exp: now() + 600, ...extra });
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

async function sign(c: JWTPayload, key: CryptoKey = rsa.privateKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: 'good-kid', ...header }).sign(key);
}

async function serve(opts: ValidateJwtOptions, name = 'attack@file'): Promise<string> {
  const mw = middleware.create(opts, testDeps({ name, onClose: (fn) => closers.push(fn) }));
  const r = await serveHandler(mw(echoHandler));
  servers.push(r);
  return r.url;
}
async function call(url: string, token: string): Promise<{ status: number; message: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { message?: string };
  return { status: res.status, message: body.message ?? '', ms: Date.now() - t0 };
}

/** An OpenID provider whose behaviour the test controls. */
interface Idp {
  url: string;
  discoveryHits: number;
  jwksHits: number;
  mode: 'ok' | 'down' | 'slow';
  keys: unknown[];
  cacheControl?: string;
}
async function idp(): Promise<Idp> {
  const state: Idp = { url: '', discoveryHits: 0, jwksHits: 0, mode: 'ok', keys: [rsaJwk] };
  const r = await serveUpstream((req, res) => {
    if (state.mode === 'down') {
      res.writeHead(503).end();
      return;
    }
    if (state.mode === 'slow') return; // never answers
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (state.cacheControl !== undefined) headers['cache-control'] = state.cacheControl;
    if (req.url === '/.well-known/openid-configuration') {
      state.discoveryHits++;
      res.writeHead(200, headers).end(JSON.stringify({ issuer: `${state.url}/`, jwks_uri: `${state.url}/keys` }));
    } else {
      state.jwksHits++;
      res.writeHead(200, headers).end(JSON.stringify({ keys: state.keys }));
    }
  });
  servers.push(r);
  state.url = r.url;
  return state;
}

const inline: ValidateJwtOptions = { issuerSigningKeys: [{ jwk: rsaJwk }], audiences: [AUD] };
const url = await serve(inline);

test('alg none is refused (and accepted only when requireSignedTokens is false)', async () => {
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
  assert.equal((await call(url, none)).message, 'Invalid JWT. Unsigned tokens are not accepted.');
  const upper = `${b64({ alg: 'NONE' })}.${b64(claims())}.`;
  assert.equal((await call(url, upper)).status, 401);
  const lax = await serve({ ...inline, requireSignedTokens: false });
  assert.equal((await call(lax, none)).status, 200);
});

test('HS256 signed with the RSA public key (PEM and JWK bytes) is refused', async () => {
  const pem = createPublicKey({ key: rsaJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  for (const secret of [pem, JSON.stringify(rsaJwk), String(rsaJwk.n)]) {
    const input = `${b64({ alg: 'HS256', kid: 'good-kid' })}.${b64(claims())}`;
    const t = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    const r = await call(url, t);
    assert.equal(r.status, 401);
    assert.equal(r.message, 'Signature validation failed. No signing key matches the token.');
  }
});

test('kid path and SQL-like injection finds no key', async () => {
  for (const kid of ['../../../../dev/null', "x' OR '1'='1", 'good-kid\u0000', '__proto__', 'constructor']) {
    const r = await call(url, await sign(claims(), rsa.privateKey, { kid }));
    assert.equal(r.status, 401, kid);
  }
});

test('jku, x5u, jwk and x5c headers pointing elsewhere are ignored', async () => {
  const evilJwk = await exportJWK(attacker.publicKey);
  for (const h of [{ jku: 'http://127.0.0.1:1/keys' }, { x5u: 'http://127.0.0.1:1/cert' }, { jwk: evilJwk }, { x5c: ['MIIB'] }]) {
    const r = await call(url, await sign(claims(), attacker.privateKey, h));
    assert.equal(r.message, 'Signature validation failed.', JSON.stringify(Object.keys(h)));
  }
});

test('oversized token is refused before parsing', async () => {
  const t = await sign(claims({ pad: 'x'.repeat(9000) }));
  assert.equal((await call(url, t)).message, 'Invalid JWT.');
  const big = await serve({ ...inline, maxTokenSize: 16384 });
  assert.equal((await call(big, t)).status, 200);
});

test('encrypted (JWE) and nested tokens are refused', async () => {
  const enc = await new CompactEncrypt(new TextEncoder().encode('{}'))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(new Uint8Array(32));
  assert.equal((await call(url, enc)).message, 'Invalid JWT. Encrypted or nested tokens are not accepted.');
  assert.equal(
    (await call(url, await sign(claims(), rsa.privateKey, { cty: 'JWT' }))).message,
    'Invalid JWT. Encrypted or nested tokens are not accepted.',
  );
});

test('algorithms allow-list', async () => {
  const u = await serve({ ...inline, algorithms: ['ES256'] });
  assert.equal((await call(u, await sign(claims()))).message, 'Invalid JWT. The signing algorithm is not allowed.');
});

test('openidConfig: keys and issuer from discovery; unknown kid flood causes at most one refetch per cooldown', async () => {
  const p = await idp();
  const u = await serve({ openidConfig: [{ url: `${p.url}/.well-known/openid-configuration` }], audiences: [AUD] }, 'flood@file');
  assert.equal((await call(u, await sign(claims({ iss: `${p.url}/` })))).status, 200);
  assert.equal((await call(u, await sign(claims({ iss: 'https://elsewhere/' })))).message, 'Issuer validation failed.');
  const before = p.jwksHits;
  const results = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => call(u, await sign(claims({ iss: `${p.url}/` }), rsa.privateKey, { kid: `random-${i}` }))),
  );
  assert.ok(results.every((r) => r.status === 401));
  const refetches = p.jwksHits - before;
  assert.ok(refetches <= 1, `200 random kids caused ${refetches} JWKS fetches`);
  const st = validateJwtStatus()['flood@file'];
  assert.equal(st?.sources[0]?.keys, 1);
});

test('a key added at the provider is picked up on its first unknown kid', async () => {
  const p = await idp();
  const u = await serve({ openidConfig: [{ url: `${p.url}/.well-known/openid-configuration` }] });
  assert.equal((await call(u, await sign(claims({ iss: `${p.url}/` })))).status, 200);
  const next = await generateKeyPair('ES256', { extractable: true });
  p.keys = [rsaJwk, { ...(await exportJWK(next.publicKey)), kid: 'new-kid' }];
  const t = await new SignJWT(claims({ iss: `${p.url}/` })).setProtectedHeader({ alg: 'ES256', kid: 'new-kid' }).sign(next.privateKey);
  assert.equal((await call(u, t)).status, 200);
});

test('JWKS endpoint down: last good keys keep working and the error is visible', async () => {
  const p = await idp();
  p.cacheControl = 'max-age=0';
  const u = await serve({ openidConfig: [{ url: `${p.url}/.well-known/openid-configuration` }], keysCacheDuration: '1s' }, 'down@file');
  assert.equal((await call(u, await sign(claims({ iss: `${p.url}/` })))).status, 200);
  p.mode = 'down';
  // An unknown kid forces a refetch that fails.
  assert.equal((await call(u, await sign(claims({ iss: `${p.url}/` }), rsa.privateKey, { kid: 'unknown' }))).status, 401);
  assert.equal((await call(u, await sign(claims({ iss: `${p.url}/`, jti: 'second' })))).status, 200);
  const st = validateJwtStatus()['down@file']?.sources[0];
  assert.match(String(st?.lastError), /HTTP 503/);
  assert.equal(st?.keys, 1);
});

test('JWKS endpoint slow: the request waits at most keyFetchTimeout, then 503', async () => {
  const p = await idp();
  p.mode = 'slow';
  const u = await serve({ openidConfig: [{ url: `${p.url}/.well-known/openid-configuration` }], keyFetchTimeout: '300ms' });
  const r = await call(u, await sign(claims()));
  assert.equal(r.status, 503);
  assert.equal(r.message, 'Signing keys are unavailable.');
  assert.ok(r.ms < 2000, `waited ${r.ms} ms`);
});
