/**
 * The Redis store shared by every replica (docs/redis.md).
 *
 * Rate limits: GCRA in one Lua script, on Redis's clock (`TIME` inside the
 * script). A bucket is one string key holding its theoretical arrival time
 * (TAT, µs); the answer has the reservation semantics of the in-process
 * store (bucket.ts, Go's x/time/rate): allowed at once, allowed after
 * `delayMs`, or refused with `retryAfterMs` and nothing taken. The key
 * expires when the bucket would be full again, so idle keys disappear.
 *
 * In-flight limits: a sorted set of leases per key (member: a lease id,
 * score: its expiry on Redis's clock). Acquiring drops expired leases and
 * adds one when fewer than `amount` remain; the response's end removes it;
 * every running request's lease is refreshed every `leaseMs / 3`, so the
 * slots of a replica that crashed free themselves within `leaseMs`.
 *
 * Every call goes through RedisConnection (timeout, circuit breaker) and
 * throws RedisUnavailableError when Redis cannot answer; the middlewares
 * apply their `redis.onFailure` mode. `fallback` is the store of this
 * replica (memory, or the workers' IPC store) that `local` uses.
 */
import { randomBytes } from 'node:crypto';
import type { Reservation, ReservingRateLimitStore } from './store.js';
import type { RateLimitStore } from '../types.js';
import type { RedisClient, RedisConnection } from './redis-client.js';

/** GCRA reservation. KEYS[1]: the bucket. ARGV: emission interval (µs), burst, longest delay (µs). → {allowed, delay µs, retry µs}. */
export const RESERVE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local maxDelay = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local newTat = tat + interval
local wait = newTat - now - burst * interval
if wait > maxDelay then
  return {0, 0, math.ceil(wait)}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000) + 1)
if wait <= 0 then return {1, 0, 0} end
return {1, math.ceil(wait), 0}
`;

/** Lease acquisition. KEYS[1]: the set. ARGV: amount, lease id, lease ms. → {acquired, leases held}. */
export const ACQUIRE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return {0, n} end
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
return {1, n + 1}
`;

/** Lease refresh. KEYS[1]: the set. ARGV: lease ms, then lease ids. → how many were still held. */
export const REFRESH_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local held = 0
for i = 2, #ARGV do
  held = held + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return held
`;

interface Scripted {
  ghReserve(key: string, intervalUs: string, burst: number, maxDelayUs: string): Promise<[number, number, number]>;
  ghAcquire(key: string, amount: number, id: string, leaseMs: number): Promise<[number, number]>;
  ghRefresh(key: string, leaseMs: number, ...ids: string[]): Promise<number>;
}

export function defineScripts(c: RedisClient): void {
  c.defineCommand('ghReserve', { numberOfKeys: 1, lua: RESERVE_LUA });
  c.defineCommand('ghAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
  c.defineCommand('ghRefresh', { numberOfKeys: 1, lua: REFRESH_LUA });
}

const scripted = (c: RedisClient): Scripted => c as unknown as Scripted;

export const RATE_PREFIX = 'gatehouse:rl:';
export const IN_FLIGHT_PREFIX = 'gatehouse:if:';

export interface RedisStoreOptions {
  /** How long an in-flight lease lives without a refresh, ms. Default 15 s. */
  leaseMs?: number;
}

/** Rate and in-flight limits in Redis; `isRedisStore` tells the middlewares apart from the per-process stores. */
export class RedisLimitStore implements ReservingRateLimitStore {
  readonly redisStore = true;
  readonly leaseMs: number;
  /** The lease ids of the requests running in this process, by set key. */
  readonly #leases = new Map<string, Set<string>>();
  readonly #leasePrefix = randomBytes(6).toString('hex');
  #nextLease = 1;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly conn: RedisConnection,
    /** This replica's own store (memory, or the workers' IPC store): what `onFailure: local` uses. */
    readonly fallback: ReservingRateLimitStore,
    opts: RedisStoreOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 15_000;
    defineScripts(conn.client);
    this.#timer = setInterval(() => void this.#refresh(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.#timer.unref();
  }

  get replicas(): number {
    return this.conn.options.replicas;
  }

  /** One GCRA reservation on Redis's clock; throws RedisUnavailableError when Redis cannot answer. */
  async reserve(key: string, ratePerSecond: number, burst: number, maxDelayMs: number): Promise<Reservation> {
    const intervalUs = (1e6 / ratePerSecond).toString();
    const [ok, delayUs, retryUs] = await this.conn.run((c) =>
      scripted(c).ghReserve(RATE_PREFIX + key, intervalUs, burst, Math.floor(maxDelayMs * 1000).toString()),
    );
    return { allowed: ok === 1, delayMs: delayUs / 1000, retryAfterMs: retryUs / 1000 };
  }

  async take(key: string, ratePerSecond: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const r = await this.reserve(key, ratePerSecond, burst, 0);
    return { allowed: r.allowed, retryAfterMs: Math.ceil(r.retryAfterMs) };
  }

  /** Take an in-flight slot of `key` (at most `amount` held); resolves the lease id, or null when all are held. */
  async acquire(key: string, amount: number): Promise<string | null> {
    const id = `${this.#leasePrefix}:${this.#nextLease++}`;
    const setKey = IN_FLIGHT_PREFIX + key;
    const [ok] = await this.conn.run((c) => scripted(c).ghAcquire(setKey, amount, id, this.leaseMs));
    if (ok !== 1) return null;
    let s = this.#leases.get(setKey);
    if (s === undefined) this.#leases.set(setKey, (s = new Set()));
    s.add(id);
    return id;
  }

  /** Give a slot back (when Redis cannot be reached the lease expires by itself within leaseMs). */
  release(key: string, id: string): void {
    const setKey = IN_FLIGHT_PREFIX + key;
    const s = this.#leases.get(setKey);
    if (s !== undefined) {
      s.delete(id);
      if (s.size === 0) this.#leases.delete(setKey);
    }
    this.conn.run((c) => c.zrem(setKey, id)).catch(() => undefined);
  }

  /** Leases this process holds now (all keys). */
  get leasesHeld(): number {
    let n = 0;
    for (const s of this.#leases.values()) n += s.size;
    return n;
  }

  async #refresh(): Promise<void> {
    if (this.#leases.size === 0) return;
    const work: Array<Promise<unknown>> = [];
    for (const [k, ids] of this.#leases) {
      if (ids.size === 0) continue;
      work.push(this.conn.run((c) => scripted(c).ghRefresh(k, this.leaseMs, ...ids)).catch(() => undefined));
    }
    await Promise.all(work);
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#leases.clear();
    return this.conn.close();
  }
}

export function isRedisStore(s: RateLimitStore): s is RedisLimitStore {
  return (s as Partial<RedisLimitStore>).redisStore === true;
}
