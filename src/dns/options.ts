/**
 * `--dns.*` (static configuration) → the options of the DNS record publisher
 * (./publisher.ts, docs/dns.md "Flags"), checked once at start-up with errors
 * that name the flag. Plain data without secrets: the API key and the TSIG
 * secret stay in their files, which are read here once to check them (errors
 * name the flag and the file, never the content) and again when the provider
 * is created (`createDnsProvider`).
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { TSIG_ALGORITHMS, type DnsProviderKind, type DnsStaticSection } from '../config/static-schema.js';
import { validDnsName } from './desired.js';
import type { Policy } from './plan.js';
import { createPdnsProvider } from './pdns.js';
import { createRfc2136Provider, readTsigSecretFile } from './rfc2136.js';
import type { DnsProvider } from './types.js';

export { DnsStaticSchema, DNS_PROVIDERS, TSIG_ALGORITHMS } from '../config/static-schema.js';
export type { DnsStaticSection, DnsProviderKind } from '../config/static-schema.js';

export interface PdnsSettings {
  readonly server: string;
  readonly serverId: string;
  /** Absolute path of the file holding the API key. */
  readonly apiKeyFile: string;
}

export interface Rfc2136Settings {
  readonly host: string;
  readonly port: number;
  readonly zones: readonly string[];
  readonly tsigKeyName: string | null;
  /** Absolute path; null without TSIG. */
  readonly tsigSecretFile: string | null;
  readonly tsigAlgorithm: (typeof TSIG_ALGORITHMS)[number];
  readonly axfr: boolean;
}

/** The publisher's options: plain data, no secret values (paths only). */
export interface DnsOptions {
  readonly provider: DnsProviderKind;
  /**
   * Whether the record publisher runs: `--dns.targets` or `--dns.targethostname`
   * (with `--dns.policy`) is given. `false`: the section is only the connection
   * an ACME `dnschallenge` writes through. Absent counts as `true`.
   */
  readonly publish?: boolean;
  /** Addresses (A/AAAA); empty when `targetHostname` is set. */
  readonly targets: readonly string[];
  readonly targetHostname: string | null;
  readonly domainFilters: readonly string[];
  readonly excludeDomains: readonly string[];
  readonly policy: Policy;
  readonly owner: string;
  readonly txtPrefix: string;
  readonly ttl: number;
  readonly intervalMs: number;
  readonly minEventSyncIntervalMs: number;
  readonly dryRun: boolean;
  readonly once: boolean;
  readonly maxDeletes: number;
  /** Where answers are checked after a publish; null: not checked. */
  readonly check: { readonly host: string; readonly port: number } | null;
  readonly pdns: PdnsSettings | null;
  readonly rfc2136: Rfc2136Settings | null;
}

const MAX_SECRET_FILE = 64 * 1024;
const PREFIX_RE = /^(?:[a-z0-9_.-]|%\{record_type\})*$/i;

/** `host:port`, `[v6]:port`; throws a message without the flag. */
function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new Error(`"${text}" is not host:port (for example 127.0.0.1:53 or [::1]:53)`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function splitList(values: readonly unknown[] | string | undefined): string[] {
  return (typeof values === 'string' ? [values] : (values ?? []))
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Reads the PowerDNS API key file; errors name the flag and file, never the content. */
export function readApiKeyFile(file: string, flag = '--dns.pdns.apikeyfile'): string {
  let text: string;
  try {
    if (statSync(file).size > MAX_SECRET_FILE) throw new Error(`${flag}: ${file} is larger than 64 KiB: not an API key file`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!('code' in (err as object))) throw err;
    throw new Error(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const key = text.trim();
  if (key === '') throw new Error(`${flag}: ${file} is empty`);
  if (/[\r\n]/.test(key)) throw new Error(`${flag}: ${file} holds more than one line; it must hold the API key alone`);
  return key;
}

/**
 * The publisher's options from the `dns` section (as the static parser leaves it:
 * defaults filled, durations in ms), or null without the section. Throws a
 * ConfigError listing every problem, each naming its flag.
 */
export function dnsOptionsFromStatic(raw: DnsStaticSection | undefined, cwd: string): DnsOptions | null {
  if (raw === undefined) return null;
  const issues: ConfigIssue[] = [];
  const bad = (message: string): void => {
    issues.push({ message });
  };

  const provider = raw.provider;
  if (provider === undefined) bad('--dns.provider is required: pdns or rfc2136 (docs/dns.md)');
  const policy = raw.policy;
  const targets = splitList(raw.targets ?? []);
  const targetHostname = raw.targethostname?.trim().toLowerCase().replace(/\.$/, '') ?? '';
  // Without targets and policy the section gives only the connection (for ACME dns-01): no publisher runs.
  const publish = targets.length > 0 || targetHostname !== '' || policy !== undefined;
  if (publish && policy === undefined)
    bad('--dns.policy is required: sync, upsert-only or create-only (there is no default: choose whether Gatehouse may delete records)');
  if (targets.length > 0 && targetHostname !== '')
    bad('--dns.targets and --dns.targethostname are both set: give exactly one (addresses, or a host name for CNAME/ALIAS)');
  // --dns.policy without targets publishes what names its own target: routers with the
  // external-dns.kubernetes.io/target annotation and DNSEndpoint resources (other routers are skipped with a reason).
  for (const t of targets) if (isIP(t) === 0) bad(`--dns.targets: "${t}" is not an IP address (use --dns.targethostname for a host name)`);
  if (targetHostname !== '' && !validDnsName(targetHostname))
    bad(`--dns.targethostname: "${raw.targethostname ?? ''}" is not a valid DNS name`);

  const domains = (flag: string, values: readonly unknown[]): string[] => {
    const out = splitList(values).map((d) => d.toLowerCase().replace(/\.$/, ''));
    for (const d of out) if (!validDnsName(d.startsWith('.') ? d.slice(1) : d)) bad(`${flag}: "${d}" is not a domain name`);
    return out;
  };
  const domainFilters = domains('--dns.domainfilters', raw.domainfilters ?? []);
  const excludeDomains = domains('--dns.excludedomains', raw.excludedomains ?? []);

  const owner = raw.txtowner ?? 'default';
  if (owner.trim() === '' || /[,=\s"]/.test(owner))
    bad(`--dns.txtowner: "${owner}" must be non-empty, without ",", "=", quotes or spaces (it is written in the ownership TXT)`);
  const txtPrefix = raw.txtprefix ?? '%{record_type}-gh.';
  if (!PREFIX_RE.test(txtPrefix)) bad(`--dns.txtprefix: "${txtPrefix}" may hold only letters, digits, "-", "_", "." and %{record_type}`);
  const ttl = raw.ttl ?? 300;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 2147483647) bad(`--dns.ttl: ${ttl} is not a TTL in seconds (1 to 2147483647)`);
  const intervalMs = raw.interval ?? 60_000;
  if (!(intervalMs >= 1000)) bad(`--dns.interval: must be at least 1s (got ${intervalMs} ms)`);
  const minEventSyncIntervalMs = raw.mineventsyncinterval ?? 5_000;
  if (!(minEventSyncIntervalMs >= 0)) bad('--dns.mineventsyncinterval: must not be negative');
  const maxDeletes = raw.maxdeletes ?? 10;
  if (!Number.isInteger(maxDeletes)) bad(`--dns.maxdeletes: ${maxDeletes} is not an integer`);

  const secretFile = (p: string | undefined): string | null => (p === undefined || p.trim() === '' ? null : resolve(cwd, p.trim()));

  let pdns: PdnsSettings | null = null;
  let rfc2136: Rfc2136Settings | null = null;
  if (provider === 'pdns') {
    if (raw.rfc2136 !== undefined) bad('--dns.rfc2136.* is set but --dns.provider=pdns: remove it or use --dns.provider=rfc2136');
    const p = raw.pdns;
    const server = p?.server ?? 'http://127.0.0.1:8081';
    try {
      const u = new URL(server);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`--dns.pdns.server: "${server}" must be an http:// or https:// URL`);
    } catch {
      bad(`--dns.pdns.server: "${server}" is not a URL (for example http://127.0.0.1:8081)`);
    }
    const keyFile = secretFile(p?.apikeyfile);
    if (keyFile === null) bad('--dns.provider=pdns needs --dns.pdns.apikeyfile: a file holding the PowerDNS API key');
    else {
      try {
        readApiKeyFile(keyFile);
      } catch (err) {
        bad((err as Error).message);
      }
    }
    pdns = { server, serverId: p?.serverid ?? 'localhost', apiKeyFile: keyFile ?? '' };
  } else if (provider === 'rfc2136') {
    if (raw.pdns !== undefined) bad('--dns.pdns.* is set but --dns.provider=rfc2136: remove it or use --dns.provider=pdns');
    const r = raw.rfc2136;
    const host = r?.host?.trim() ?? '';
    if (host === '') bad('--dns.provider=rfc2136 needs --dns.rfc2136.host: the primary server taking dynamic updates');
    const zones = splitList(r?.zone ?? []).map((z) => z.toLowerCase().replace(/\.$/, ''));
    if (zones.length === 0) bad('--dns.provider=rfc2136 needs --dns.rfc2136.zone: the zones to manage (comma list)');
    for (const z of zones) if (!validDnsName(z)) bad(`--dns.rfc2136.zone: "${z}" is not a zone name`);
    const keyName = r?.tsigkeyname?.trim() ?? '';
    const file = secretFile(r?.tsigsecretfile);
    if (keyName !== '' && file === null) bad('--dns.rfc2136.tsigkeyname needs --dns.rfc2136.tsigsecretfile: a file holding the secret');
    if (keyName === '' && file !== null) bad('--dns.rfc2136.tsigsecretfile needs --dns.rfc2136.tsigkeyname: the key name the server knows');
    if (file !== null) {
      try {
        readTsigSecretFile(file);
      } catch (err) {
        bad(`--dns.rfc2136.tsigsecretfile: ${(err as Error).message}`);
      }
    }
    rfc2136 = {
      host,
      port: r?.port ?? 53,
      zones,
      tsigKeyName: keyName === '' ? null : keyName,
      tsigSecretFile: file,
      tsigAlgorithm: r?.tsigalgorithm ?? 'hmac-sha256',
      axfr: r?.axfr ?? true,
    };
  }

  let check: DnsOptions['check'] = null;
  const ca = raw.checkaddress?.trim();
  if (ca !== undefined && ca !== '' && ca.toLowerCase() !== 'off') {
    try {
      check = parseHostPort(ca);
    } catch (err) {
      bad(`--dns.checkaddress: ${(err as Error).message}`);
    }
  } else if (ca === undefined || ca === '') {
    if (rfc2136 !== null && rfc2136.host !== '') check = { host: rfc2136.host, port: rfc2136.port };
    if (pdns !== null) {
      try {
        const h = new URL(pdns.server).hostname.replace(/^\[|\]$/g, '');
        check = { host: h, port: 53 };
      } catch {
        // reported above
      }
    }
  }

  if (issues.length > 0) throw new ConfigError(issues);
  return {
    provider: provider as DnsProviderKind,
    publish,
    targets,
    targetHostname: targetHostname === '' ? null : targetHostname,
    domainFilters,
    excludeDomains,
    // Not publishing: no policy applies (the solver writes and removes only its own TXT values).
    policy: policy ?? 'create-only',
    owner,
    txtPrefix,
    ttl,
    intervalMs,
    minEventSyncIntervalMs,
    dryRun: raw.dryrun ?? false,
    once: raw.once ?? false,
    maxDeletes,
    check,
    pdns,
    rfc2136,
  };
}

/** The provider the options name, reading its secret file now (errors name the flag and file, never the content). */
export function createDnsProvider(o: DnsOptions): DnsProvider {
  if (o.provider === 'pdns') {
    const p = o.pdns;
    if (p === null) throw new Error('--dns.provider=pdns without --dns.pdns settings');
    return createPdnsProvider({ server: p.server, serverId: p.serverId, apiKey: readApiKeyFile(p.apiKeyFile) });
  }
  const r = o.rfc2136;
  if (r === null) throw new Error('--dns.provider=rfc2136 without --dns.rfc2136 settings');
  return createRfc2136Provider({
    host: r.host,
    port: r.port,
    zones: r.zones,
    ...(r.tsigKeyName !== null ? { tsigKeyName: r.tsigKeyName } : {}),
    ...(r.tsigSecretFile !== null ? { tsigSecret: readTsigSecretFile(r.tsigSecretFile) } : {}),
    tsigAlgorithm: r.tsigAlgorithm,
    axfr: r.axfr,
  });
}
