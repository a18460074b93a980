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
 * plain RateLimitStore (take only) gives allow/deny without delay.
 */
import { Type } from '@sinclair/typebox';
import { parseDuration } from '../../util/duration.js';
import { answer } from '../../http/answers.js';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError, type RateLimitStore } from '../types.js';
import { compileSourceCriterion, SourceCriterionSchema } from '../source-criterion/index.js';
import { isReserving, type Reservation } from './store.js';

export const RateLimitSchema = Type.Object(
  {
    /** Requests allowed per period on average; 0 (default) disables the limit. */
    average: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Period of `average` (Go duration or seconds). Default 1s. */
    period: Type.Optional(Type.Union([Type.String(), Type.Number()])),
    /** Bucket size: requests allowed at once. Default 1. */
    burst: Type.Optional(Type.Integer({ minimum: 0 })),
    sourceCriterion: Type.Optional(SourceCriterionSchema),
    /** Traefik v3 shares buckets through Redis; refused here until the Redis store arrives (see `check`). */
    redis: Type.Optional(Type.Unknown()),
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
  check: (o) =>
    o.redis === undefined
      ? []
      : [
          {
            path: 'redis',
            message:
              'rateLimit.redis is not supported yet (the Redis rate-limit store comes with the Kubernetes issue): remove it; the limit then holds per gateway process group (workers share it through the primary)',
          },
        ],
  create(o, deps) {
    if (o.redis !== undefined) throw new MiddlewareOptionError('redis', 'is not supported yet');
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
    const maxDelayMs = rate < 1 ? 500 : 1000 / (Math.floor(rate) * 2);
    const store: RateLimitStore = deps.rateLimitStore;
    const prefix = `${deps.name}\u0000`;
    const log = deps.log;
    const reserve: (key: string) => Promise<Reservation> = isReserving(store)
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
        if (!r.allowed) deny(ctx, r.retryAfterMs);
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
