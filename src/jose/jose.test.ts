import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { parseCompact, verifySignature, type ParsedJws } from './jws.js';
import { importInlineKey, importJwk, importJwks } from './keys.js';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function compact(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(Buffer.from(input, 'latin1')).toString('base64url')}`;
}

function parsed(token: string): ParsedJws {
  const p = parseCompact(token);
  assert.equal(typeof p, 'object', `parse ${token}`);
  return p as ParsedJws;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }) as string;

test('each family verifies its own signatures, and a changed payload fails', () => {
  const cases: Array<[string, string, (i: Buffer) => Buffer]> = [
    ['RS256', pem(rsa.publicKey), (i) => cryptoSign('sha256', i, rsa.privateKey)],
    ['ES256', pem(ec.publicKey), (i) => cryptoSign('sha256', i, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })],
    ['EdDSA', pem(ed.publicKey), (i) => cryptoSign(null, i, ed.privateKey)],
  ];
  for (const [alg, keyPem, signer] of cases) {
    const key = importInlineKey({ pem: keyPem }, 'test');
    const token = compact({ alg, typ: 'JWT' }, { sub: 'a' }, signer);
    assert.equal(verifySignature(parsed(token), key), true, alg);
    const [h, , s] = token.split('.');
    assert.equal(verifySignature(parsed(`${h}.${b64({ sub: 'b' })}.${s}`), key), false, `${alg} tampered`);
  }
  const secret = Buffer.alloc(32, 7);
  const hkey = importInlineKey({ secret: secret.toString('base64') }, 'test');
  const htoken = compact({ alg: 'HS256' }, { sub: 'a' }, (i) => createHmac('sha256', secret).update(i).digest());
  assert.equal(verifySignature(parsed(htoken), hkey), true);
});

test('an RSA public key is never an HMAC secret (algorithm confusion)', () => {
  const keyPem = pem(rsa.publicKey);
  const key = importInlineKey({ pem: keyPem }, 'test');
  const forged = compact({ alg: 'HS256' }, { sub: 'admin' }, (i) => createHmac('sha256', keyPem).update(i).digest());
  assert.equal(verifySignature(parsed(forged), key), false);
});

test('compact parsing is strict', () => {
  assert.equal(parseCompact('a.b'), 'malformed');
  assert.equal(parseCompact(`${b64({ alg: 'RS256' })}.${b64({})}.a=`), 'malformed'); // padding
  assert.equal(parseCompact(`${b64([1])}.${b64({})}.`), 'malformed'); // header not an object
  assert.equal(parseCompact(`${b64({})}.${b64({})}.`), 'malformed'); // no alg
  assert.equal(parseCompact('a.b.c.d.e'), 'encrypted');
  assert.equal(parseCompact(`${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${b64({})}.`), 'encrypted');
});

test('key import refuses weak, private and unusable keys', () => {
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => importInlineKey({ pem: pem(weak.publicKey) }, 'test'), /too small/);
  assert.throws(() => importInlineKey({ pem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }, 'test'), /private key/);
  assert.throws(() => importInlineKey({ secret: Buffer.alloc(16).toString('base64') }, 'test'), /too short/);
  assert.throws(() => importJwk({ ...rsa.publicKey.export({ format: 'jwk' }), use: 'enc' }, 'test'), /not "sig"/);
  const { keys, skipped } = importJwks({ keys: [rsa.publicKey.export({ format: 'jwk' }), { kty: 'oct', k: 'AAAA' }, 'x'] }, 'test');
  assert.equal(keys.length, 1);
  assert.equal(skipped.length, 2);
});
