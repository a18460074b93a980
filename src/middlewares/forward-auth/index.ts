/**
 * forwardAuth (Traefik): asks an authentication server about each request.
 * 2xx → authResponseHeaders (and authResponseHeadersRegex matches) are copied
 * into the request, which continues; any other status → the auth server's
 * status, headers and body go back to the client (Location resolved against
 * the address unless preserveLocationHeader). Auth server unreachable or too
 * slow → 500 with an empty body, as Traefik.
 *
 * Limits (Gatehouse): the auth call times out after 30 s (Traefik's client
 * timeout); the auth response body is read up to 1 MiB (more → 500); with
 * forwardBody, a body larger than maxBodySize gets 401 as in Traefik, and
 * maxBodySize -1 (default) means at most 16 MiB.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Handler } from '../../http/handler.js';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../../http/exchange.js';
import type { AnswerCode } from '../../http/answer-codes.js';
import { defineMiddleware, MiddlewareOptionError, type MiddlewareDeps } from '../types.js';
import { ForwardAuthSchema, type ForwardAuthOptions } from './schema.js';
import { authRequestHeaders, canonicalHeaderKey, HOP } from './request-headers.js';
import { CookieWriter, cookieName } from './cookie-writer.js';

export { ForwardAuthSchema };

export const AUTH_TIMEOUT_MS = 30_000;
const MAX_AUTH_BODY = 1 << 20;
const HARD_MAX_BODY = 16 << 20;

class TooLarge extends Error {}

/** Read a stream fully, failing past `limit` bytes or after `timeoutMs`. */
function readBody(stream: Readable, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      stream.off('data', onData).off('end', onEnd).off('error', done);
      if (err !== null) {
        stream.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) done(new TooLarge());
      else chunks.push(c);
    };
    const onEnd = (): void => done(null);
    const timer = setTimeout(() => done(new Error('timed out reading the request body')), timeoutMs);
    stream.on('data', onData).once('end', onEnd).once('error', done);
  });
}

function pem(value: string | undefined, deps: MiddlewareDeps, field: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(isAbsolute(value) ? value : join(deps.dataDir, value), 'utf8');
  } catch (err) {
    throw new MiddlewareOptionError(field, `cannot read "${value}": ${(err as Error).message}`);
  }
}

function empty(ctx: RequestContext, status: number, code: AnswerCode): void {
  ctx.code = code;
  if (ctx.rw.headersSent) return ctx.rw.destroy();
  ctx.rw.writeHead(status, { 'content-length': 0 });
  ctx.rw.end();
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export const middleware = defineMiddleware({
  type: 'forwardAuth',
  schema: ForwardAuthSchema,
  create(o: ForwardAuthOptions, deps) {
    let url: URL;
    try {
      url = new URL(o.address);
    } catch {
      throw new MiddlewareOptionError('address', `"${o.address}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new MiddlewareOptionError('address', `scheme must be http or https (got ${url.protocol})`);
    let regex: RegExp | null = null;
    if (o.authResponseHeadersRegex !== undefined && o.authResponseHeadersRegex !== '') {
      try {
        regex = new RegExp(o.authResponseHeadersRegex);
      } catch (err) {
        throw new MiddlewareOptionError('authResponseHeadersRegex', (err as Error).message);
      }
    }
    const tls = o.tls;
    const pool = new Pool(url.origin, {
      connections: 128,
      headersTimeout: AUTH_TIMEOUT_MS,
      bodyTimeout: AUTH_TIMEOUT_MS,
      connect:
        url.protocol === 'https:'
          ? {
              ca: pem(tls?.ca, deps, 'tls.ca'),
              cert: pem(tls?.cert, deps, 'tls.cert'),
              key: pem(tls?.key, deps, 'tls.key'),
              rejectUnauthorized: tls?.insecureSkipVerify !== true,
            }
          : undefined,
    });
    deps.onClose(() => pool.close());

    const path = url.pathname + url.search;
    const trust = o.trustForwardHeader === true;
    const allowed =
      o.authRequestHeaders !== undefined && o.authRequestHeaders.length > 0
        ? Object.assign(
            Object.create(null) as Record<string, true>,
            Object.fromEntries(o.authRequestHeaders.map((h) => [h.toLowerCase(), true])),
          )
        : null;
    const copy = (o.authResponseHeaders ?? []).map((h) => h.toLowerCase());
    const cookies = new Set(o.addAuthCookiesToResponse ?? []);
    const maxBody = o.maxBodySize === undefined || o.maxBodySize < 0 ? HARD_MAX_BODY : Math.min(o.maxBodySize, HARD_MAX_BODY);
    const headerField = (o.headerField ?? '').toLowerCase();
    // Traefik: past maxResponseBodySize the client gets 401; without it Traefik reads any size, Gatehouse at most 1 MiB (500).
    const maxResponse = o.maxResponseBodySize !== undefined && o.maxResponseBodySize >= 0 ? o.maxResponseBodySize : null;
    const responseLimit = maxResponse ?? MAX_AUTH_BODY;
    const log = deps.log;

    const check = async (ctx: RequestContext, next: Handler): Promise<void> => {
      let body: Buffer | null = null;
      if (o.forwardBody === true && ctx.body !== null) {
        if (Buffer.isBuffer(ctx.body)) body = ctx.body;
        else {
          try {
            body = await readBody(ctx.body, maxBody, AUTH_TIMEOUT_MS);
          } catch (err) {
            return err instanceof TooLarge ? empty(ctx, 401, 'GH_BODY_TOO_LARGE') : empty(ctx, 500, 'GH_INTERNAL');
          }
        }
        if (body.length > maxBody) return empty(ctx, 401, 'GH_BODY_TOO_LARGE');
        ctx.body = body;
      }
      const headers = authRequestHeaders(ctx, trust, allowed);
      if (body !== null) headers['content-length'] = String(body.length);
      let res: Awaited<ReturnType<Pool['request']>>;
      let resBody: Buffer;
      try {
        res = await pool.request({
          path,
          method: (o.preserveRequestMethod === true ? ctx.method : 'GET') as 'GET',
          headers,
          body,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of res.body as AsyncIterable<Buffer>) {
          size += c.length;
          if (size > responseLimit) {
            res.body.destroy();
            throw maxResponse !== null ? new TooLarge() : new Error('auth response body too large');
          }
          chunks.push(c);
        }
        resBody = Buffer.concat(chunks);
      } catch (err) {
        if (err instanceof TooLarge) return empty(ctx, 401, 'GH_AUTH_DENIED');
        log.debug({ middleware: deps.name, err: (err as Error).message }, 'forwardAuth: error calling the auth server');
        return empty(ctx, 500, 'GH_AUTH_SERVER_FAILED');
      }
      const rh = res.headers;
      if (headerField !== '') {
        const user = asList(rh[headerField])[0];
        if (user !== undefined) ctx.caller = user;
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const out: OutgoingHttpHeaders = {};
        for (const k in rh) if (HOP[k] !== true && k !== 'content-length') out[k] = rh[k];
        const loc = asList(rh.location)[0];
        if (loc !== undefined && loc !== '') {
          try {
            out.location = o.preserveLocationHeader === true ? (new URL(loc, 'http://x'), loc) : new URL(loc, url).toString();
          } catch {
            return empty(ctx, 500, 'GH_AUTH_SERVER_FAILED');
          }
        }
        out['content-length'] = resBody.length;
        ctx.code = 'GH_AUTH_DENIED';
        if (ctx.rw.headersSent) return ctx.rw.destroy();
        ctx.rw.writeHead(res.statusCode, out);
        ctx.rw.end(resBody);
        return;
      }
      for (const h of copy) {
        delete ctx.headers[h];
        const v = rh[h];
        if (v !== undefined) ctx.headers[h] = v;
      }
      if (regex !== null) {
        for (const k of Object.keys(ctx.headers)) if (regex.test(canonicalHeaderKey(k))) delete ctx.headers[k];
        for (const k in rh) if (regex.test(canonicalHeaderKey(k))) ctx.headers[k] = rh[k];
      }
      const authCookies = cookies.size === 0 ? [] : asList(rh['set-cookie']).filter((c) => cookies.has(cookieName(c)));
      if (authCookies.length > 0) ctx.rw = new CookieWriter(ctx.rw, cookies, authCookies);
      next(ctx);
    };

    return (next: Handler): Handler =>
      function forwardAuth(ctx) {
        check(ctx, next).catch((err: unknown) => {
          log.error({ middleware: deps.name, err: (err as Error).message }, 'forwardAuth: handler failed');
          empty(ctx, 500, 'GH_INTERNAL');
        });
      };
  },
});
