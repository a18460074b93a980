/**
 * Key import: JWK, PEM (public key or certificate), RSA modulus/exponent, and
 * base64 symmetric secrets. Each key is bound to its family and algorithms here.
 * Used by validateJwt (configured and fetched keys) and by the token issuer
 * (registered client certificates).
 */
import { createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { algsForKey, type KeyFamily, type VerifyKey } from './jws.js';

/** One inline key as written in configuration (`issuerSigningKeys` item). */
export interface InlineKey {
  jwk?: Record<string, unknown>;
  pem?: string;
  n?: string;
  e?: string;
  secret?: string;
  kid?: string;
  alg?: string;
}

const MIN_RSA_BITS = 2048;
const MIN_HMAC_BYTES = 32;

function narrow(family: KeyFamily, curve: string | undefined, alg: string | undefined): Set<string> {
  const algs = algsForKey(family, curve);
  if (alg === undefined) return new Set(algs);
  if (!algs.includes(alg)) throw new Error(`algorithm ${alg} cannot be used with a ${family} key`);
  return new Set([alg]);
}

function fromKeyObject(key: KeyObject, kid: string | undefined, alg: string | undefined, origin: string): VerifyKey {
  const type = key.asymmetricKeyType;
  let family: KeyFamily;
  let curve: string | undefined;
  if (type === 'rsa' || type === 'rsa-pss') {
    family = 'RSA';
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new Error(`RSA key of ${bits} bits is too small (at least ${MIN_RSA_BITS})`);
  } else if (type === 'ec') {
    family = 'EC';
    curve = key.asymmetricKeyDetails?.namedCurve;
  } else if (type === 'ed25519' || type === 'ed448') {
    family = 'OKP';
    curve = type === 'ed25519' ? 'Ed25519' : 'Ed448';
  } else throw new Error(`unsupported key type ${type ?? 'unknown'}`);
  const algs = narrow(family, curve, alg);
  if (algs.size === 0) throw new Error(`unsupported curve ${curve ?? 'unknown'}`);
  return { kid, family, algs, publicKey: key, secret: null, origin };
}

/** Import a JWK (public RSA/EC/OKP, or `oct`). Private members are ignored (only the public part is kept). */
export function importJwk(jwk: Record<string, unknown>, origin: string, kidOverride?: string, algOverride?: string): VerifyKey {
  const kid = kidOverride ?? (typeof jwk.kid === 'string' ? jwk.kid : undefined);
  const alg = algOverride ?? (typeof jwk.alg === 'string' ? jwk.alg : undefined);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new Error(`key use "${String(jwk.use)}" is not "sig"`);
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new Error('oct key without "k"');
    return symmetric(Buffer.from(jwk.k, 'base64url'), kid, alg, origin);
  }
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') throw new Error(`unsupported key type "${String(jwk.kty)}"`);
  // Keep the public members only, so a pasted private JWK never becomes a signing key here.
  const pub: Record<string, unknown> = { kty: jwk.kty };
  for (const m of ['n', 'e', 'crv', 'x', 'y'] as const) if (jwk[m] !== undefined) pub[m] = jwk[m];
  const key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
  return fromKeyObject(key, kid, alg, origin);
}

function symmetric(secret: Buffer, kid: string | undefined, alg: string | undefined, origin: string): VerifyKey {
  if (secret.length < MIN_HMAC_BYTES) throw new Error(`symmetric key of ${secret.length} bytes is too short (at least ${MIN_HMAC_BYTES})`);
  return { kid, family: 'oct', algs: narrow('oct', undefined, alg), publicKey: null, secret, origin };
}

/** Import one `issuerSigningKeys` item. Throws Error with a message naming the problem. */
export function importInlineKey(k: InlineKey, origin: string): VerifyKey {
  const forms = [k.jwk, k.pem, k.n, k.secret].filter((x) => x !== undefined).length;
  if (forms !== 1) throw new Error('give exactly one of jwk, pem, n (with e) or secret');
  if (k.jwk !== undefined) return importJwk(k.jwk, origin, k.kid, k.alg);
  if (k.pem !== undefined) {
    const pem = k.pem.trim();
    if (/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem))
      throw new Error('pem holds a private key: configure the public key or certificate');
    const key = pem.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
    return fromKeyObject(key, k.kid, k.alg, origin);
  }
  if (k.n !== undefined) {
    const key = createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e ?? 'AQAB' }, format: 'jwk' });
    return fromKeyObject(key, k.kid, k.alg, origin);
  }
  const raw = (k.secret as string).trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) throw new Error('secret must be base64');
  return symmetric(Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64'), k.kid, k.alg, origin);
}

/**
 * Import a JWKS document's keys. Unusable keys (encryption keys, unknown types,
 * weak RSA) are skipped and reported in `skipped`.
 */
export function importJwks(doc: unknown, origin: string): { keys: VerifyKey[]; skipped: string[] } {
  const keys: VerifyKey[] = [];
  const skipped: string[] = [];
  const list = typeof doc === 'object' && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new Error('JWKS document has no "keys" array');
  for (const [i, item] of list.slice(0, 100).entries()) {
    if (typeof item !== 'object' || item === null) {
      skipped.push(`keys[${i}]: not an object`);
      continue;
    }
    const jwk = item as Record<string, unknown>;
    if (jwk.kty === 'oct') {
      skipped.push(`keys[${i}]: symmetric keys are not accepted from a key endpoint`);
      continue;
    }
    try {
      keys.push(importJwk(jwk, origin));
    } catch (err) {
      skipped.push(`keys[${i}]: ${(err as Error).message}`);
    }
  }
  return { keys, skipped };
}
