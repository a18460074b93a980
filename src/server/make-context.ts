import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { RequestContext } from '../http/exchange.js';
import { normalizeHost, normalizeIp } from '../http/host.js';
import { NodeResponseWriter } from './node-writers.js';

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
