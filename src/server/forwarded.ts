/**
 * Traefik's forwarded-headers handling at the entry point: incoming
 * X-Forwarded-* / X-Real-Ip headers are kept only from trusted peers
 * (`forwardedHeaders.insecure` or `trustedIPs`); then the gateway sets
 * X-Forwarded-Proto/Host/Port/Server and X-Real-Ip, and appends the peer to
 * X-Forwarded-For.
 */
import { hostname } from 'node:os';
import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-prefix', 'x-forwarded-tls-client-cert', 'x-forwarded-tls-client-cert-info', 'x-real-ip', 'forwarded'];
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

export class ForwardedHeaders {
  private readonly trusted: BlockList | null;
  private readonly insecure: boolean;

  constructor(policy: ForwardedPolicy, private readonly scheme: 'http' | 'https') {
    this.insecure = policy.insecure;
    if (policy.trustedIPs.length === 0) this.trusted = null;
    else {
      const bl = new BlockList();
      for (const t of policy.trustedIPs) {
        const [addr, bits] = t.split('/');
        const type = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
        if (bits !== undefined) bl.addSubnet(addr!, Number(bits), type);
        else bl.addAddress(addr!, type);
      }
      this.trusted = bl;
    }
  }

  isTrusted(remoteIp: string): boolean {
    if (this.insecure) return true;
    if (this.trusted === null || remoteIp === '') return false;
    return this.trusted.check(remoteIp, isIP(remoteIp) === 6 ? 'ipv6' : 'ipv4');
  }

  /** Apply to the headers that go upstream; returns the client IP. */
  apply(h: IncomingHttpHeaders, remoteIp: string): string {
    const trusted = this.isTrusted(remoteIp);
    if (!trusted) for (const k of FORWARDED) if (h[k] !== undefined) delete h[k];
    if (h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = h['upgrade'] !== undefined && /websocket/i.test(String(h['upgrade'])) ? (this.scheme === 'https' ? 'wss' : 'ws') : this.scheme;
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
