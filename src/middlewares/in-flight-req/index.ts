/**
 * inFlightReq (Traefik): at most `amount` simultaneous requests per source
 * (sourceCriterion; default the request host, as in Traefik). Over the limit
 * the request gets 429 at once. A slot is released when the response ends or
 * is aborted. Counters are per worker process.
 */
import { Type } from '@sinclair/typebox';
import type { Handler } from '../../http/handler.js';
import { answer } from '../../http/answers.js';
import { defineMiddleware } from '../types.js';
import { compileSourceCriterion, SourceCriterionSchema } from '../source-criterion/index.js';
import { DoneWriter } from '../circuit-breaker/done-writer.js';

export const InFlightReqSchema = Type.Object(
  {
    /** Absent: 0, which refuses every request with 429, as in Traefik (a warning says so). */
    amount: Type.Optional(Type.Integer()),
    sourceCriterion: Type.Optional(SourceCriterionSchema),
  },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'inFlightReq',
  schema: InFlightReqSchema,
  check: (o) =>
    (o.amount ?? 0) > 0
      ? []
      : [
          {
            path: 'amount',
            message: `${o.amount === undefined ? 'missing, so 0' : `is ${o.amount}`}: every request answers 429 (Traefik does the same); set amount to at least 1`,
            critical: false,
          },
        ],
  create(o, deps) {
    const amount = o.amount ?? 0;
    const source = compileSourceCriterion(o.sourceCriterion, 'host');
    const counts = new Map<string, number>();
    const body = `max connections reached: ${amount}`;
    deps.onClose(() => counts.clear());
    return (next: Handler): Handler =>
      function inFlightReq(ctx) {
        const key = source(ctx);
        const n = counts.get(key) ?? 0;
        if (n >= amount) {
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
  },
});
