/**
 * redirectScheme: redirect to another scheme (and port) when the request's
 * scheme or port differs. The request scheme is https on a TLS entry point,
 * else X-Forwarded-Proto (http/https/ws/wss), else http. The port is dropped unless `port` is set
 * (and not the scheme's default). 302/307, or 301/308 when permanent.
 */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { sendRedirect } from '../shared/redirect.js';
import type { RequestContext } from '../../http/exchange.js';

export const RedirectSchemeSchema = Type.Object(
  {
    scheme: Type.String({ description: 'Target scheme, e.g. https' }),
    port: Type.Optional(Type.Union([Type.String(), Type.Integer()], { description: 'Target port' })),
    permanent: Type.Optional(Type.Boolean({ description: 'Permanent redirect (301/308) instead of 302/307' })),
  },
  { additionalProperties: false },
);

const DEFAULT_PORT: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, { http: '80', https: '443' });

/** Split a Host header into host and ':port' ('' when none); IPv6 keeps its brackets. */
function splitHost(raw: string): { host: string; port: string } {
  if (raw.startsWith('[')) {
    const end = raw.indexOf(']');
    const rest = end < 0 ? '' : raw.slice(end + 1);
    return { host: end < 0 ? raw : raw.slice(0, end + 1), port: rest.startsWith(':') ? rest : '' };
  }
  const colon = raw.lastIndexOf(':');
  return colon < 0 ? { host: raw, port: '' } : { host: raw.slice(0, colon), port: raw.slice(colon) };
}

/** Traefik: X-Forwarded-Proto (ws/wss read as http/https), overridden by a TLS entry point. */
function requestScheme(ctx: RequestContext): string {
  if (ctx.scheme === 'https') return 'https';
  const xfp = ctx.headers['x-forwarded-proto'];
  if (typeof xfp === 'string' && xfp !== '') {
    const v = xfp.toLowerCase();
    if (v === 'https' || v === 'wss') return 'https';
  }
  return 'http';
}

export const middleware = defineMiddleware({
  type: 'redirectScheme',
  schema: RedirectSchemeSchema,
  create(options) {
    const scheme = options.scheme.trim().toLowerCase();
    if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new MiddlewareOptionError('scheme', `"${options.scheme}" is not a URL scheme`);
    const portText = options.port === undefined ? '' : String(options.port).trim();
    if (portText !== '') {
      const n = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
      if (n < 1 || n > 65535) throw new MiddlewareOptionError('port', `"${portText}" is not a port number`);
    }
    const targetPort = portText === '' || DEFAULT_PORT[scheme] === portText ? '' : `:${portText}`;
    const permanent = options.permanent ?? false;
    return (next: Handler): Handler =>
      function redirectScheme(ctx) {
        const current = requestScheme(ctx);
        const { host, port } = splitHost(ctx.headers.host ?? ctx.host);
        const currentPort = port === `:${DEFAULT_PORT[current] ?? ''}` ? '' : port;
        if (current === scheme && currentPort === targetPort) {
          next(ctx);
          return;
        }
        sendRedirect(ctx, `${scheme}://${host}${targetPort}${ctx.url}`, permanent);
      };
  },
});
