/**
 * Desired DNS records from router rules (every `Host(…)` of enabled HTTP routers,
 * every `HostSNI(…)` of TCP routers) and from ExternalDNS `DNSEndpoint` specs.
 * Pure functions; the publisher feeds them the snapshot. See docs/dns.md.
 */
import { isIP } from 'node:net';
import { parse } from '../rules/index.js';
import type { RuleNode } from '../rules/index.js';
import { parseRule } from '../rules/parser.js';
import { RuleSyntaxError } from '../rules/errors.js';
import { normalizeRuleHost } from '../rules/hosts.js';
import type { DesiredRecord, DesiredType } from './plan.js';

export interface RouterInput {
  /** `name@provider`. */
  readonly name: string;
  readonly rule: string;
  /** Runtime status; `disabled` routers publish nothing. */
  readonly status: string;
  /** `tcp` routers are read for `HostSNI`; default `http`. */
  readonly kind?: 'http' | 'tcp';
  readonly ruleSyntax?: 'v2' | 'v3';
  /** Annotations and labels of the object the router came from (Kubernetes), or labels (file, Docker). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface DesiredOptions {
  /** `--dns.targets`: addresses published as A (IPv4) and AAAA (IPv6). */
  readonly targets?: readonly string[];
  /** `--dns.targethostname`: published as CNAME (ALIAS at a zone apex). */
  readonly targetHostname?: string;
  /** `--dns.domainfilters`: only hosts in these domains (`example.com` = it and below; `.example.com` = below only). Empty: all. */
  readonly domainFilters?: readonly string[];
  /** `--dns.excludedomains`: never these (same matching). */
  readonly excludeDomains?: readonly string[];
  /** `--dns.ttl`; default 300. */
  readonly ttl?: number;
}

/** Why a host or router publishes nothing (shown in /api/dns). */
export interface Skipped {
  /** The HTTP router (`name@provider`), TCP router (`tcprouter/<name@provider>`) or resource (`dnsendpoint/<namespace>/<name>`). */
  readonly source: string;
  readonly host?: string;
  readonly reason: string;
}

export interface DesiredResult {
  readonly records: DesiredRecord[];
  readonly skipped: Skipped[];
}

/** The prefixes of the annotations and labels ExternalDNS reads (and Gatehouse carries from Kubernetes objects). */
export const EXTERNAL_DNS_PREFIXES: readonly string[] = ['external-dns.kubernetes.io/', 'external-dns.alpha.kubernetes.io/'];
const PREFIXES = EXTERNAL_DNS_PREFIXES;

/** The value of an ExternalDNS annotation or label (`target`, `exclude`), under either prefix; annotations first. */
export function externalDnsAnnotation(r: Pick<RouterInput, 'annotations' | 'labels'>, key: string): string | undefined {
  for (const source of [r.annotations, r.labels]) {
    if (source === undefined) continue;
    for (const p of PREFIXES) {
      const v = source[p + key];
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** Whether `host` is inside `filters` (empty: yes) and not inside `excludes`. */
export function domainAllowed(host: string, filters: readonly string[] = [], excludes: readonly string[] = []): boolean {
  const inside = (f: string): boolean => {
    const d = f.trim().toLowerCase().replace(/\.$/, '');
    if (d === '') return false;
    if (d.startsWith('.')) return host.endsWith(d);
    return host === d || host.endsWith(`.${d}`);
  };
  const active = filters.filter((f) => f.trim() !== '');
  if (active.length > 0 && !active.some(inside)) return false;
  return !excludes.some(inside);
}

/** Hosts named by a rule's Host/HostHeader (HTTP) or HostSNI (TCP) matchers outside negations, normalised, in order. */
export function hostsOfRule(rule: string, kind: 'http' | 'tcp' = 'http', syntax: 'v2' | 'v3' = 'v2'): string[] {
  const tree = kind === 'tcp' ? parseRule(rule, tcpResolver) : parse(rule, syntax);
  const names = kind === 'tcp' ? ['HostSNI'] : ['Host', 'HostHeader'];
  const out: string[] = [];
  const walk = (n: RuleNode): void => {
    if (n.kind === 'matcher') {
      if (names.includes(n.name)) for (const a of n.args) out.push(normalizeRuleHost(a));
    } else if (n.kind !== 'not') {
      walk(n.left);
      walk(n.right);
    }
  };
  walk(tree);
  return [...new Set(out)];
}

const TCP_MATCHERS = ['HostSNI', 'HostSNIRegexp', 'ClientIP', 'ALPN'];
function tcpResolver(written: string, pos: number, rule: string): string {
  const found = TCP_MATCHERS.find((m) => m.toLowerCase() === written.toLowerCase());
  if (found === undefined) throw new RuleSyntaxError(rule, pos, `unknown TCP matcher "${written}"`);
  return found;
}

/** A host name DNS can hold: letters, digits, `-`, `_`, dots; labels up to 63, at most 253; not an IP. */
export function validDnsName(host: string): boolean {
  if (isIP(host) !== 0 || host.length === 0 || host.length > 253) return false;
  return host.split('.').every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l));
}

/** Targets as records: IP addresses by family, or one host name (CNAME). */
function targetRecords(
  name: string,
  targets: readonly string[],
  hostname: string | undefined,
  ttl: number,
  resource: string,
): DesiredRecord[] | string {
  const ips = targets.map((t) => t.trim()).filter((t) => t !== '');
  if (ips.length > 0) {
    const bad = ips.find((t) => isIP(t) === 0);
    if (bad !== undefined) {
      if (ips.length === 1 && validDnsName(bad.toLowerCase().replace(/\.$/, '')))
        return [{ name, type: 'CNAME', targets: [bad.toLowerCase().replace(/\.$/, '')], ttl, resource }];
      return `target "${bad}" is neither an IP address nor a single host name`;
    }
    const out: DesiredRecord[] = [];
    const v4 = ips.filter((t) => isIP(t) === 4);
    const v6 = ips.filter((t) => isIP(t) === 6);
    if (v4.length > 0) out.push({ name, type: 'A', targets: v4, ttl, resource });
    if (v6.length > 0) out.push({ name, type: 'AAAA', targets: v6, ttl, resource });
    return out;
  }
  if (hostname !== undefined && hostname.trim() !== '') {
    const h = hostname.trim().toLowerCase().replace(/\.$/, '');
    if (!validDnsName(h)) return `target host name "${hostname}" is not a valid DNS name`;
    return [{ name, type: 'CNAME', targets: [h], ttl, resource }];
  }
  return 'no target: set --dns.targets or --dns.targethostname (or the router annotation external-dns.kubernetes.io/target)';
}

/**
 * The resource named in ownership records and `/api/dns` for a router: `router/<name@provider>` (HTTP),
 * `tcprouter/<name@provider>` (TCP; an HTTP and a TCP router may share a name).
 */
export function routerResource(r: Pick<RouterInput, 'name' | 'kind'>): string {
  return `${r.kind === 'tcp' ? 'tcprouter' : 'router'}/${r.name}`;
}

/** How a skipped host names its router: `name@provider` (HTTP), `tcprouter/<name@provider>` (TCP). */
function sourceOf(r: RouterInput): string {
  return r.kind === 'tcp' ? routerResource(r) : r.name;
}

export function desiredFromRouters(routers: readonly RouterInput[], opts: DesiredOptions): DesiredResult {
  const ttl = opts.ttl ?? 300;
  const records: DesiredRecord[] = [];
  const skipped: Skipped[] = [];
  for (const r of routers) {
    if (r.status === 'disabled') continue;
    const exclude = externalDnsAnnotation(r, 'exclude');
    if (exclude !== undefined && exclude.trim().toLowerCase() !== 'false') {
      skipped.push({ source: sourceOf(r), reason: 'excluded by the external-dns.kubernetes.io/exclude annotation' });
      continue;
    }
    let hosts: string[];
    try {
      hosts = hostsOfRule(r.rule, r.kind ?? 'http', r.ruleSyntax ?? 'v2');
    } catch (err) {
      skipped.push({ source: sourceOf(r), reason: `rule does not parse: ${(err as Error).message}` });
      continue;
    }
    const override = externalDnsAnnotation(r, 'target');
    const resource = routerResource(r);
    for (const host of hosts) {
      // HostSNI(`*`) is a TCP catch-all, not a name: nothing to publish, nothing to report.
      if (host === '*' && r.kind === 'tcp') continue;
      if (host.includes('*')) {
        skipped.push({ source: sourceOf(r), host, reason: 'wildcard host' });
        continue;
      }
      if (!validDnsName(host)) {
        skipped.push({ source: sourceOf(r), host, reason: isIP(host) !== 0 ? 'an IP address, not a name' : 'not a valid DNS name' });
        continue;
      }
      if (!domainAllowed(host, opts.domainFilters, opts.excludeDomains)) {
        skipped.push({ source: sourceOf(r), host, reason: 'outside --dns.domainfilters or inside --dns.excludedomains' });
        continue;
      }
      const recs =
        override !== undefined
          ? targetRecords(host, override.split(','), undefined, ttl, resource)
          : targetRecords(host, opts.targets ?? [], opts.targetHostname, ttl, resource);
      if (typeof recs === 'string') skipped.push({ source: sourceOf(r), host, reason: recs });
      else records.push(...recs);
    }
  }
  return { records, skipped };
}

/** ExternalDNS `DNSEndpoint` spec (externaldns.k8s.io/v1alpha1), the fields Gatehouse reads. */
export interface DnsEndpointSpec {
  readonly endpoints?: readonly {
    readonly dnsName?: string;
    readonly recordType?: string;
    readonly targets?: readonly string[];
    readonly recordTTL?: number;
  }[];
}

const ENDPOINT_TYPES: ReadonlySet<string> = new Set<DesiredType>(['A', 'AAAA', 'CNAME', 'ALIAS']);

/**
 * Records of a DNSEndpoint spec; `resource` names the object (`dnsendpoint/<namespace>/<name>`).
 * Endpoints of other types, without a name or targets, or outside the filters are skipped with a reason.
 */
export function desiredFromDnsEndpoint(
  spec: DnsEndpointSpec,
  resource: string,
  opts: Pick<DesiredOptions, 'domainFilters' | 'excludeDomains' | 'ttl'> = {},
): DesiredResult {
  const records: DesiredRecord[] = [];
  const skipped: Skipped[] = [];
  (spec.endpoints ?? []).forEach((ep, i) => {
    const host = (ep.dnsName ?? '').trim().toLowerCase().replace(/\.$/, '');
    const where = `endpoints[${i}]`;
    const type = (ep.recordType ?? '').toUpperCase();
    if (!ENDPOINT_TYPES.has(type)) {
      skipped.push({
        source: resource,
        host,
        reason: `${where}: record type "${ep.recordType ?? ''}" is not published (A, AAAA, CNAME, ALIAS)`,
      });
      return;
    }
    if (!validDnsName(host)) {
      skipped.push({
        source: resource,
        host,
        reason: `${where}: "${ep.dnsName ?? ''}" is not a valid DNS name${host.includes('*') ? ' (wildcards are not published)' : ''}`,
      });
      return;
    }
    if (!domainAllowed(host, opts.domainFilters, opts.excludeDomains)) {
      skipped.push({ source: resource, host, reason: `${where}: outside --dns.domainfilters or inside --dns.excludedomains` });
      return;
    }
    const targets = (ep.targets ?? []).map((t) => t.trim()).filter((t) => t !== '');
    if (targets.length === 0) {
      skipped.push({ source: resource, host, reason: `${where}: no targets` });
      return;
    }
    const ttl = typeof ep.recordTTL === 'number' && ep.recordTTL > 0 ? Math.floor(ep.recordTTL) : (opts.ttl ?? 300);
    const t = type as DesiredType;
    const ok = (v: string): boolean =>
      t === 'A' ? isIP(v) === 4 : t === 'AAAA' ? isIP(v) === 6 : validDnsName(v.toLowerCase().replace(/\.$/, ''));
    const bad = targets.find((v) => !ok(v));
    if (bad !== undefined) {
      skipped.push({ source: resource, host, reason: `${where}: "${bad}" is not a valid ${t} target` });
      return;
    }
    records.push({ name: host, type: t, targets, ttl, resource });
  });
  return { records, skipped };
}
