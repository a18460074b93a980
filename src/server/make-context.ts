import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { NodeResponseWriter, RequestContext } from './context.js';

/** Strip the IPv4-mapped IPv6 prefix so `::ffff:127.0.0.1` reads `127.0.0.1`. */
export function normalizeIp(ip: string | undefined): string {
  if (ip === undefined) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * Host as rules see it: lower-case, port removed, trailing dot removed
 * (Traefik's behaviour). IPv6 literals keep their brackets off.
 */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  let h = raw;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

export interface ContextOptions {
  entryPoint: string;
  scheme?: 'http' | 'https';
  /** Decides the client IP from the peer address and X-Forwarded-For. */
  clientIp?: (remoteIp: string, req: IncomingMessage) => string;
}

/** Build the RequestContext for one request on a node:http server. */
export function contextFromRequest(req: IncomingMessage, res: ServerResponse, opts: ContextOptions): RequestContext {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const remoteIp = normalizeIp(req.socket.remoteAddress);
  const rw = new NodeResponseWriter(res);
  const ctx = new RequestContext(req, rw, {
    entryPoint: opts.entryPoint,
    scheme: opts.scheme ?? 'http',
    remoteIp,
    clientIp: opts.clientIp === undefined ? remoteIp : opts.clientIp(remoteIp, req),
    host: normalizeHost(req.headers.host),
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    start: performance.now(),
  });
  rw.ctx = ctx;
  ctx.res = res;
  return ctx;
}
