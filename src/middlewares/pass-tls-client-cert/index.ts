/**
 * passTLSClientCert (Traefik's): pass the client certificate of a mutual-TLS
 * connection to the backend. `pem: true` → `X-Forwarded-Tls-Client-Cert`
 * (the chain, base64 DER, `,`-separated); `info` → `X-Forwarded-Tls-Client-Cert-Info`
 * (the selected fields, URL-escaped). Copies of either header sent by the client
 * are removed (the entry point already drops them from untrusted peers; here
 * they are dropped from every peer, so a request without a certificate never
 * carries one).
 *
 * The certificate comes from the request's TLS socket: `ctx.req.socket` for
 * HTTP/1.1 over TLS (and node:http2 servers of its own), or the socket the
 * serving layer marks with `Symbol.for('gatehouse.tls-socket')` on the stream
 * it hands node:http2 (HTTP/2 over TLS on an entry point).
 */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, type Handler } from '../types.js';
import type { RequestContext } from '../../http/exchange.js';
import { F } from '../../log.js';
import { infoHeader, peerChain, pemHeader, type InfoOptions, type PeerCert } from './format.js';

const flag = (description: string) => Type.Optional(Type.Boolean({ description }));

const dnFields = {
  country: flag('C'),
  province: flag('ST'),
  locality: flag('L'),
  organization: flag('O'),
  commonName: flag('CN'),
  serialNumber: flag('SN (the serialNumber attribute of the name)'),
  domainComponent: flag('DC'),
};

export const PassTlsClientCertSchema = Type.Object(
  {
    pem: flag('Pass the certificate chain in X-Forwarded-Tls-Client-Cert'),
    info: Type.Optional(
      Type.Object(
        {
          notAfter: flag('NA: notAfter, seconds since the epoch'),
          notBefore: flag('NB: notBefore, seconds since the epoch'),
          sans: flag('SAN: DNS names, e-mail addresses, IP addresses, URIs'),
          serialNumber: flag('SerialNumber: the certificate serial, decimal'),
          subject: Type.Optional(
            Type.Object({ ...dnFields, organizationalUnit: flag('OU') }, { additionalProperties: false, description: 'Subject fields' }),
          ),
          issuer: Type.Optional(Type.Object(dnFields, { additionalProperties: false, description: 'Issuer fields' })),
        },
        { additionalProperties: false, description: 'Pass the selected fields in X-Forwarded-Tls-Client-Cert-Info' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CERT_HEADER = 'x-forwarded-tls-client-cert';
export const CERT_INFO_HEADER = 'x-forwarded-tls-client-cert-info';

/** Where the serving layer puts the TLSSocket when the request socket is a stream over it (HTTP/2 over TLS). */
export const TLS_SOCKET = Symbol.for('gatehouse.tls-socket');

interface PeerCertSource {
  getPeerCertificate(detailed: true): PeerCert | Record<string, never> | null;
}

function hasPeerCert(s: unknown): s is PeerCertSource {
  return typeof s === 'object' && s !== null && typeof (s as { getPeerCertificate?: unknown }).getPeerCertificate === 'function';
}

/** The TLS socket behind a request, or null for a request that did not come over TLS. */
export function tlsSocketOf(ctx: RequestContext): PeerCertSource | null {
  const s: unknown = ctx.req.socket;
  if (s === null || s === undefined) return null;
  if (hasPeerCert(s)) return s;
  // HTTP/2 over TLS: node:http2 wraps the entry point's JS stream (which carries the mark) in a JSStreamSocket.
  const stream = (s as { stream?: unknown }).stream;
  const marked =
    (s as Record<symbol, unknown>)[TLS_SOCKET] ??
    (typeof stream === 'object' && stream !== null ? (stream as Record<symbol, unknown>)[TLS_SOCKET] : undefined);
  return hasPeerCert(marked) ? marked : null;
}

/** The chain the client presented, leaf first; null without a client certificate. */
export function clientChain(ctx: RequestContext): PeerCert[] | null {
  const sock = tlsSocketOf(ctx);
  if (sock === null) return null;
  const leaf = sock.getPeerCertificate(true);
  if (leaf === null || !Buffer.isBuffer((leaf as Partial<PeerCert>).raw)) return null;
  return peerChain(leaf as PeerCert);
}

interface Computed {
  pem: string | null;
  info: string | null;
}

export const middleware = defineMiddleware({
  type: 'passTLSClientCert',
  schema: PassTlsClientCertSchema,
  create(options, deps) {
    const pem = options.pem === true;
    const info: InfoOptions | null = options.info ?? null;
    // The certificate cannot change within a connection: compute once per socket.
    const perSocket = new WeakMap<object, Computed>();
    const compute = (ctx: RequestContext): Computed | null => {
      const key = ctx.req.socket;
      if (key === null) return null;
      let c = perSocket.get(key);
      if (c === undefined) {
        const chain = clientChain(ctx);
        if (chain === null)
          deps.log.debug({ [F.middleware]: deps.name }, 'passTLSClientCert: a connection without a client certificate (no mutual TLS)');
        c =
          chain === null
            ? { pem: null, info: null }
            : { pem: pem ? pemHeader(chain) : null, info: info !== null ? infoHeader(chain, info) : null };
        perSocket.set(key, c);
      }
      return c;
    };
    return (next: Handler): Handler =>
      function passTLSClientCert(ctx) {
        if (pem) delete ctx.headers[CERT_HEADER];
        if (info !== null) delete ctx.headers[CERT_INFO_HEADER];
        if (pem || info !== null) {
          const c = compute(ctx);
          if (c !== null) {
            if (c.pem !== null) ctx.headers[CERT_HEADER] = c.pem;
            if (c.info !== null) ctx.headers[CERT_INFO_HEADER] = c.info;
          }
        }
        next(ctx);
      };
  },
});
