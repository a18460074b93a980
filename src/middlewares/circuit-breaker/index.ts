/**
 * circuitBreaker (Traefik): watches the responses of what it wraps and, when
 * `expression` holds, answers every request itself with `responseCode`
 * (default 503) and the status text for fallbackDuration, then lets traffic
 * back in gradually for recoveryDuration (see breaker.ts).
 * A network error is a response the gateway produced itself for a failed
 * upstream attempt (ctx.upstreamError set, or status 502/504).
 */
import { Type } from '@sinclair/typebox';
import { REASONS } from '../../http1/reasons.js';
import { performance } from 'node:perf_hooks';
import { parseDuration } from '../../util/duration.js';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';
import { parseExpression } from './expression.js';
import { Breaker } from './breaker.js';
import { DoneWriter } from './done-writer.js';

export const CircuitBreakerSchema = Type.Object(
  {
    expression: Type.String(),
    checkPeriod: Type.Optional(Type.Union([Type.String(), Type.Number()])),
    fallbackDuration: Type.Optional(Type.Union([Type.String(), Type.Number()])),
    recoveryDuration: Type.Optional(Type.Union([Type.String(), Type.Number()])),
    responseCode: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

function duration(field: string, v: string | number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  try {
    return parseDuration(v);
  } catch (err) {
    throw new MiddlewareOptionError(field, (err as Error).message);
  }
}

export const middleware = defineMiddleware({
  type: 'circuitBreaker',
  schema: CircuitBreakerSchema,
  create(o, deps) {
    let condition: ReturnType<typeof parseExpression>;
    try {
      condition = parseExpression(o.expression);
    } catch (err) {
      throw new MiddlewareOptionError('expression', `${(err as Error).message} in "${o.expression}"`);
    }
    const code = o.responseCode ?? 503;
    if (code < 100 || code > 599) throw new MiddlewareOptionError('responseCode', `must be an HTTP status code (got ${code})`);
    const breaker = new Breaker({
      condition,
      checkPeriodMs: duration('checkPeriod', o.checkPeriod, 100) || 100,
      fallbackMs: duration('fallbackDuration', o.fallbackDuration, 10_000),
      recoveryMs: duration('recoveryDuration', o.recoveryDuration, 10_000),
      onStateChange: (from, to) => deps.log.info({ middleware: deps.name, from, to }, 'circuit breaker state change'),
    });
    const body = Buffer.from(REASONS[code] ?? '');
    const fallback = (ctx: RequestContext): void => {
      ctx.code = 'GH_CIRCUIT_OPEN';
      ctx.rw.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
      ctx.rw.end(body);
    };
    return (next: Handler): Handler =>
      function circuitBreaker(ctx) {
        if (breaker.shouldFallback()) {
          fallback(ctx);
          return;
        }
        const start = performance.now();
        ctx.rw = new DoneWriter(ctx.rw, (status) => {
          const s = ctx.upstreamError !== null && status !== 504 ? 502 : status;
          breaker.record(s, performance.now() - start);
        });
        next(ctx);
      };
  },
});
