/**
 * Live key-source status of every validateJwt middleware, by qualified name,
 * for the admin API (a failing key endpoint shows its error there while the
 * last good keys stay in use). Entries are removed when their snapshot retires.
 */
import type { ValidatorStatus } from './validator.js';

const live = new Map<string, () => ValidatorStatus>();

export function registerStatus(name: string, fn: () => ValidatorStatus): () => void {
  live.set(name, fn);
  return () => {
    if (live.get(name) === fn) live.delete(name);
  };
}

/** Status of each live validateJwt middleware (`name@provider` → sources, inline keys, cached tokens). */
export function validateJwtStatus(): Record<string, ValidatorStatus> {
  const out: Record<string, ValidatorStatus> = Object.create(null) as Record<string, ValidatorStatus>;
  for (const [name, fn] of live) out[name] = fn();
  return out;
}
