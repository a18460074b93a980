/**
 * Headers of the call to the authentication server, as Traefik's forwardAuth
 * writes them: the client's headers minus hop-by-hop ones (optionally only
 * authRequestHeaders), then X-Forwarded-For/Method/Proto/Port/Host/Uri.
 */
import type { RequestContext } from '../../http/exchange.js';

export const HOP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  connection: true,
  'keep-alive': true,
  te: true,
  trailers: true,
  trailer: true,
  'transfer-encoding': true,
  upgrade: true,
});

export type OutHeaders = Record<string, string | string[]>;

function one(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? (v[0] ?? '') : v;
}

export function authRequestHeaders(ctx: RequestContext, trust: boolean, allowed: Record<string, true> | null): OutHeaders {
  const src = ctx.headers;
  const out: OutHeaders = {};
  const connTokens = one(src.connection).toLowerCase();
  for (const k in src) {
    const v = src[k];
    if (v === undefined || HOP[k] === true || k === 'host' || k === 'content-length') continue;
    if (connTokens !== '' && connTokens.split(',').some((t) => t.trim() === k)) continue;
    if (allowed !== null && allowed[k] !== true) continue;
    out[k] = v;
  }
  const prior = src['x-forwarded-for'];
  out['x-forwarded-for'] =
    trust && prior !== undefined ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ctx.remoteIp}` : ctx.remoteIp;
  const xm = one(src['x-forwarded-method']);
  out['x-forwarded-method'] = trust && xm !== '' ? xm : ctx.method;
  const xp = one(src['x-forwarded-proto']);
  out['x-forwarded-proto'] = trust && xp !== '' ? xp : ctx.scheme;
  const xport = one(src['x-forwarded-port']);
  if (trust && xport !== '') out['x-forwarded-port'] = xport;
  else delete out['x-forwarded-port'];
  const xh = one(src['x-forwarded-host']);
  const host = one(src.host) || ctx.host;
  if (trust && xh !== '') out['x-forwarded-host'] = xh;
  else if (host !== '') out['x-forwarded-host'] = host;
  else delete out['x-forwarded-host'];
  const xu = one(src['x-forwarded-uri']);
  out['x-forwarded-uri'] = trust && xu !== '' ? xu : ctx.url;
  return out;
}

/** Go's http.CanonicalHeaderKey ("x-auth-user" → "X-Auth-User"), for authResponseHeadersRegex. */
export function canonicalHeaderKey(k: string): string {
  return k.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}
