/**
 * The token check behind validateJwt: parse, pick keys (inline and discovered),
 * verify the signature, check claims, and cache the verified result. Returns
 * synchronously whenever it can; awaits (with a bound) only while keys load or
 * an unknown `kid` triggers a permitted refetch.
 */
import { parseDuration } from '../../util/duration.js';
import { ALL_ALGS, verifySignature, parseCompact, type ParsedJws, type VerifyKey } from '../../jose/jws.js';
import { importInlineKey } from '../../jose/keys.js';
import { RemoteKeySource, type KeySourceStatus } from './key-source.js';
import { checkClaims, compileClaimRules, MESSAGES, type ClaimRules } from './claims.js';
import { TokenCache, tokenKey, type CachedToken } from './token-cache.js';
import { claimByPath, headerValue } from './outputs.js';
import type { ValidateJwtOptions } from './schema.js';
import { MiddlewareOptionError } from '../types.js';

export type VerifyResult = { ok: true; entry: CachedToken } | { ok: false; status: number; message: string };

export interface ValidatorEnv {
  /** Epoch milliseconds (tests move time). */
  now?: () => number;
  onKeyError?: (url: string, message: string) => void;
}

export interface ValidatorStatus {
  sources: KeySourceStatus[];
  inlineKeys: number;
  cachedTokens: number;
}

const MAX_CANDIDATES = 20;

function dur(field: string, v: string | number | undefined, def: number): number {
  if (v === undefined) return def;
  try {
    return parseDuration(v);
  } catch (err) {
    throw new MiddlewareOptionError(field, (err as Error).message);
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

export class JwtValidator {
  readonly failCode: number;
  private readonly now: () => number;
  private readonly maxTokenSize: number;
  private readonly requireSigned: boolean;
  private readonly algs: ReadonlySet<string>;
  private readonly rules: ClaimRules;
  private readonly inline: VerifyKey[] = [];
  private readonly inlineByKid = new Map<string, VerifyKey[]>();
  private readonly sources: RemoteKeySource[] = [];
  private readonly cache: TokenCache;
  private readonly waitMs: number;
  private readonly abort = new AbortController();
  /** claimsToHeaders, compiled: lower-case header names and claim paths. */
  readonly headerNames: readonly string[];
  private readonly claimPaths: readonly string[];
  private closed = false;

  constructor(o: ValidateJwtOptions, env: ValidatorEnv = {}) {
    this.now = env.now ?? Date.now;
    this.failCode = o.failedValidationHttpCode ?? 401;
    this.maxTokenSize = o.maxTokenSize ?? 8192;
    this.requireSigned = o.requireSignedTokens ?? true;
    const skewMs = dur('clockSkew', o.clockSkew, 0);
    if (o.algorithms !== undefined) {
      for (const [i, a] of o.algorithms.entries()) {
        if (!ALL_ALGS.has(a))
          throw new MiddlewareOptionError(`algorithms.${i}`, `unsupported algorithm "${a}" (supported: ${[...ALL_ALGS].join(', ')})`);
      }
    }
    this.algs = new Set(o.algorithms ?? ALL_ALGS);
    this.rules = compileClaimRules({
      requireExpirationTime: o.requireExpirationTime ?? true,
      skewSec: skewMs / 1000,
      audiences: o.audiences,
      issuers: o.issuers,
      requiredClaims: o.requiredClaims,
    });
    for (const [i, k] of (o.issuerSigningKeys ?? []).entries()) {
      let key: VerifyKey;
      try {
        key = importInlineKey(k, `issuerSigningKeys[${i}]`);
      } catch (err) {
        throw new MiddlewareOptionError(`issuerSigningKeys.${i}`, (err as Error).message);
      }
      this.inline.push(key);
      if (key.kid !== undefined) {
        const l = this.inlineByKid.get(key.kid);
        if (l === undefined) this.inlineByKid.set(key.kid, [key]);
        else l.push(key);
      }
    }
    const timeoutMs = dur('keyFetchTimeout', o.keyFetchTimeout, 5000);
    this.waitMs = timeoutMs;
    const cacheMs = dur('keysCacheDuration', o.keysCacheDuration, 3_600_000);
    for (const [i, c] of (o.openidConfig ?? []).entries()) {
      let url: URL;
      try {
        url = new URL(c.url);
      } catch {
        throw new MiddlewareOptionError(`openidConfig.${i}.url`, `"${c.url}" is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new MiddlewareOptionError(`openidConfig.${i}.url`, 'must be an http(s) URL');
      this.sources.push(
        new RemoteKeySource(url.href, {
          cacheMs,
          minTtlMs: Math.min(cacheMs, 60_000),
          maxTtlMs: Math.max(cacheMs, 86_400_000),
          unknownKidCooldownMs: dur('unknownKidCooldown', o.unknownKidCooldown, 300_000),
          retryMs: Math.min(10_000, cacheMs),
          fetch: { timeoutMs, maxBytes: 512 * 1024, signal: this.abort.signal },
          now: this.now,
          onError: env.onKeyError,
        }),
      );
    }
    if (this.requireSigned && this.inline.length === 0 && this.sources.length === 0) {
      throw new MiddlewareOptionError(
        'openidConfig',
        'no signing keys: configure openidConfig or issuerSigningKeys (or set requireSignedTokens: false)',
      );
    }
    const c2h = o.claimsToHeaders ?? {};
    this.headerNames = Object.keys(c2h).map((h) => h.toLowerCase());
    this.claimPaths = Object.values(c2h);
    for (const [i, h] of this.headerNames.entries()) {
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(h))
        throw new MiddlewareOptionError(`claimsToHeaders.${Object.keys(c2h)[i]}`, 'not a valid header name');
    }
    this.cache = new TokenCache(o.tokenCacheSize ?? 10_000);
  }

  /** Pre-fetch every key source (does not wait). */
  start(): void {
    for (const s of this.sources) void s.refresh();
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    this.cache.clear();
  }

  status(): ValidatorStatus {
    return { sources: this.sources.map((s) => s.status()), inlineKeys: this.inline.length, cachedTokens: this.cache.size };
  }

  verify(token: string): VerifyResult | Promise<VerifyResult> {
    if (token.length === 0 || token.length > this.maxTokenSize) return this.fail(MESSAGES.invalid);
    const nowMs = this.now();
    for (const s of this.sources) s.maintain(nowMs);
    const key = tokenKey(token);
    const hit = this.cache.get(key, nowMs / 1000);
    if (hit !== undefined) return { ok: true, entry: hit };
    const jws = parseCompact(token);
    if (jws === 'malformed') return this.fail(MESSAGES.invalid);
    if (jws === 'encrypted') return this.fail(MESSAGES.encrypted);
    if (jws.header.crit !== undefined) return this.fail(MESSAGES.invalid);
    const cty = jws.header.cty;
    if (typeof cty === 'string' && cty.toUpperCase() === 'JWT') return this.fail(MESSAGES.encrypted);
    if (jws.alg.toLowerCase() === 'none') {
      if (this.requireSigned || jws.signature.length !== 0) return this.fail(MESSAGES.unsigned);
      return this.finish(jws, key);
    }
    if (!this.algs.has(jws.alg)) return this.fail(MESSAGES.algorithm);
    const keys = this.candidates(jws);
    if (keys.length > 0) return this.checkSignature(jws, keys, key);
    return this.slowPath(jws, key);
  }

  private async slowPath(jws: ParsedJws, key: string): Promise<VerifyResult> {
    const waits: Promise<void>[] = [];
    let loading = false;
    for (const s of this.sources) {
      if (!s.loaded) {
        // verify() already called maintain(): a fetch runs unless the retry delay has not passed.
        loading = true;
        const p = s.pending();
        if (p !== null) waits.push(p);
      } else if (jws.kid !== undefined && s.byKeyId(jws.kid) === undefined) {
        const r = s.refetchForUnknownKid(this.now());
        if (r !== null) waits.push(r);
      }
    }
    if (waits.length > 0) await this.bounded(Promise.all(waits));
    if (this.closed) return { ok: false, status: 503, message: MESSAGES.keysUnavailable };
    const keys = this.candidates(jws);
    if (keys.length > 0) return this.checkSignature(jws, keys, key);
    if (loading && this.sources.every((s) => !s.loaded) && this.inline.length === 0) {
      return { ok: false, status: 503, message: MESSAGES.keysUnavailable };
    }
    return this.fail(MESSAGES.noKey);
  }

  private bounded(p: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.waitMs);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      p.then(done, done);
    });
  }

  private candidates(jws: ParsedJws): VerifyKey[] {
    const out: VerifyKey[] = [];
    const alg = jws.alg;
    if (jws.kid !== undefined) {
      const kid = jws.kid;
      for (const k of this.inlineByKid.get(kid) ?? []) if (k.algs.has(alg)) out.push(k);
      for (const s of this.sources) for (const k of s.byKeyId(kid) ?? []) if (k.algs.has(alg)) out.push(k);
      // Inline keys without a kid match any kid (APIM's issuer-signing-keys behaviour).
      for (const k of this.inline) if (k.kid === undefined && k.algs.has(alg)) out.push(k);
      return out;
    }
    for (const k of this.inline) if (k.algs.has(alg) && out.length < MAX_CANDIDATES) out.push(k);
    for (const s of this.sources) for (const k of s.all()) if (k.algs.has(alg) && out.length < MAX_CANDIDATES) out.push(k);
    return out;
  }

  private checkSignature(jws: ParsedJws, keys: readonly VerifyKey[], key: string): VerifyResult {
    for (const k of keys) if (verifySignature(jws, k)) return this.finish(jws, key);
    return this.fail(MESSAGES.signature);
  }

  private discoveryIssuers(): string[] {
    const out: string[] = [];
    for (const s of this.sources) if (s.issuer !== null) out.push(s.issuer);
    return out;
  }

  private finish(jws: ParsedJws, key: string): VerifyResult {
    const p = jws.payload;
    const nowSec = this.now() / 1000;
    const problem = checkClaims(p, this.rules, nowSec, this.sources.length === 0 ? [] : this.discoveryIssuers());
    if (problem !== null) return this.fail(problem);
    const claims = deepFreeze(p);
    const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
    const entry: CachedToken = {
      claims,
      caller: str(p.azp) ?? str(p.appid) ?? str(p.sub),
      headerValues: this.claimPaths.map((path) => headerValue(claimByPath(claims, path))),
      validUntilSec: typeof p.exp === 'number' ? p.exp + this.rules.skewSec : 0,
    };
    if (typeof p.exp === 'number') this.cache.set(key, entry);
    return { ok: true, entry };
  }

  private fail(message: string): VerifyResult {
    return { ok: false, status: this.failCode, message };
  }
}
