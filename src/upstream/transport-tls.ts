/**
 * A serversTransport's TLS settings as node:tls client options (Traefik's
 * ServersTransport: `serverName`, `rootCAs`, `certificates`,
 * `insecureSkipVerify`, `peerCertURI`). `rootCAs` and `certificates` are file
 * paths or the PEM itself (Kubernetes Secrets arrive inline).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { buildConnector, Pool, type Dispatcher } from 'undici';
import type { ServersTransportConfig } from '../config/schema.js';
import type { UpstreamDispatcher } from './proxy.js';

const pem = (v: string): string => (v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8'));

/** The URIs of a certificate's subjectAltName, as node prints it (`URI:spiffe://…`, quoted when it has special characters). */
function sanUris(cert: PeerCertificate): string[] {
  const text = cert.subjectaltname ?? '';
  const out: string[] = [];
  const re = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = m[1] ?? '';
    try {
      out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
    } catch {
      out.push(v);
    }
  }
  return out;
}

/**
 * node:tls options for `t`. With `peerCertURI`, as Traefik: the chain is still
 * verified against the root CAs, the host name is not, and the certificate
 * must carry that URI in its subjectAltName (SPIFFE IDs).
 */
export function transportTls(t: ServersTransportConfig | undefined): ConnectionOptions {
  const certs = t?.certificates ?? [];
  const uri = t?.peerCertURI;
  return {
    rejectUnauthorized: t?.insecureSkipVerify !== true,
    ...(t?.serverName !== undefined && t.serverName !== '' ? { servername: t.serverName } : {}),
    ...(t?.rootCAs !== undefined && t.rootCAs.length > 0 ? { ca: t.rootCAs.map(pem) } : {}),
    ...(certs.length > 0 ? { cert: certs.map((c) => pem(c.certFile)), key: certs.map((c) => pem(c.keyFile)) } : {}),
    ...(uri !== undefined && uri !== ''
      ? {
          checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined =>
            sanUris(cert).includes(uri)
              ? undefined
              : Object.assign(new Error(`the backend certificate does not carry the URI ${uri} (peerCertURI) in its subjectAltName`), {
                  code: 'ERR_TLS_CERT_ALTNAME_INVALID',
                }),
        }
      : {}),
  };
}

/**
 * undici's Pool over TLS with the server name Go's Transport uses: the
 * transport's `serverName`, else the server URL's host (no SNI for an IP
 * address, whose certificate is checked for that IP). undici would take it
 * from each request's Host header instead (the client's host when
 * passHostHeader is on), and reconnect whenever it changes.
 */
export class FixedSniPool implements UpstreamDispatcher {
  private readonly pool: Pool;
  /** The value every request carries, so undici never sees the server name change. */
  private readonly key: string;

  constructor(
    url: URL,
    serverName: string | undefined,
    opts: { connections: null; keepAliveTimeout: number; connectTimeout: number; allowH2: boolean; tls: ConnectionOptions },
  ) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.key = serverName !== undefined && serverName !== '' ? serverName : host;
    const sni = isIP(this.key) === 0 ? this.key : undefined;
    const base = buildConnector({ ...(opts.tls as buildConnector.BuildOptions), timeout: opts.connectTimeout });
    this.pool = new Pool(url.origin, {
      connections: opts.connections,
      keepAliveTimeout: opts.keepAliveTimeout,
      connectTimeout: opts.connectTimeout,
      allowH2: opts.allowH2,
      connect: (o, cb) => base({ ...o, servername: sni as string }, cb),
    });
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    (opts as { servername?: string }).servername = this.key;
    return this.pool.dispatch(opts, handler);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}
