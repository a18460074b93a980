import { REASONS } from '../../http1/reasons.js';
import type { RequestContext } from '../../http/exchange.js';

/**
 * Answer a redirect the way Traefik does: 302 (or 301 when permanent) for GET,
 * 307 (or 308 when permanent) for any other method, so that the method and
 * body are kept; the body is the status text.
 */
export function sendRedirect(ctx: RequestContext, location: string, permanent: boolean): void {
  const get = ctx.method === 'GET';
  const status = permanent ? (get ? 301 : 308) : get ? 302 : 307;
  const body = Buffer.from(REASONS[status] ?? '');
  if (ctx.rw.headersSent) {
    ctx.rw.destroy();
    return;
  }
  ctx.rw.writeHead(status, { location, 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  ctx.rw.end(body);
}

/**
 * Decode a raw (percent-encoded) path like Go's url.PathUnescape; null when
 * the encoding is invalid.
 */
export function pathUnescape(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
