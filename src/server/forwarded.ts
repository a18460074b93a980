/**
 * Traefik's forwarded-headers handling at the entry point: incoming
 * X-Forwarded-* / X-Real-Ip headers are kept only from trusted peers
 * (`forwardedHeaders.insecure` or `trustedIPs`); then the gateway sets
 * X-Forwarded-Proto/Host/Port/Server and X-Real-Ip. The peer's address is
 * appended to X-Forwarded-For only when the request is forwarded
 * (src/upstream/headers.ts), as Traefik does: middlewares see the
 * X-Forwarded-For the client sent, so `ipStrategy.depth: 1` is the last
 * forwarded address, not the client's own.
 */
import { hostname } from 'node:os';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../errors.js';
import { compileIpRanges, IpRangeError, type IpRanges } from '../net/ip.js';

const FORWARDED = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-prefix',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-real-ip',
  'forwarded',
];
const SERVER = hostname();

export interface ForwardedPolicy {
  insecure: boolean;
  trustedIPs: readonly string[];
}

/** Port from the Host header, else the scheme's default (Traefik's X-Forwarded-Port). */
function portOf(host: string | undefined, scheme: 'http' | 'https'): string {
  if (host !== undefined) {
    const i = host.lastIndexOf(':');
    if (i > 0 && host.indexOf(']', i) < 0) {
      const p = host.slice(i + 1);
      if (p !== '' && /^\d+$/.test(p)) return p;
    }
  }
  return scheme === 'https' ? '443' : '80';
}

/** trustedIPs compiled by the one Go-semantics range checker; a bad entry is a ConfigError naming it. */
function compileTrusted(trustedIPs: readonly string[]): IpRanges | null {
  if (trustedIPs.length === 0) return null;
  try {
    return compileIpRanges(trustedIPs);
  } catch (err) {
    if (err instanceof IpRangeError) throw new ConfigError([{ field: `forwardedHeaders.trustedIPs[${err.index}]`, message: err.message }]);
    throw err;
  }
}

export class ForwardedHeaders {
  private readonly trusted: IpRanges | null;
  private readonly insecure: boolean;

  /** Throws ConfigError for a trustedIPs entry that is not an IP address or CIDR range. */
  constructor(
    policy: ForwardedPolicy,
    private readonly scheme: 'http' | 'https',
  ) {
    this.insecure = policy.insecure;
    this.trusted = compileTrusted(policy.trustedIPs);
  }

  /** Traefik's isTrustedIP: the peer address (a `host:port` form is accepted, as Go's IsAuthorized). */
  isTrusted(remoteIp: string): boolean {
    if (this.insecure) return true;
    return this.trusted !== null && this.trusted.containsHost(remoteIp);
  }

  /** Apply to the headers that go upstream; returns the client IP. */
  apply(h: IncomingHttpHeaders, remoteIp: string): string {
    const trusted = this.isTrusted(remoteIp);
    if (!trusted) for (const k of FORWARDED) if (h[k] !== undefined) delete h[k];
    if (h['x-forwarded-proto'] === undefined)
      h['x-forwarded-proto'] =
        h['upgrade'] !== undefined && /websocket/i.test(String(h['upgrade'])) ? (this.scheme === 'https' ? 'wss' : 'ws') : this.scheme;
    if (h['x-forwarded-host'] === undefined && h.host !== undefined) h['x-forwarded-host'] = h.host;
    if (h['x-forwarded-port'] === undefined) h['x-forwarded-port'] = portOf(h.host, this.scheme);
    if (h['x-forwarded-server'] === undefined) h['x-forwarded-server'] = SERVER;
    if (h['x-real-ip'] === undefined) h['x-real-ip'] = remoteIp;
    const prior = h['x-forwarded-for'];
    let client = remoteIp;
    if (prior !== undefined && prior !== '') {
      const first = (Array.isArray(prior) ? prior[0]! : prior).split(',')[0]!.trim();
      if (first !== '') client = first;
    }
    return client;
  }
}

/**
 * Fields a client's Connection header may not remove: those the server
 * itself needs to read the request (the upgrade in progress, the proxy's
 * `te: trailers` handling). They are hop-by-hop and never forwarded as sent.
 */
const KEPT_OPTIONS: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  upgrade: true,
  te: true,
  host: true,
  connection: true,
  'content-length': true,
  'transfer-encoding': true,
});

/**
 * Drop the fields the client's Connection header names (RFC 9110 §7.6.1),
 * as the request is received and before the gateway adds its own fields:
 * connection options name fields of the received message only, so
 * `Connection: X-Forwarded-For` cannot remove the gateway's X-Forwarded-For,
 * nor `Connection: <name>` a header a middleware sets later.
 */
export function dropConnectionOptions(h: IncomingHttpHeaders): void {
  const conn = h.connection;
  if (conn === undefined) return;
  const v = Array.isArray(conn) ? conn.join(',') : conn;
  if (v.indexOf(',') < 0) {
    const one = v.trim().toLowerCase();
    if (one === 'keep-alive' || one === 'close' || one === '' || KEPT_OPTIONS[one] === true) return;
    delete h[one];
    return;
  }
  for (const t of v.split(',')) {
    const name = t.trim().toLowerCase();
    if (name !== '' && KEPT_OPTIONS[name] !== true) delete h[name];
  }
}
