/**
 * Failed client authentications counted across replicas in Redis: one counter
 * per client id and source IP (`INCR`, with `PEXPIRE` of the window set by the
 * first failure, in one script), so N failures spread over every replica trip
 * the limit as one. Every failure is also counted by this process's limiter,
 * which decides alone while Redis cannot answer.
 */
import { createHash } from 'node:crypto';
import type { ClientFailureLimiter, FailureLimiter } from './failure-limiter.js';
import type { SharedRedis } from './shared-redis.js';
import { REDIS_KEYS } from './shared-redis.js';

const FAIL_LUA = `local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;
const STATE_LUA = `local n = redis.call('GET', KEYS[1])
if not n then return {0, 0} end
return {tonumber(n), redis.call('PTTL', KEYS[1])}`;

export class SharedFailureLimiter implements ClientFailureLimiter {
  constructor(
    private readonly redis: SharedRedis,
    private readonly local: FailureLimiter,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private key(client: string, ip: string): string {
    return REDIS_KEYS.failPrefix + createHash('sha256').update(`${client}\n${ip}`).digest('hex').slice(0, 32);
  }

  async blockedFor(client: string, ip: string): Promise<number> {
    if (!this.redis.up) return this.local.blockedFor(client, ip);
    try {
      const r = (await this.redis.run((c) => c.eval(STATE_LUA, 1, this.key(client, ip)))) as [number, number];
      const [n, ttl] = r;
      return n >= this.maxFailures ? Math.max(1, ttl > 0 ? ttl : this.windowMs) : 0;
    } catch {
      return this.local.blockedFor(client, ip);
    }
  }

  async fail(client: string, ip: string): Promise<void> {
    this.local.fail(client, ip);
    if (!this.redis.up) return;
    await this.redis.run((c) => c.eval(FAIL_LUA, 1, this.key(client, ip), String(this.windowMs))).catch(() => undefined);
  }

  async succeed(client: string, ip: string): Promise<void> {
    this.local.succeed(client, ip);
    if (!this.redis.up) return;
    await this.redis.run((c) => c.del(this.key(client, ip))).catch(() => undefined);
  }
}
