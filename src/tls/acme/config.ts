/**
 * The typed form of one `--certificatesresolvers.<name>.acme.*` resolver
 * (docs/tls.md, "ACME certificate resolvers") and its validation. The static
 * configuration parser hands over the raw values it read (flags, environment,
 * a file): keys in any case (`caServer`, `caserver`), values as strings (flags)
 * or typed (files). Every error names the flag it is about.
 */
import { isAbsolute, join } from 'node:path';
import { parseDuration } from '../../util/duration.js';

export const ACME_KEY_TYPES = ['EC256', 'EC384', 'RSA2048', 'RSA4096'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];

/** Let's Encrypt's production directory (Traefik's default `caServer`). */
export const LETSENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

/** The DNS providers a dns-01 challenge can write to (the `--dns.provider` kinds). */
export const ACME_DNS_PROVIDERS = ['pdns', 'rfc2136'] as const;
export type AcmeDnsProviderKind = (typeof ACME_DNS_PROVIDERS)[number];

export interface AcmeResolverConfig {
  /** The resolver's name (`le` in `--certificatesresolvers.le.acme.email`). */
  readonly name: string;
  readonly email: string;
  /** The acme.json file (absolute). Ignored when the engine is given shared (Redis) storage. */
  readonly storage: string;
  /** The ACME directory URL. */
  readonly caServer: string;
  /** PEM files trusted for the ACME server, in addition to the system CAs. */
  readonly caCertificates: readonly string[];
  readonly keyType: AcmeKeyType;
  /** The lifetime the CA gives certificates, in hours (renewal is planned from it when shorter than the certificate's own). */
  readonly certificatesDuration: number;
  /** The issuer common name of the preferred alternate chain; empty: the CA's default chain. */
  readonly preferredChain: string;
  readonly eab?: { readonly kid: string; readonly hmacEncoded: string };
  readonly httpChallenge?: { readonly entryPoint: string };
  readonly tlsChallenge?: boolean;
  readonly dnsChallenge?: {
    readonly provider: AcmeDnsProviderKind;
    /** `host:port` (or `host`, port 53) of the resolvers asked whether the TXT record is visible; empty: the zone's authoritative servers. */
    readonly resolvers: readonly string[];
    /** Milliseconds to wait after writing the TXT record before checking for it. */
    readonly delayBeforeCheck: number;
  };
}

export interface AcmeValidation {
  readonly config?: AcmeResolverConfig;
  readonly errors: string[];
}

export interface AcmeValidateOptions {
  /** `--datadir`: where the default `acme.json` lives and relative storage paths are resolved. */
  readonly dataDir: string;
  /** Entry point names, to check `httpchallenge.entrypoint` (omit to skip the check). */
  readonly entryPoints?: readonly string[];
}

type Raw = Record<string, unknown>;

const RESOLVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)(:\d{1,5})?$/;

/** Keys lower-cased, so `caServer` (file) and `caserver` (flag) are the same key. */
function lowerKeys(raw: unknown): Raw {
  const out: Raw = Object.create(null) as Raw;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Raw)) out[k.toLowerCase()] = v;
  return out;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

function listOf(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((s) => s.trim()).filter((s) => s !== '');
  return undefined;
}

/** A section given as `true`, `"true"`, `""` (a bare flag) or an object is present; `false`/`"false"` is absent. */
function present(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === 'string') return v.trim().toLowerCase() !== 'false';
  return true;
}

/**
 * Validates one resolver's raw values. `errors` is empty exactly when `config` is set.
 * Traefik's rules: `email` is required by Let's Encrypt-like CAs (checked as an address
 * when given), at least one challenge is configured; when several are, each name uses
 * the first that applies (http-01, then tls-alpn-01, then dns-01; wildcards dns-01 only).
 */
export function validateAcmeResolver(name: string, raw: unknown, opts: AcmeValidateOptions): AcmeValidation {
  const errors: string[] = [];
  const flag = (k: string): string => `certificatesresolvers.${name}.acme.${k}`;
  if (!RESOLVER_NAME.test(name)) errors.push(`certificatesresolvers.${name}: a resolver name is letters, digits, "-" and "_"`);
  const r = lowerKeys(raw);
  const str = (k: string, v: unknown = r[k]): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v.trim();
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    errors.push(`${flag(k)}: ${show(v)} is not a string`);
    return undefined;
  };

  const email = str('email') ?? '';
  if (email !== '' && !EMAIL.test(email)) errors.push(`${flag('email')}: "${email}" is not an e-mail address`);

  const storageRaw = str('storage') ?? '';
  const storage =
    storageRaw === '' ? join(opts.dataDir, 'acme.json') : isAbsolute(storageRaw) ? storageRaw : join(opts.dataDir, storageRaw);

  const caServer = str('caserver') || LETSENCRYPT_PRODUCTION;
  try {
    const u = new URL(caServer);
    if (u.protocol !== 'https:') errors.push(`${flag('caserver')}: "${caServer}" must be an https:// URL (RFC 8555 requires TLS)`);
  } catch {
    errors.push(`${flag('caserver')}: "${caServer}" is not a URL`);
  }

  const caCertificates = listOf(r['cacertificates']);
  if (caCertificates === undefined) errors.push(`${flag('cacertificates')}: expected a comma-separated list of PEM file paths`);

  const keyTypeRaw = (str('keytype') || 'EC256').toUpperCase();
  const keyType = (ACME_KEY_TYPES as readonly string[]).includes(keyTypeRaw) ? (keyTypeRaw as AcmeKeyType) : undefined;
  if (keyType === undefined) errors.push(`${flag('keytype')}: "${str('keytype')}" is not one of ${ACME_KEY_TYPES.join(', ')}`);

  const durRaw = r['certificatesduration'];
  const certificatesDuration = durRaw === undefined || durRaw === '' ? 2160 : Number(durRaw);
  if (!Number.isFinite(certificatesDuration) || certificatesDuration <= 0)
    errors.push(`${flag('certificatesduration')}: ${show(durRaw)} is not a positive number of hours`);

  const preferredChain = str('preferredchain') ?? '';

  let eab: AcmeResolverConfig['eab'];
  const eabRaw = lowerKeys(r['eab']);
  const kid = str('eab.kid', eabRaw['kid']) ?? '';
  const hmacEncoded = str('eab.hmacencoded', eabRaw['hmacencoded']) ?? '';
  if (kid !== '' || hmacEncoded !== '') {
    if (kid === '') errors.push(`${flag('eab.kid')}: required with eab.hmacencoded`);
    if (hmacEncoded === '') errors.push(`${flag('eab.hmacencoded')}: required with eab.kid`);
    // The HMAC key is a secret: the message says what is wrong with it, never what it is.
    else if (!/^[A-Za-z0-9_-]+={0,2}$/.test(hmacEncoded) || Buffer.from(hmacEncoded, 'base64url').length < 16)
      errors.push(`${flag('eab.hmacencoded')}: not a base64url-encoded key of at least 16 bytes`);
    eab = { kid, hmacEncoded };
  }

  let httpChallenge: AcmeResolverConfig['httpChallenge'];
  if (present(r['httpchallenge'])) {
    const h = lowerKeys(r['httpchallenge']);
    const entryPoint = str('httpchallenge.entrypoint', h['entrypoint']) ?? '';
    if (entryPoint === '')
      errors.push(`${flag('httpchallenge.entrypoint')}: required (the entry point on port 80 that answers /.well-known/acme-challenge/)`);
    else if (opts.entryPoints !== undefined && !opts.entryPoints.includes(entryPoint))
      errors.push(
        `${flag('httpchallenge.entrypoint')}: no entry point named "${entryPoint}" (defined: ${opts.entryPoints.join(', ') || 'none'})`,
      );
    httpChallenge = { entryPoint };
  }

  const tlsChallenge = present(r['tlschallenge']) ? true : undefined;

  let dnsChallenge: AcmeResolverConfig['dnsChallenge'];
  if (present(r['dnschallenge'])) {
    const d = lowerKeys(r['dnschallenge']);
    const provider = (str('dnschallenge.provider', d['provider']) ?? '').toLowerCase();
    if (!(ACME_DNS_PROVIDERS as readonly string[]).includes(provider))
      errors.push(`${flag('dnschallenge.provider')}: "${provider}" is not one of ${ACME_DNS_PROVIDERS.join(', ')}`);
    const resolvers = listOf(d['resolvers']);
    if (resolvers === undefined) errors.push(`${flag('dnschallenge.resolvers')}: expected a comma-separated list of host:port`);
    for (const x of resolvers ?? [])
      if (!HOST_PORT.test(x)) errors.push(`${flag('dnschallenge.resolvers')}: "${x}" is not host or host:port`);
    let delayBeforeCheck = 0;
    const delayRaw = d['delaybeforecheck'];
    if (delayRaw !== undefined && delayRaw !== '') {
      try {
        delayBeforeCheck = parseDuration(typeof delayRaw === 'number' ? delayRaw : String(delayRaw));
      } catch (e) {
        errors.push(`${flag('dnschallenge.delaybeforecheck')}: ${(e as Error).message}`);
      }
    }
    dnsChallenge = { provider: provider as AcmeDnsProviderKind, resolvers: resolvers ?? [], delayBeforeCheck };
  }

  if (httpChallenge === undefined && tlsChallenge === undefined && dnsChallenge === undefined)
    errors.push(
      `certificatesresolvers.${name}.acme: no challenge configured: set httpchallenge.entrypoint, tlschallenge or dnschallenge.provider`,
    );

  if (errors.length > 0) return { errors };
  return {
    errors,
    config: {
      name,
      email,
      storage,
      caServer,
      caCertificates: caCertificates ?? [],
      keyType: keyType as AcmeKeyType,
      certificatesDuration,
      preferredChain,
      ...(eab !== undefined ? { eab } : {}),
      ...(httpChallenge !== undefined ? { httpChallenge } : {}),
      ...(tlsChallenge !== undefined ? { tlsChallenge } : {}),
      ...(dnsChallenge !== undefined ? { dnsChallenge } : {}),
    },
  };
}
