/**
 * errors (Traefik): when the next handler answers with a watched status, its
 * body is discarded and the error service's page is sent instead, with the
 * original status (or its statusRewrites target, Traefik v3). The page is
 * fetched with a GET of `query` ({status}, {originalStatus}, {url}) carrying
 * the client's headers (Host included), as in Traefik.
 */
import { Type } from '@sinclair/typebox';
import { REASONS } from '../../http1/reasons.js';
import { performance } from 'node:perf_hooks';
import { RequestContext } from '../../http/exchange.js';
import type { Handler } from '../../http/handler.js';
import type { OutgoingHttpHeaders } from 'node:http';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';
import { inRanges, parseCodeRanges, type CodeRanges } from './status-ranges.js';
import { Capture, CodeCatcher } from './writers.js';

export const ErrorsSchema = Type.Object(
  {
    /** Absent or empty: the middleware never replaces an answer (Traefik accepts it the same way). */
    status: Type.Optional(Type.Array(Type.String())),
    service: Type.String({ minLength: 1 }),
    query: Type.Optional(Type.String()),
    /** Traefik v3: the request headers the error page request carries. Absent: all; empty: none. */
    errorRequestHeaders: Type.Optional(Type.Array(Type.String())),
    statusRewrites: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()]))),
  },
  { additionalProperties: false },
);

/** Largest error page kept, bytes. */
const MAX_PAGE = 1 << 20;
/** Longest wait for the error service, ms (its own timeouts normally fire first). */
const PAGE_TIMEOUT_MS = 30_000;
const DROP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  'content-length': true,
  'transfer-encoding': true,
  connection: true,
  'keep-alive': true,
  trailer: true,
  upgrade: true,
});

function plain(ctx: RequestContext, code: number): void {
  const body = Buffer.from(REASONS[code] ?? '');
  ctx.rw.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  ctx.rw.end(body);
}

export const middleware = defineMiddleware({
  type: 'errors',
  schema: ErrorsSchema,
  // Checked by the compiler (missing, disabled) before any worker builds.
  references: (o) => [{ kind: 'service', name: o.service, field: 'service' }],
  check(o) {
    if (o.status !== undefined && o.status.length > 0) {
      try {
        parseCodeRanges(o.status);
        return [];
      } catch (err) {
        return [{ path: 'status', message: (err as Error).message }];
      }
    }
    return [
      {
        path: 'status',
        message: 'no status listed: the middleware never replaces an answer (Traefik accepts it the same way)',
        critical: false,
      },
    ];
  },
  create(o, deps) {
    let ranges: CodeRanges;
    try {
      ranges = parseCodeRanges(o.status ?? []);
    } catch (err) {
      throw new MiddlewareOptionError('status', (err as Error).message);
    }
    const rewrites: Array<{ from: CodeRanges; to: number }> = [];
    for (const [k, v] of Object.entries(o.statusRewrites ?? {})) {
      const to = typeof v === 'number' ? v : Number(v);
      if (!Number.isInteger(to) || to < 100 || to > 599)
        throw new MiddlewareOptionError(`statusRewrites.${k}`, `"${v}" is not an HTTP status code`);
      try {
        rewrites.push({ from: parseCodeRanges([k]), to });
      } catch (err) {
        throw new MiddlewareOptionError(`statusRewrites.${k}`, (err as Error).message);
      }
    }
    let page: Handler;
    try {
      page = deps.service(o.service);
    } catch (err) {
      throw new MiddlewareOptionError('service', (err as Error).message);
    }
    const query = o.query === undefined || o.query === '' ? '/' : `/${o.query.replace(/^\/+/, '')}`;
    const log = deps.log;
    const keep = o.errorRequestHeaders === undefined ? null : o.errorRequestHeaders.map((x) => x.toLowerCase());

    const serveErrorPage = (ctx: RequestContext, rw: RequestContext['rw'], caught: number): void => {
      let code = caught;
      for (const r of rewrites) {
        if (inRanges(r.from, caught)) {
          code = r.to;
          break;
        }
      }
      const target = query
        .replaceAll('{status}', String(code))
        .replaceAll('{originalStatus}', String(caught))
        .replaceAll('{url}', encodeURIComponent(ctx.req.url ?? ctx.url));
      const q = target.indexOf('?');
      ctx.rw = rw;
      let timer: NodeJS.Timeout | null = null;
      const capture = new Capture(MAX_PAGE, (ok, body) => {
        if (timer !== null) clearTimeout(timer);
        if (rw.headersSent) return;
        if (!ok) {
          log.warn({ middleware: deps.name, service: o.service }, 'error page could not be fetched');
          plain(ctx, code);
          return;
        }
        const headers: OutgoingHttpHeaders = {};
        for (const k in capture.headers) if (DROP[k] !== true) headers[k] = capture.headers[k];
        headers['content-length'] = body.length;
        rw.writeHead(code, headers);
        rw.end(body);
      });
      timer = setTimeout(() => capture.finish(false), PAGE_TIMEOUT_MS);
      const sub = new RequestContext(ctx.req, capture, {
        entryPoint: ctx.entryPoint,
        scheme: ctx.scheme,
        remoteIp: ctx.remoteIp,
        clientIp: ctx.clientIp,
        host: ctx.host,
        path: q < 0 ? target : target.slice(0, q),
        query: q < 0 ? '' : target.slice(q + 1),
        start: performance.now(),
      });
      sub.method = 'GET';
      sub.body = null;
      let h: RequestContext['headers'];
      if (keep === null) h = { ...ctx.headers };
      else {
        // Only the listed headers; the host is not a header in Traefik's model and stays.
        h = {};
        for (const k of keep) if (ctx.headers[k] !== undefined) h[k] = ctx.headers[k] as string;
        if (ctx.headers.host !== undefined) h.host = ctx.headers.host;
      }
      delete h['content-length'];
      delete h['transfer-encoding'];
      sub.headers = h;
      sub.routerName = ctx.routerName;
      try {
        page(sub);
      } catch (err) {
        log.error({ middleware: deps.name, err: (err as Error).message }, 'error service failed');
        capture.finish(false);
      }
    };

    return (next: Handler): Handler =>
      function errors(ctx) {
        const rw = ctx.rw;
        ctx.rw = new CodeCatcher(rw, ranges, (code) => serveErrorPage(ctx, rw, code));
        next(ctx);
      };
  },
});
