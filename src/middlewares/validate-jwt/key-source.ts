/**
 * Keys from an OpenID Connect discovery document (`openidConfig.url` →
 * `jwks_uri`). Cached for `cacheMs` (Cache-Control max-age honoured within
 * [minTtlMs, maxTtlMs]); refreshed in the background when stale; refetched on an
 * unknown `kid` at most once per cooldown; a failed fetch keeps the last good keys.
 */
import type { VerifyKey } from '../../jose/jws.js';
import { importJwks } from '../../jose/keys.js';
import { fetchJson, type FetchLimits } from './fetch-json.js';

export interface KeySourceOptions {
  cacheMs: number;
  minTtlMs: number;
  maxTtlMs: number;
  unknownKidCooldownMs: number;
  /** Wait between retries while the source has never loaded. */
  retryMs: number;
  fetch: FetchLimits;
  now: () => number;
  onError?: (url: string, message: string) => void;
}

/** What the admin API shows for one key source. */
export interface KeySourceStatus {
  url: string;
  jwksUri: string | null;
  issuer: string | null;
  keys: number;
  kids: string[];
  lastSuccess: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  fetches: number;
}

export class RemoteKeySource {
  private keys: VerifyKey[] = [];
  private byKid = new Map<string, VerifyKey[]>();
  private jwksUri: string | null = null;
  issuer: string | null = null;
  loaded = false;
  private expiresAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastForced = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private lastSuccess = 0;
  private lastError: string | null = null;
  private lastErrorAt = 0;
  /** Number of fetch rounds started (discovery + JWKS count as one). */
  fetches = 0;

  constructor(
    readonly url: string,
    private readonly opts: KeySourceOptions,
  ) {}

  /** Start a refresh unless one is running; resolves when it ends (never rejects). */
  refresh(): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    this.lastAttempt = this.opts.now();
    this.fetches++;
    this.inflight = this.load().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Called per request: starts a background refresh when stale (or retry time passed while never loaded). */
  maintain(now: number): void {
    if (this.inflight !== null) return;
    if (this.loaded ? now >= this.expiresAt : now - this.lastAttempt >= this.opts.retryMs) void this.refresh();
  }

  /** The in-flight refresh, if any. */
  pending(): Promise<void> | null {
    return this.inflight;
  }

  /**
   * An unknown kid was seen: refetch now unless the cooldown has not passed.
   * Returns the refresh to wait for, or null when refused.
   */
  refetchForUnknownKid(now: number): Promise<void> | null {
    if (this.inflight !== null) return this.inflight;
    if (now - this.lastForced < this.opts.unknownKidCooldownMs) return null;
    this.lastForced = now;
    return this.refresh();
  }

  byKeyId(kid: string): readonly VerifyKey[] | undefined {
    return this.byKid.get(kid);
  }

  all(): readonly VerifyKey[] {
    return this.keys;
  }

  status(): KeySourceStatus {
    return {
      url: this.url,
      jwksUri: this.jwksUri,
      issuer: this.issuer,
      keys: this.keys.length,
      kids: [...this.byKid.keys()],
      lastSuccess: this.lastSuccess === 0 ? null : new Date(this.lastSuccess).toISOString(),
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt === 0 ? null : new Date(this.lastErrorAt).toISOString(),
      fetches: this.fetches,
    };
  }

  private ttl(maxAge: number | undefined): number {
    if (maxAge === undefined) return this.opts.cacheMs;
    return Math.min(this.opts.maxTtlMs, Math.max(this.opts.minTtlMs, maxAge));
  }

  private async load(): Promise<void> {
    try {
      const disco = await fetchJson(this.url, this.opts.fetch);
      const doc = disco.value as { jwks_uri?: unknown; issuer?: unknown } | null;
      if (typeof doc !== 'object' || doc === null || typeof doc.jwks_uri !== 'string')
        throw new Error('discovery document has no "jwks_uri"');
      const jwksUri = new URL(doc.jwks_uri, this.url);
      if (jwksUri.protocol !== 'https:' && jwksUri.protocol !== 'http:') throw new Error('jwks_uri is not an http(s) URL');
      const jwks = await fetchJson(jwksUri.href, this.opts.fetch);
      const { keys, skipped } = importJwks(jwks.value, jwksUri.href);
      if (keys.length === 0)
        throw new Error(`JWKS has no usable signing key${skipped.length > 0 ? ` (${skipped.slice(0, 3).join('; ')})` : ''}`);
      const byKid = new Map<string, VerifyKey[]>();
      for (const k of keys) {
        if (k.kid === undefined) continue;
        const list = byKid.get(k.kid);
        if (list === undefined) byKid.set(k.kid, [k]);
        else list.push(k);
      }
      this.keys = keys;
      this.byKid = byKid;
      this.jwksUri = jwksUri.href;
      this.issuer = typeof doc.issuer === 'string' ? doc.issuer : null;
      this.loaded = true;
      const now = this.opts.now();
      this.lastSuccess = now;
      this.expiresAt = now + Math.min(this.ttl(disco.maxAgeMs), this.ttl(jwks.maxAgeMs));
      this.lastError = null;
    } catch (err) {
      const message = (err as Error).message;
      this.lastError = message;
      this.lastErrorAt = this.opts.now();
      // Keep the last good keys; try again after the retry delay rather than on every request.
      if (this.loaded) this.expiresAt = this.lastErrorAt + this.opts.retryMs;
      this.opts.onError?.(this.url, message);
    }
  }
}
