/**
 * inFlightReq (Traefik): at most `amount` simultaneous requests per source
 * (sourceCriterion; default the request host, as in Traefik). Over the limit
 * the request gets 429 at once. A slot is released when the response ends or
 * is aborted. Counters are per worker process, or, with `--redis.endpoints`,
 * leases in Redis shared by every replica (store-redis.ts, docs/redis.md);
 * `redis.onFailure` says what happens while Redis cannot answer.
 */
import { Type } from '@sinclair/typebox';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { answer } from '../../http/answers.js';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';
import { compileSourceCriterion, SourceCriterionSchema } from '../source-criterion/index.js';
import { DoneWriter } from '../circuit-breaker/done-writer.js';
import { isRedisStore } from '../rate-limit/store-redis.js';
import { DEFAULT_ON_FAILURE, RedisMiddlewareSchema, checkRedisBlock, localShare } from '../rate-limit/redis-middleware.js';

export const InFlightReqSchema = Type.Object(
  {
    /** Absent: 0, which refuses every request with 429, as in Traefik (a warning says so). */
    amount: Type.Optional(Type.Integer()),
    sourceCriterion: Type.Optional(SourceCriterionSchema),
    /** With `--redis.endpoints`: what to do when Redis cannot answer (docs/redis.md). */
    redis: Type.Optional(RedisMiddlewareSchema),
  },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'inFlightReq',
  schema: InFlightReqSchema,
  check: (o) => [
    ...((o.amount ?? 0) > 0
      ? []
      : [
          {
            path: 'amount',
            message: `${o.amount === undefined ? 'missing, so 0' : `is ${o.amount}`}: every request answers 429 (Traefik does the same); set amount to at least 1`,
            critical: false,
          },
        ]),
    ...checkRedisBlock('inFlightReq', o.redis),
  ],
  create(o, deps) {
    const redisProblem = checkRedisBlock('inFlightReq', o.redis)[0];
    if (redisProblem !== undefined) throw new MiddlewareOptionError('redis', redisProblem.message);
    const amount = o.amount ?? 0;
    const source = compileSourceCriterion(o.sourceCriterion, 'host');
    const counts = new Map<string, number>();
    const body = `max connections reached: ${amount}`;
    deps.onClose(() => counts.clear());
    const log = deps.log;

    /** This process's own counter: at most `limit` for `key`. */
    const local = (ctx: RequestContext, key: string, limit: number, next: Handler): void => {
      const n = counts.get(key) ?? 0;
      if (n >= limit) {
        answer(ctx, 'GH_TOO_MANY_IN_FLIGHT', { body });
        return;
      }
      counts.set(key, n + 1);
      ctx.rw = new DoneWriter(ctx.rw, () => {
        const left = (counts.get(key) ?? 1) - 1;
        if (left <= 0) counts.delete(key);
        else counts.set(key, left);
      });
      next(ctx);
    };

    const store = deps.rateLimitStore;
    if (!isRedisStore(store) || amount <= 0) {
      if (o.redis !== undefined && !isRedisStore(store))
        log.warn(
          { middleware: deps.name },
          'inFlightReq.redis is set but the gateway runs without --redis.endpoints: the limit holds per process',
        );
      return (next: Handler): Handler =>
        function inFlightReq(ctx) {
          local(ctx, source(ctx), amount, next);
        };
    }

    const mode = o.redis?.onFailure ?? DEFAULT_ON_FAILURE;
    const localAmount = localShare(amount, o.redis?.replicas ?? store.replicas);
    const prefix = `${deps.name}\u0000`;
    return (next: Handler): Handler => {
      // Runs after a promise: a throw must still answer.
      const run = (ctx: RequestContext, fn: () => void): void => {
        try {
          fn();
        } catch (err) {
          log.error({ middleware: deps.name, err: (err as Error).message }, 'handler failed after inFlightReq');
          answer(ctx, 'GH_INTERNAL');
        }
      };
      return function inFlightReq(ctx) {
        const src = source(ctx);
        const key = prefix + src;
        store.acquire(key, amount).then(
          (id) =>
            run(ctx, () => {
              if (id === null) {
                answer(ctx, 'GH_TOO_MANY_IN_FLIGHT', { body });
                return;
              }
              ctx.rw = new DoneWriter(ctx.rw, () => store.release(key, id));
              next(ctx);
            }),
          () =>
            run(ctx, () => {
              store.conn.countFallback(deps.name, mode);
              if (mode === 'open') next(ctx);
              else if (mode === 'closed') answer(ctx, 'GH_REDIS_UNAVAILABLE');
              else local(ctx, src, localAmount, next);
            }),
        );
      };
    };
  },
});
