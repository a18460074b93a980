/**
 * The rate-limit store contract this middleware uses. It extends the core
 * RateLimitStore (take) with `reserve`, the reservation semantics of Go's
 * golang.org/x/time/rate that Traefik relies on: a request may take a token
 * "on credit" and wait up to `maxDelayMs` for it; beyond that it is refused
 * and nothing is taken.
 */
import type { RateLimitStore } from '../types.js';

export interface Reservation {
  /** True when the request may proceed (after `delayMs`). */
  allowed: boolean;
  /** How long to wait before proceeding (0 when a token was available). */
  delayMs: number;
  /** When refused: how long until a token would be available. */
  retryAfterMs: number;
}

export interface ReservingRateLimitStore extends RateLimitStore {
  reserve(key: string, ratePerSecond: number, burst: number, maxDelayMs: number): Promise<Reservation>;
}

export function isReserving(s: RateLimitStore): s is ReservingRateLimitStore {
  return typeof (s as Partial<ReservingRateLimitStore>).reserve === 'function';
}

/** IPC request from a worker to the primary. */
export interface RlRequest {
  gh: 'rl';
  id: number;
  key: string;
  rate: number;
  burst: number;
  maxDelayMs: number;
}

/** IPC answer from the primary to one worker. */
export interface RlAnswer extends Reservation {
  gh: 'rl';
  id: number;
}

/** Longest bucket key accepted over IPC (keys are `<middleware>\0<source>`). */
export const MAX_KEY_LENGTH = 2048;

export function isRlRequest(m: unknown): m is RlRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return (
    r.gh === 'rl' &&
    typeof r.id === 'number' &&
    typeof r.key === 'string' &&
    r.key.length <= MAX_KEY_LENGTH &&
    typeof r.rate === 'number' &&
    r.rate > 0 &&
    typeof r.burst === 'number' &&
    r.burst >= 1 &&
    typeof r.maxDelayMs === 'number' &&
    r.maxDelayMs >= 0
  );
}

export function isRlAnswer(m: unknown): m is RlAnswer {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return r.gh === 'rl' && typeof r.id === 'number' && typeof r.allowed === 'boolean' && typeof r.delayMs === 'number';
}
