/**
 * JWS compact serialization: parsing and signature checks with node:crypto.
 * One of the JOSE primitives (src/jose/), shared by the validateJwt middleware
 * and the token issuer (src/identity/); it imports nothing else of the project.
 * Synchronous on purpose (the request path awaits nothing once keys are known).
 * Every key is bound to one algorithm family when it is imported (keys.ts), so an
 * RSA public key can never be used as an HMAC secret.
 */
import { createHmac, timingSafeEqual, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';

export type KeyFamily = 'RSA' | 'EC' | 'OKP' | 'oct';

/** A verification key with the algorithms it may be used for. */
export interface VerifyKey {
  readonly kid: string | undefined;
  readonly family: KeyFamily;
  /** Algorithms this key may verify (already narrowed by the key's own `alg` and curve). */
  readonly algs: ReadonlySet<string>;
  /** Public key (asymmetric families). */
  readonly publicKey: KeyObject | null;
  /** Shared secret (family `oct` only). */
  readonly secret: Buffer | null;
  /** Where the key came from, for status and logs (never the key material). */
  readonly origin: string;
}

export const ASYMMETRIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export const ALL_ALGS: ReadonlySet<string> = new Set<string>([...ASYMMETRIC_ALGS, ...HMAC_ALGS]);

interface AlgSpec {
  family: KeyFamily;
  hash: string | null;
  /** ECDSA signature size in bytes (r||s) or the curve for EdDSA. */
  sigBytes?: number;
  pss?: boolean;
}

const ALG: Record<string, AlgSpec> = Object.assign(Object.create(null) as Record<string, AlgSpec>, {
  RS256: { family: 'RSA', hash: 'sha256' },
  RS384: { family: 'RSA', hash: 'sha384' },
  RS512: { family: 'RSA', hash: 'sha512' },
  PS256: { family: 'RSA', hash: 'sha256', pss: true },
  PS384: { family: 'RSA', hash: 'sha384', pss: true },
  PS512: { family: 'RSA', hash: 'sha512', pss: true },
  ES256: { family: 'EC', hash: 'sha256', sigBytes: 64 },
  ES384: { family: 'EC', hash: 'sha384', sigBytes: 96 },
  ES512: { family: 'EC', hash: 'sha512', sigBytes: 132 },
  EdDSA: { family: 'OKP', hash: null },
  Ed25519: { family: 'OKP', hash: null },
  HS256: { family: 'oct', hash: 'sha256' },
  HS384: { family: 'oct', hash: 'sha384' },
  HS512: { family: 'oct', hash: 'sha512' },
} satisfies Record<string, AlgSpec>);

export function algFamily(alg: string): KeyFamily | undefined {
  return ALG[alg]?.family;
}

/** Algorithms a key of this family (and EC curve / OKP subtype) may verify. */
export function algsForKey(family: KeyFamily, curve?: string): string[] {
  switch (family) {
    case 'RSA':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'EC':
      if (curve === 'P-256' || curve === 'prime256v1') return ['ES256'];
      if (curve === 'P-384' || curve === 'secp384r1') return ['ES384'];
      if (curve === 'P-521' || curve === 'secp521r1') return ['ES512'];
      return [];
    case 'OKP':
      if (curve === 'Ed25519') return ['EdDSA', 'Ed25519'];
      if (curve === 'Ed448') return ['EdDSA'];
      return [];
    case 'oct':
      return ['HS256', 'HS384', 'HS512'];
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url decode (no padding, no other characters); null when invalid. */
export function b64urlDecode(s: string): Buffer | null {
  if (!B64URL.test(s) || s.length % 4 === 1) return null;
  return Buffer.from(s, 'base64url');
}

export interface ParsedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `header.payload`, the signed bytes. */
  signingInput: string;
  signature: Buffer;
  alg: string;
  kid: string | undefined;
}

export type ParseFailure = 'malformed' | 'encrypted';

function parseJsonObject(buf: Buffer | null): Record<string, unknown> | null {
  if (buf === null) return null;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Parse a compact JWS; JWE (5 parts) reports `encrypted`. */
export function parseCompact(token: string): ParsedJws | ParseFailure {
  const d1 = token.indexOf('.');
  if (d1 <= 0) return 'malformed';
  const d2 = token.indexOf('.', d1 + 1);
  if (d2 < 0) return 'malformed';
  if (token.indexOf('.', d2 + 1) >= 0) return token.split('.').length === 5 ? 'encrypted' : 'malformed';
  const header = parseJsonObject(b64urlDecode(token.slice(0, d1)));
  if (header === null) return 'malformed';
  const payload = parseJsonObject(b64urlDecode(token.slice(d1 + 1, d2)));
  if (payload === null) return 'malformed';
  const signature = b64urlDecode(token.slice(d2 + 1));
  if (signature === null) return 'malformed';
  const alg = header.alg;
  if (typeof alg !== 'string') return 'malformed';
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') return 'malformed';
  if (header.enc !== undefined) return 'encrypted';
  return { header, payload, signingInput: token.slice(0, d2), signature, alg, kid };
}

/** Verify a signature with one key; false on any mismatch (never throws). */
export function verifySignature(jws: ParsedJws, key: VerifyKey): boolean {
  const spec = ALG[jws.alg];
  if (spec === undefined || spec.family !== key.family || !key.algs.has(jws.alg)) return false;
  const data = Buffer.from(jws.signingInput, 'latin1');
  try {
    if (spec.family === 'oct') {
      if (key.secret === null) return false;
      const mac = createHmac(spec.hash as string, key.secret)
        .update(data)
        .digest();
      return mac.length === jws.signature.length && timingSafeEqual(mac, jws.signature);
    }
    if (key.publicKey === null) return false;
    if (spec.family === 'RSA') {
      return cryptoVerify(
        spec.hash,
        data,
        spec.pss === true
          ? { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : { key: key.publicKey, padding: constants.RSA_PKCS1_PADDING },
        jws.signature,
      );
    }
    if (spec.family === 'EC') {
      if (jws.signature.length !== spec.sigBytes) return false;
      return cryptoVerify(spec.hash, data, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, jws.signature);
    }
    return cryptoVerify(null, data, key.publicKey, jws.signature);
  } catch {
    return false;
  }
}
