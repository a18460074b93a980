/**
 * The circuit breaker's state machine, as oxy's cbreaker (used by Traefik):
 *   standby    — requests pass; after a response, at most once per
 *                checkPeriod, the expression is evaluated; true → tripped.
 *   tripped    — every request gets the fallback for fallbackDuration.
 *   recovering — for recoveryDuration, a growing share of requests passes
 *                (target ratio rising linearly from 0 to 0.5, then all pass);
 *                at the end → standby.
 * Metrics are reset when the breaker trips.
 */
import { RollingMetrics } from './metrics.js';

export type BreakerState = 'standby' | 'tripped' | 'recovering';

export interface BreakerOptions {
  condition: (m: RollingMetrics) => boolean;
  checkPeriodMs: number;
  fallbackMs: number;
  recoveryMs: number;
  now?: () => number;
  onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

export class Breaker {
  state: BreakerState = 'standby';
  readonly metrics: RollingMetrics;
  private until = 0;
  private nextCheck = 0;
  private recoverStart = 0;
  private allowed = 0;
  private denied = 0;
  private readonly now: () => number;

  constructor(private readonly o: BreakerOptions) {
    this.now = o.now ?? Date.now;
    this.metrics = new RollingMetrics(this.now);
  }

  private set(to: BreakerState, until: number): void {
    const from = this.state;
    this.state = to;
    this.until = until;
    if (from !== to) this.o.onStateChange?.(from, to);
  }

  /** True when this request must get the fallback answer. */
  shouldFallback(): boolean {
    if (this.state === 'standby') return false;
    const now = this.now();
    if (this.state === 'tripped') {
      if (now < this.until) return true;
      this.set('recovering', now + this.o.recoveryMs);
      this.recoverStart = now;
      this.allowed = 0;
      this.denied = 0;
    }
    // recovering
    if (now > this.until) {
      this.set('standby', 0);
      return false;
    }
    const target = this.o.recoveryMs <= 0 ? 1 : (0.5 * (now - this.recoverStart)) / this.o.recoveryMs;
    const ratio = (this.allowed + 1) / (this.allowed + 1 + this.denied);
    if (ratio < target) {
      this.allowed++;
      return false;
    }
    this.denied++;
    return true;
  }

  /** Record one finished exchange, then maybe evaluate the condition. */
  record(status: number, latencyMs: number): void {
    this.metrics.record(status, latencyMs);
    if (this.state !== 'standby') return;
    const now = this.now();
    if (now < this.nextCheck) return;
    this.nextCheck = now + this.o.checkPeriodMs;
    if (this.o.condition(this.metrics)) {
      this.set('tripped', now + this.o.fallbackMs);
      this.metrics.reset();
    }
  }
}
