/**
 * Failed client authentications, counted per client id and source IP in a
 * fixed window, kept in this process's memory (bounded). After `maxFailures`
 * in `windowMs` the pair is refused until the window ends, before any secret
 * is checked (so guessing costs the attacker time, not the gateway CPU).
 */
/** What the token endpoint asks: this process's limiter, or the one shared through Redis (shared-failure-limiter.ts). */
export interface ClientFailureLimiter {
  /** ms until the pair may try again; 0 when allowed. */
  blockedFor(client: string, ip: string): number | Promise<number>;
  fail(client: string, ip: string): void | Promise<void>;
  succeed(client: string, ip: string): void | Promise<void>;
}

export class FailureLimiter implements ClientFailureLimiter {
  private readonly entries = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  /** ms until the pair may try again; 0 when allowed. */
  blockedFor(client: string, ip: string): number {
    const e = this.entries.get(`${client}\n${ip}`);
    if (e === undefined) return 0;
    const now = this.now();
    if (now >= e.resetAt) {
      this.entries.delete(`${client}\n${ip}`);
      return 0;
    }
    return e.count >= this.maxFailures ? e.resetAt - now : 0;
  }

  fail(client: string, ip: string): void {
    const key = `${client}\n${ip}`;
    const now = this.now();
    const e = this.entries.get(key);
    if (e === undefined || now >= e.resetAt) {
      this.entries.delete(key);
      this.entries.set(key, { count: 1, resetAt: now + this.windowMs });
      if (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next();
        if (oldest.done !== true) this.entries.delete(oldest.value);
      }
    } else e.count++;
  }

  succeed(client: string, ip: string): void {
    this.entries.delete(`${client}\n${ip}`);
  }
}
