/**
 * headers: custom request/response headers, CORS (preflight answered here) and
 * security headers, with Traefik's semantics. Everything is compiled once; a
 * request only allocates its response-writer wrapper when responses are edited.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { answer } from '../../http/answers.js';
import type { RequestContext } from '../../http/exchange.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { ForwardingWriter } from '../../http/response-writer.js';
import { compileCors, hasCorsOptions, isPreflight, type Cors } from './cors.js';
import { compileSecure, hasSecureOptions, type Secure } from './secure.js';
import { HeadersSchema } from './schema.js';

export { HeadersSchema };

type Edit = readonly [name: string, value: string | null];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Compile one header map; names must be tokens and values free of control characters (no header splitting). */
function compileEdits(field: string, map: Record<string, string> | undefined): Edit[] {
  return Object.entries(map ?? {}).map(([k, v]) => {
    if (!TOKEN.test(k)) throw new MiddlewareOptionError(`${field}.${k}`, 'not a valid header name');
    if (BAD_VALUE.test(v))
      throw new MiddlewareOptionError(`${field}.${k}`, 'a header value cannot contain CR, LF or other control characters');
    return [k.toLowerCase(), v === '' ? null : v] as const;
  });
}

/** Applies the response-side edits once, when the response head goes out. */
class HeadersWriter extends ForwardingWriter {
  constructor(
    inner: ResponseWriter,
    private readonly edits: readonly Edit[],
    private readonly cors: Cors | null,
    private readonly secure: Secure | null,
    private readonly origin: string,
    private readonly ssl: boolean,
  ) {
    super(inner);
  }
  override writeHead(status: number, headers: OutgoingHttpHeaders): void {
    for (const [k, v] of this.edits) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    if (this.cors !== null) this.cors.applyToResponse(headers, this.origin);
    if (this.secure !== null) this.secure.applyToResponse(headers, this.ssl);
    this.inner.writeHead(status, headers);
  }
}

export const middleware = defineMiddleware({
  type: 'headers',
  schema: HeadersSchema,
  create(options) {
    const reqEdits = compileEdits('customRequestHeaders', options.customRequestHeaders);
    const resEdits = compileEdits('customResponseHeaders', options.customResponseHeaders);
    const cors = hasCorsOptions(options) ? compileCors(options) : null;
    const secure = hasSecureOptions(options) ? compileSecure(options) : null;
    const wrapResponse = resEdits.length > 0 || cors !== null || secure !== null;

    const editRequest = (ctx: RequestContext): void => {
      const h = ctx.headers;
      for (const [k, v] of reqEdits) {
        if (v === null) delete h[k];
        else h[k] = v;
      }
    };

    return (next: Handler): Handler =>
      function headers(ctx) {
        if (secure !== null) {
          if (secure.checkHosts && !secure.hostAllowed(ctx)) {
            answer(ctx, 'GH_INTERNAL', { body: 'Bad Host' });
            return;
          }
          const r = secure.sslRedirect(ctx);
          if (r !== null) {
            ctx.rw.writeHead(r.permanent ? 301 : 307, { location: r.location, 'content-length': 0 });
            ctx.rw.end();
            return;
          }
        }
        const origin = typeof ctx.headers.origin === 'string' ? ctx.headers.origin : '';
        if (cors !== null && isPreflight(ctx)) {
          const h = cors.preflightHeaders(origin);
          if (secure !== null) secure.applyToResponse(h, secure.isSsl(ctx));
          ctx.rw.writeHead(200, h);
          ctx.rw.end();
          return;
        }
        if (reqEdits.length > 0) editRequest(ctx);
        if (wrapResponse) ctx.rw = new HeadersWriter(ctx.rw, resEdits, cors, secure, origin, secure !== null && secure.isSsl(ctx));
        next(ctx);
      };
  },
});
