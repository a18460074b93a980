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
 * Headers to send upstream: everything but hop-by-hop headers and those the
 * Connection header lists. `te: trailers` is kept (gRPC needs it).
 */
export function upstreamRequestHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = h.connection;
  const extra =
    conn !== undefined && conn !== 'keep-alive' && conn !== 'close' ? connectionTokens(Array.isArray(conn) ? conn.join(',') : conn) : null;
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    if (HOP_BY_HOP[k] === true) {
      if (k === 'te' && typeof v === 'string' && v.toLowerCase().includes('trailers')) out.te = 'trailers';
      continue;
    }
    if (extra !== null && extra.has(k)) continue;
    out[k] = v;
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
