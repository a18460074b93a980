/**
 * rateLimit (Traefik): a token bucket per source (sourceCriterion, default the
 * client's remote address) refilled at average/period, holding up to burst.
 * As in Traefik (golang.org/x/time/rate reservations), a request that finds
 * no token may wait for one up to a small maximum delay (half the interval
 * between two tokens, at most 500 ms for rates under 1/s); otherwise it gets
 * 429 "Too Many Requests" with Retry-After and X-Retry-In.
 *
 * All state lives in deps.rateLimitStore so the limit holds across workers.
 * A store with `reserve` (see store.ts) gives Traefik's delay semantics; a
 * plain RateLimitStore (take only) gives allow/deny without delay. With
 * `--redis.endpoints` the store is Redis (store-redis.ts), shared by every
 * replica, and `redis.onFailure` says what happens while Redis cannot answer.
 */
import { Type } from '@sinclair/typebox';
import { parseDuration } from '../../util/duration.js';
import { answer } from '../../http/answers.js';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError, type RateLimitStore } from '../types.js';
import { compileSourceCriterion, SourceCriterionSchema } from '../source-criterion/index.js';
import { isReserving, type Reservation } from './store.js';
import { isRedisStore, type RedisLimitStore } from './store-redis.js';
import { DEFAULT_ON_FAILURE, RedisMiddlewareSchema, checkRedisBlock, localShare, type RedisMiddlewareOptions } from './redis-middleware.js';

export const RateLimitSchema = Type.Object(
  {
    /** Requests allowed per period on average; 0 (default) disables the limit. */
    average: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Period of `average` (Go duration or seconds). Default 1s. */
    period: Type.Optional(Type.Union([Type.String(), Type.Number()])),
    /** Bucket size: requests allowed at once. Default 1. */
    burst: Type.Optional(Type.Integer({ minimum: 0 })),
    sourceCriterion: Type.Optional(SourceCriterionSchema),
    /** With `--redis.endpoints` the buckets live in Redis, shared by every replica; this block says what to do when Redis cannot answer (docs/redis.md). */
    redis: Type.Optional(RedisMiddlewareSchema),
  },
  { additionalProperties: false },
);

/** Go's time.Duration.String() for a positive number of ms (used by X-Retry-In). */
export function goDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const trim = (n: number): string => String(Number(n.toFixed(6)));
  if (ms < 1e-3) return `${Math.round(ms * 1e6)}ns`;
  if (ms < 1) return `${trim(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS - h * 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  if (h > 0) return `${h}h${m}m${trim(s)}s`;
  if (m > 0) return `${m}m${trim(s)}s`;
  return `${trim(s)}s`;
}

function deny(ctx: RequestContext, retryAfterMs: number): void {
  answer(ctx, 'GH_RATE_LIMITED', {
    headers: { 'retry-after': String(Math.floor(retryAfterMs / 1000) + 1), 'x-retry-in': goDuration(retryAfterMs) },
  });
}

export const middleware = defineMiddleware({
  type: 'rateLimit',
  schema: RateLimitSchema,
  check: (o) => checkRedisBlock('rateLimit', o.redis),
  create(o, deps) {
    const redisProblem = checkRedisBlock('rateLimit', o.redis)[0];
    if (redisProblem !== undefined) throw new MiddlewareOptionError('redis', redisProblem.message);
    let periodMs = 1000;
    if (o.period !== undefined) {
      try {
        periodMs = parseDuration(o.period);
      } catch (err) {
        throw new MiddlewareOptionError('period', (err as Error).message);
      }
    }
    if (periodMs === 0) periodMs = 1000;
    const average = o.average ?? 0;
    if (average < 0) throw new MiddlewareOptionError('average', 'must not be negative');
    const source = compileSourceCriterion(o.sourceCriterion, 'ip');
    if (average === 0) return (next) => next;
    const rate = (average * 1000) / periodMs;
    const burst = Math.max(1, o.burst ?? 1);
    const maxDelayMs = maxDelayOf(rate);
    const store: RateLimitStore = deps.rateLimitStore;
    const prefix = `${deps.name}\u0000`;
    const log = deps.log;
    if (o.redis !== undefined && !isRedisStore(store))
      log.warn(
        { middleware: deps.name },
        'rateLimit.redis is set but the gateway runs without --redis.endpoints: the limit holds per replica',
      );
    const reserve: (key: string) => Promise<Reservation> = isRedisStore(store)
      ? redisReserve(store, o.redis, deps.name, rate, burst, maxDelayMs)
      : isReserving(store)
        ? (key) => store.reserve(key, rate, burst, maxDelayMs)
        : (key) => store.take(key, rate, burst).then((r) => ({ allowed: r.allowed, delayMs: 0, retryAfterMs: r.retryAfterMs }));

    return (next: Handler): Handler => {
      // Runs outside the caller's stack (promise / timer): a throw must still answer.
      const run = (ctx: RequestContext): void => {
        try {
          next(ctx);
        } catch (err) {
          log.error({ middleware: deps.name, err: (err as Error).message }, 'handler failed after rateLimit');
          answer(ctx, 'GH_INTERNAL');
        }
      };
      const proceed = (ctx: RequestContext, r: Reservation): void => {
        if (r === STORE_CLOSED) answer(ctx, 'GH_REDIS_UNAVAILABLE');
        else if (!r.allowed) deny(ctx, r.retryAfterMs);
        else if (r.delayMs <= 0) run(ctx);
        else setTimeout(run, r.delayMs, ctx);
      };
      return function rateLimit(ctx) {
        reserve(prefix + source(ctx)).then(
          (r) => proceed(ctx, r),
          (err: unknown) => {
            // Fail open: a broken store must not take the gateway down.
            log.warn({ middleware: deps.name, err: (err as Error).message }, 'rate-limit store failed; request allowed');
            run(ctx);
          },
        );
      };
    };
  },
});

/** Traefik's longest wait for a token: half the interval between two tokens, 500 ms under 1/s. */
function maxDelayOf(rate: number): number {
  return rate < 1 ? 500 : 1000 / (Math.floor(rate) * 2);
}

/** `redis.onFailure: closed`: the request is answered 503 GH_REDIS_UNAVAILABLE. */
const STORE_CLOSED: Reservation = Object.freeze({ allowed: false, delayMs: 0, retryAfterMs: 0 });
const ALLOW: Reservation = Object.freeze({ allowed: true, delayMs: 0, retryAfterMs: 0 });

/** Reservations in Redis; when Redis cannot answer, the middleware's onFailure mode. */
function redisReserve(
  store: RedisLimitStore,
  r: RedisMiddlewareOptions | undefined,
  name: string,
  rate: number,
  burst: number,
  maxDelayMs: number,
): (key: string) => Promise<Reservation> {
  const mode = r?.onFailure ?? DEFAULT_ON_FAILURE;
  const replicas = r?.replicas ?? store.replicas;
  const localRate = rate / replicas;
  const localBurst = localShare(burst, replicas);
  const localDelay = maxDelayOf(localRate);
  const onFailure = (key: string): Promise<Reservation> | Reservation => {
    store.conn.countFallback(name, mode);
    if (mode === 'open') return ALLOW;
    if (mode === 'closed') return STORE_CLOSED;
    return store.fallback.reserve(key, localRate, localBurst, localDelay);
  };
  return (key) => store.reserve(key, rate, burst, maxDelayMs).catch(() => onFailure(key));
}
