/**
 * Traefik's forwarded-headers handling at the entry point: incoming
 * X-Forwarded-* / X-Real-Ip headers are kept only from trusted peers
 * (`forwardedHeaders.insecure` or `trustedIPs`); then the gateway sets
 * X-Forwarded-Proto/Host/Port/Server and X-Real-Ip, and appends the peer to
 * X-Forwarded-For.
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
      h['x-forwarded-for'] = `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteIp}`;
    } else h['x-forwarded-for'] = remoteIp;
    return client;
  }
}
