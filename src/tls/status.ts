/**
 * What the API, `gatehouse certs` and the metrics show of TLS: each
 * certificate's public description with days to expiry and the routers it
 * serves, and for each TLS router the certificate a client gets for its host.
 * Computed from the snapshot's TLS section alone (no key material).
 */
import type { RuntimeRouter } from '../config/runtime.js';
import { compileRule } from '../rules/index.js';
import { nameMatches } from './certificates.js';
import { escapeLabelValue } from '../observe/prometheus.js';
import type { TlsCertificateEntry, TlsSection } from './compile.js';

export interface CertificateView {
  readonly names: string[];
  readonly commonName: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days until notAfter (negative once expired). */
  readonly daysLeft: number;
  readonly source: TlsCertificateEntry['source'];
  readonly provider: string;
  readonly certFile?: string;
  readonly resolver?: string;
  readonly fingerprint: string;
  /** TLS routers whose hosts this certificate answers for. */
  readonly routers: string[];
  readonly default: boolean;
}

/** The certificate SNI selection gives `host` (exact, then wildcard, then the default), as TlsStore does. */
export function certificateForHost(section: TlsSection, host: string): TlsCertificateEntry | undefined {
  const real = section.certificates.filter((c) => c.source !== 'generated');
  const pick = (list: TlsCertificateEntry[]): TlsCertificateEntry | undefined =>
    list.sort((a, b) => Date.parse(b.notAfter) - Date.parse(a.notAfter))[0];
  return (
    pick(real.filter((c) => c.names.includes(host))) ??
    pick(real.filter((c) => c.names.some((n) => n.startsWith('*.') && nameMatches(n, host)))) ??
    section.certificates.find((c) => c.id === section.defaultCertificate)
  );
}

function hostsOf(r: RuntimeRouter): readonly string[] {
  try {
    return compileRule(r.config.rule, r.ruleSyntax).hosts ?? [];
  } catch {
    return [];
  }
}

/** For each TLS router: the certificate served for its first host (or the default), by fingerprint and names. */
export function routerCertificates(
  section: TlsSection,
  routers: Record<string, RuntimeRouter>,
): Record<string, { host: string | null; certificate: TlsCertificateEntry | undefined }> {
  const out: Record<string, { host: string | null; certificate: TlsCertificateEntry | undefined }> = {};
  for (const name of Object.keys(section.routers)) {
    const r = routers[name];
    if (r === undefined) continue;
    const host = hostsOf(r)[0] ?? null;
    out[name] = {
      host,
      certificate:
        host === null ? section.certificates.find((c) => c.id === section.defaultCertificate) : certificateForHost(section, host),
    };
  }
  return out;
}

export function certificateViews(section: TlsSection, routers: Record<string, RuntimeRouter>, now = Date.now()): CertificateView[] {
  const served = routerCertificates(section, routers);
  return section.certificates.map((c) => ({
    names: c.names,
    commonName: c.commonName,
    issuer: c.issuer,
    serial: c.serial,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    daysLeft: Math.floor((Date.parse(c.notAfter) - now) / 86_400_000),
    source: c.source,
    provider: c.provider,
    ...(c.certFile !== undefined ? { certFile: c.certFile } : {}),
    ...(c.resolver !== undefined ? { resolver: c.resolver } : {}),
    fingerprint: c.id,
    routers: Object.entries(served)
      .filter(([, s]) => s.certificate?.id === c.id)
      .map(([n]) => n)
      .sort(),
    default: c.id === section.defaultCertificate,
  }));
}

/** Traefik's `traefik_tls_certs_not_after{cn,serial,sans}` (seconds since the epoch), one sample per certificate in use. */
export function certificateMetrics(section: TlsSection | undefined): string {
  const certs = (section?.certificates ?? []).filter((c) => c.source !== 'generated');
  if (certs.length === 0) return '';
  const lines = ['# HELP traefik_tls_certs_not_after Certificate expiration timestamp', '# TYPE traefik_tls_certs_not_after gauge'];
  for (const c of certs)
    lines.push(
      `traefik_tls_certs_not_after{cn="${escapeLabelValue(c.commonName)}",serial="${escapeLabelValue(c.serial)}",sans="${escapeLabelValue(c.names.join(','))}"} ${Math.floor(Date.parse(c.notAfter) / 1000)}`,
    );
  return `${lines.join('\n')}\n`;
}
