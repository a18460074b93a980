import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded by a proxy. */
const HOP_BY_HOP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  'transfer-encoding': true,
  te: true,
  trailer: true,
  upgrade: true,
  'proxy-authenticate': true,
  'proxy-authorization': true,
  // HTTP/2 pseudo headers never go upstream as plain headers
  ':method': true,
  ':path': true,
  ':scheme': true,
  ':authority': true,
  ':status': true,
});

/**
 * Headers to send upstream: everything but hop-by-hop headers; `te: trailers`
 * is kept (gRPC needs it). The fields the client's Connection header named
 * were dropped when the request was received (the entry point), before the
 * gateway and its middlewares added theirs: Connection options name fields
 * of the received message only (RFC 9110 §7.6.1), so a client cannot strip
 * X-Forwarded-For or a header a middleware set. The client's address is
 * appended to X-Forwarded-For here, when forwarding, as Traefik (Go's
 * ReverseProxy) does.
 */
export function upstreamRequestHeaders(h: IncomingHttpHeaders, remoteIp: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    if (HOP_BY_HOP[k] === true) {
      if (k === 'te' && typeof v === 'string' && v.toLowerCase().includes('trailers')) out.te = 'trailers';
      continue;
    }
    out[k] = v;
  }
  if (remoteIp !== '') {
    const prior = out['x-forwarded-for'];
    out['x-forwarded-for'] =
      prior === undefined || prior === '' ? remoteIp : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteIp}`;
  }
  return out;
}

/** Response headers to send downstream, without hop-by-hop ones. */
export function downstreamResponseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const conn = h.connection;
  const extra =
    conn !== undefined && conn !== 'keep-alive' && conn !== 'close' ? connectionTokens(Array.isArray(conn) ? conn.join(',') : conn) : null;
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP[k] === true) continue;
    if (extra !== null && extra.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function connectionTokens(v: string): Set<string> {
  const s = new Set<string>();
  for (const t of v.split(',')) {
    const x = t.trim().toLowerCase();
    if (x !== '') s.add(x);
  }
  return s;
}

/**
 * Trailer fields never passed on (RFC 9110 §6.5.1): those that frame or route
 * the message, modify the request, authenticate, control the response or
 * describe the content must not arrive after it, where a recipient that
 * merges trailers into the header section would act on them. nginx drops them
 * too. The gRPC status fields and any other trailer pass.
 */
const TRAILER_DENY: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  'content-length': true,
  'transfer-encoding': true,
  host: true,
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  te: true,
  trailer: true,
  upgrade: true,
  'cache-control': true,
  expect: true,
  'max-forwards': true,
  pragma: true,
  range: true,
  'if-match': true,
  'if-none-match': true,
  'if-modified-since': true,
  'if-unmodified-since': true,
  'if-range': true,
  authorization: true,
  'proxy-authorization': true,
  'proxy-authenticate': true,
  'www-authenticate': true,
  'set-cookie': true,
  cookie: true,
  age: true,
  date: true,
  expires: true,
  location: true,
  'retry-after': true,
  vary: true,
  warning: true,
  'content-encoding': true,
  'content-type': true,
  'content-range': true,
});

/** Trailers to send downstream: the origin's, minus the fields RFC 9110 §6.5.1 keeps out of trailers. */
export function downstreamTrailers(t: IncomingHttpHeaders): Record<string, string | string[]> | null {
  let out: Record<string, string | string[]> | null = null;
  for (const k in t) {
    const v = t[k];
    if (v === undefined || TRAILER_DENY[k.toLowerCase()] === true) continue;
    (out ??= {})[k] = v;
  }
  return out;
}
