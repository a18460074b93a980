/**
 * Passive health checks (Traefik v3 `loadBalancer.passiveHealthCheck`): a
 * request that gets no answer from a server, or a 5xx, is a failure; an answer
 * below 500 clears the server's failures. `maxFailedAttempts` failures
 * (default 1) within `failureWindow` (default 10s) take the server out of the
 * rotation; it comes back when the window has passed, or, when the service
 * also has an active `healthCheck`, when a probe passes again (Traefik's rule).
 * Each worker process counts on its own, as each probes on its own.
 */
import type { PassiveHealthCheckConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { parseDuration } from '../util/duration.js';
import type { HealthTarget } from './health-check.js';

export interface PassiveHealthOptions {
  service: string;
  config: PassiveHealthCheckConfig;
  /** True: bring a server back when its window ends (no active health check). */
  restore: boolean;
  log: Logger;
  onChange?: (target: HealthTarget, healthy: boolean) => void;
}

export class PassiveHealth {
  private readonly windowMs: number;
  private readonly max: number;
  private readonly failures = new Map<HealthTarget, number[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: PassiveHealthOptions) {
    this.windowMs = parseDuration(o.config.failureWindow ?? '10s');
    this.max = o.config.maxFailedAttempts ?? 1;
  }

  succeeded(t: HealthTarget): void {
    if (this.failures.size !== 0) this.failures.delete(t);
  }

  failed(t: HealthTarget, now = Date.now()): void {
    if (this.closed || !t.healthy) return;
    const since = now - this.windowMs;
    const list = (this.failures.get(t) ?? []).filter((at) => at > since);
    list.push(now);
    this.failures.set(t, list);
    if (list.length < this.max) return;
    this.failures.delete(t);
    t.healthy = false;
    t.downReason = `passive health check: ${list.length} failed request${list.length === 1 ? '' : 's'} (no answer or 5xx) within ${this.windowMs}ms`;
    this.o.log.warn(
      { service: this.o.service, server: t.url, healthy: false, reason: t.downReason, failures: list.length, windowMs: this.windowMs },
      'passive health check: server taken out of rotation',
    );
    this.o.onChange?.(t, false);
    if (!this.o.restore) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      t.healthy = true;
      t.downReason = null;
      this.o.log.warn({ service: this.o.service, server: t.url }, 'passive health check: failure window over, server back in rotation');
      this.o.onChange?.(t, true);
    }, this.windowMs);
    timer.unref();
    this.timers.add(timer);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
