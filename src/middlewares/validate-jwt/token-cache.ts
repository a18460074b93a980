/**
 * Verified tokens by SHA-256 of the token, until their expiry: a bounded LRU
 * (Map insertion order), so a repeat call costs one hash and one look-up.
 */
import * as crypto from 'node:crypto';

export interface CachedToken {
  claims: Record<string, unknown>;
  caller: string | null;
  /** Header values to set, aligned with the compiled claimsToHeaders names (null: remove). */
  headerValues: (string | null)[];
  /** Expiry in epoch seconds plus the clock skew allowance. */
  validUntilSec: number;
}

/** One-shot `crypto.hash` (Node ≥ 20.12) skips the Hash object; older Nodes use createHash. */
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

export function tokenKey(token: string): string {
  return oneShot !== undefined ? oneShot('sha256', token, 'base64') : crypto.createHash('sha256').update(token).digest('base64');
}

interface Slot {
  entry: CachedToken;
  /** Insertion generation: hits re-insert (LRU touch) only entries that have grown old. */
  gen: number;
}

export class TokenCache {
  private readonly map = new Map<string, Slot>();
  private gen = 0;
  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, nowSec: number): CachedToken | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    const e = slot.entry;
    if (nowSec >= e.validUntilSec) {
      this.map.delete(key);
      return undefined;
    }
    // A hot token costs one look-up; it moves to the young end only once it is half a cache old.
    if (this.gen - slot.gen > this.max >> 1) {
      this.map.delete(key);
      slot.gen = ++this.gen;
      this.map.set(key, slot);
    }
    return e;
  }

  set(key: string, entry: CachedToken): void {
    if (this.max <= 0) return;
    this.map.delete(key);
    this.map.set(key, { entry, gen: ++this.gen });
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  clear(): void {
    this.map.clear();
  }
}
