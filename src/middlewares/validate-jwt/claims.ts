/**
 * Claim checks after the signature: lifetime, audience, issuer and required
 * claims, with APIM's failure messages. Rules are compiled once per snapshot.
 */
import type { RequiredClaim } from './schema.js';

/** Failure messages (documented in docs/jwt.md). */
export const MESSAGES = {
  notPresent: 'JWT not present.',
  invalid: 'Invalid JWT.',
  encrypted: 'Invalid JWT. Encrypted or nested tokens are not accepted.',
  unsigned: 'Invalid JWT. Unsigned tokens are not accepted.',
  algorithm: 'Invalid JWT. The signing algorithm is not allowed.',
  signature: 'Signature validation failed.',
  noKey: 'Signature validation failed. No signing key matches the token.',
  keysUnavailable: 'Signing keys are unavailable.',
  noExpiration: 'Lifetime validation failed. The token is missing an Expiration Time.',
  expired: 'Lifetime validation failed. The token is expired.',
  notYetValid: 'Lifetime validation failed. The token is not yet valid.',
  audience: 'Audience validation failed.',
  issuer: 'Issuer validation failed.',
  missingClaims: 'JWT token is missing the following claims: ',
} as const;

interface CompiledClaim {
  name: string;
  any: boolean;
  separator: string | undefined;
  values: readonly string[];
}

export interface ClaimRules {
  requireExpirationTime: boolean;
  skewSec: number;
  /** null: audience not checked. */
  audiences: ReadonlySet<string> | null;
  /** Configured issuers (may contain `{tenantid}`); empty with no discovery issuer: issuer not checked. */
  issuers: readonly string[];
  claims: readonly CompiledClaim[];
}

export function compileClaimRules(o: {
  requireExpirationTime: boolean;
  skewSec: number;
  audiences: readonly string[] | undefined;
  issuers: readonly string[] | undefined;
  requiredClaims: readonly RequiredClaim[] | undefined;
}): ClaimRules {
  return {
    requireExpirationTime: o.requireExpirationTime,
    skewSec: o.skewSec,
    audiences: o.audiences === undefined || o.audiences.length === 0 ? null : new Set(o.audiences),
    issuers: o.issuers ?? [],
    claims: (o.requiredClaims ?? []).map((c) => ({ name: c.name, any: c.match === 'any', separator: c.separator, values: c.values ?? [] })),
  };
}

const SAFE_TID = /^[A-Za-z0-9._-]{1,64}$/;

function issuerMatches(template: string, iss: string, tid: unknown): boolean {
  if (template === iss) return true;
  if (!template.includes('{tenantid}') || typeof tid !== 'string' || !SAFE_TID.test(tid)) return false;
  return template.replaceAll('{tenantid}', tid) === iss;
}

/** Values of a claim as strings: arrays item by item, strings split by `separator`. */
function claimValues(v: unknown, separator: string | undefined): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  if (typeof v === 'string') return separator === undefined ? [v] : v.split(separator).map((s) => s.trim());
  return [typeof v === 'object' ? JSON.stringify(v) : String(v)];
}

/** Printable, bounded rendering of token values for a failure message (never the token itself). */
export function describeValues(values: readonly string[]): string {
  if (values.length === 0) return '(empty)';
  const s = values.join(', ').replace(/[^\x20-\x7e]|["\\]/g, '?');
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

/**
 * Check a verified payload. Returns null when valid, else the failure message.
 * `extraIssuers` are issuers from discovery documents.
 */
export function checkClaims(p: Record<string, unknown>, r: ClaimRules, nowSec: number, extraIssuers: readonly string[]): string | null {
  const exp = p.exp;
  if (exp === undefined) {
    if (r.requireExpirationTime) return MESSAGES.noExpiration;
  } else {
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return MESSAGES.invalid;
    if (nowSec >= exp + r.skewSec) return MESSAGES.expired;
  }
  const nbf = p.nbf;
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return MESSAGES.invalid;
    if (nowSec + r.skewSec < nbf) return MESSAGES.notYetValid;
  }
  if (r.audiences !== null) {
    const aud = p.aud;
    let ok = false;
    if (typeof aud === 'string') ok = r.audiences.has(aud);
    else if (Array.isArray(aud)) ok = aud.some((a) => typeof a === 'string' && r.audiences?.has(a) === true);
    if (!ok) return MESSAGES.audience;
  }
  if (r.issuers.length > 0 || extraIssuers.length > 0) {
    const iss = p.iss;
    if (typeof iss !== 'string') return MESSAGES.issuer;
    const tid = p.tid;
    if (!r.issuers.some((t) => issuerMatches(t, iss, tid)) && !extraIssuers.some((t) => issuerMatches(t, iss, tid))) return MESSAGES.issuer;
  }
  if (r.claims.length > 0) {
    let missing: string[] | null = null;
    for (const c of r.claims) if (p[c.name] === undefined || p[c.name] === null) (missing ??= []).push(c.name);
    if (missing !== null) return MESSAGES.missingClaims + missing.join(', ');
    for (const c of r.claims) {
      if (c.values.length === 0) continue;
      const have = claimValues(p[c.name], c.separator);
      const ok = c.any ? c.values.some((v) => have.includes(v)) : c.values.every((v) => have.includes(v));
      if (!ok) return `Claim ${c.name} value of ${describeValues(have)} is not allowed.`;
    }
  }
  return null;
}
