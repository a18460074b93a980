/** A token bucket: `ratePerSec` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  #tokens: number;
  #at = Date.now();

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.ratePerSec);
    this.#at = now;
  }

  /** Take one token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0: now). */
  waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.ratePerSec) * 1000);
  }
}
