/**
 * Verified tokens by SHA-256 of the token, until their expiry: a bounded LRU
 * (Map insertion order), so a repeat call costs one hash and one look-up.
 */
import { createHash } from 'node:crypto';

export interface CachedToken {
  claims: Record<string, unknown>;
  caller: string | null;
  /** Header values to set, aligned with the compiled claimsToHeaders names (null: remove). */
  headerValues: (string | null)[];
  /** Expiry in epoch seconds plus the clock skew allowance. */
  validUntilSec: number;
}

export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

export class TokenCache {
  private readonly map = new Map<string, CachedToken>();
  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, nowSec: number): CachedToken | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    if (nowSec >= e.validUntilSec) return undefined;
    this.map.set(key, e);
    return e;
  }

  set(key: string, entry: CachedToken): void {
    if (this.max <= 0) return;
    this.map.delete(key);
    this.map.set(key, entry);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  clear(): void {
    this.map.clear();
  }
}
