/**
 * retry (Traefik): re-sends a request that failed without any response from
 * the backend (connection refused/reset, timeout before headers), up to
 * `attempts` tries in all, waiting an exponential backoff between tries
 * (initialInterval, growing so the last wait is about twice the first, ±50%
 * jitter, as Traefik's backoff.ExponentialBackOff setup).
 *
 * Mechanism: before calling next the middleware installs ctx.retryHook; the
 * proxy calls it when an attempt failed before any response byte. The hook
 * returns true (and re-runs next after the backoff) only when attempts remain
 * and the request can be replayed safely:
 *   - nothing was sent yet (requestSent false) and the body is absent, a
 *     Buffer, or a stream not read at all; or
 *   - the request may have reached the backend, the method is idempotent
 *     (GET HEAD OPTIONS TRACE PUT DELETE) and the body is absent or a Buffer.
 * A POST that may have reached the backend is never re-sent.
 * Before each re-run the request fields the middlewares below may have
 * changed (method, path, query, headers, response writer) are restored.
 * On the last attempt the hook is removed so the proxy answers 502/504.
 */
import { Type } from '@sinclair/typebox';
import { parseDuration } from '../../util/duration.js';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import type { IncomingHttpHeaders } from 'node:http';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';

export const RetrySchema = Type.Object(
  {
    /** Total number of tries (first one included). */
    attempts: Type.Integer(),
    /** First backoff wait (Go duration or seconds). Default 100ms; 0 disables waiting. */
    initialInterval: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  },
  { additionalProperties: false },
);

const IDEMPOTENT: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  GET: true,
  HEAD: true,
  OPTIONS: true,
  TRACE: true,
  PUT: true,
  DELETE: true,
});

/** Whether the request in ctx can be sent again. */
export function canReplay(ctx: RequestContext, requestSent: boolean): boolean {
  const b = ctx.body;
  const buffered = b === null || Buffer.isBuffer(b);
  if (!requestSent) return buffered || (!b.readableDidRead && !b.destroyed);
  return buffered && IDEMPOTENT[ctx.method] === true;
}

/** Backoff before retry number `n` (1 = first retry), randomized ±50%. */
export function backoffMs(initialMs: number, multiplier: number, n: number, random = Math.random): number {
  if (initialMs <= 0) return 0;
  const base = initialMs * multiplier ** (n - 1);
  return base * (0.5 + random());
}

/** Per-request retry state; its `hook` is what the proxy calls. */
class Attempts {
  tries = 1;
  private readonly rw: ResponseWriter;
  private readonly method: string;
  private readonly path: string;
  private readonly query: string;
  private readonly headers: IncomingHttpHeaders;
  private readonly prevHook: RequestContext['retryHook'];
  readonly hook: (err: Error, requestSent: boolean) => boolean;

  constructor(
    private readonly ctx: RequestContext,
    private readonly next: Handler,
    private readonly max: number,
    private readonly initialMs: number,
    private readonly multiplier: number,
  ) {
    this.rw = ctx.rw;
    this.method = ctx.method;
    this.path = ctx.path;
    this.query = ctx.query;
    this.headers = { ...ctx.headers };
    this.prevHook = ctx.retryHook;
    this.hook = (err, requestSent) => this.onFailure(err, requestSent);
  }

  private onFailure(err: Error, requestSent: boolean): boolean {
    const ctx = this.ctx;
    if (this.tries >= this.max || !canReplay(ctx, requestSent)) {
      ctx.retryHook = this.prevHook;
      return this.prevHook !== null ? this.prevHook(err, requestSent) : false;
    }
    this.tries++;
    ctx.retries++;
    setTimeout(rerun, backoffMs(this.initialMs, this.multiplier, this.tries - 1), this);
    return true;
  }

  rerun(): void {
    const ctx = this.ctx;
    if (ctx.clientGone || ctx.req.socket?.destroyed === true) {
      // The client left while we waited: nobody to answer.
      ctx.status = 499;
      this.rw.destroy();
      return;
    }
    ctx.rw = this.rw;
    ctx.method = this.method;
    ctx.path = this.path;
    ctx.query = this.query;
    ctx.headers = { ...this.headers };
    ctx.upstreamError = null;
    ctx.originStatus = 0;
    ctx.retryHook = this.tries >= this.max ? this.prevHook : this.hook;
    try {
      this.next(ctx);
    } catch {
      if (!this.rw.headersSent) {
        ctx.code = 'GH_INTERNAL';
        const body = 'Internal Server Error';
        this.rw.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
        this.rw.end(body);
      } else this.rw.destroy();
    }
  }
}

function rerun(a: Attempts): void {
  a.rerun();
}

export const middleware = defineMiddleware({
  type: 'retry',
  schema: RetrySchema,
  create(o) {
    if (!(o.attempts > 0))
      throw new MiddlewareOptionError('attempts', `incorrect (or empty) value for attempts (${o.attempts}): must be at least 1`);
    let initialMs = 100;
    if (o.initialInterval !== undefined) {
      try {
        initialMs = parseDuration(o.initialInterval);
      } catch (err) {
        throw new MiddlewareOptionError('initialInterval', (err as Error).message);
      }
    }
    const max = o.attempts;
    if (max < 2) return (next) => next;
    const multiplier = 2 ** (1 / (max - 1));
    return (next: Handler): Handler =>
      function retry(ctx) {
        const a = new Attempts(ctx, next, max, initialMs, multiplier);
        ctx.retryHook = a.hook;
        next(ctx);
      };
  },
});
