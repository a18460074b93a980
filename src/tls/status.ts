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
import type { AcmeCertificateStatus } from './acme/types.js';
import type { TlsCertificateEntry, TlsSection } from './compile.js';

/** What /api/tls/certificates shows of an ACME order (state, the CA's error, next renewal): no key material. */
export interface AcmeView {
  readonly state: AcmeCertificateStatus['state'];
  readonly domains: AcmeCertificateStatus['domains'];
  readonly error?: string;
  readonly nextRenewal?: string;
  readonly nextAttempt?: string;
  readonly lastAttempt?: string;
  readonly failures: number;
}

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
  /** For ACME certificates: the order's state. */
  readonly acme?: AcmeView;
}

/** An ACME order with no certificate served yet (Pending, Issuing, Failed): shown with its state only. */
export interface PendingAcmeView {
  readonly names: string[];
  readonly source: 'acme';
  readonly resolver: string;
  readonly acme: AcmeView;
}

function acmeView(s: AcmeCertificateStatus): AcmeView {
  return {
    state: s.state,
    domains: s.domains,
    ...(s.error !== undefined ? { error: s.error } : {}),
    ...(s.nextRenewal !== undefined ? { nextRenewal: s.nextRenewal } : {}),
    ...(s.nextAttempt !== undefined ? { nextAttempt: s.nextAttempt } : {}),
    ...(s.lastAttempt !== undefined ? { lastAttempt: s.lastAttempt } : {}),
    failures: s.failures,
  };
}

/** The certificates with their ACME order state; orders with nothing served yet are appended. */
export function withAcme(
  views: readonly CertificateView[],
  states: readonly AcmeCertificateStatus[],
  unavailable?: string,
): Array<CertificateView | PendingAcmeView | { acmeUnavailable: string }> {
  const byFingerprint = new Map(states.filter((s) => s.fingerprint !== undefined).map((s) => [s.fingerprint as string, s]));
  const out: Array<CertificateView | PendingAcmeView | { acmeUnavailable: string }> = views.map((v) => {
    const s = byFingerprint.get(v.fingerprint);
    return s === undefined ? v : { ...v, acme: acmeView(s) };
  });
  const shown = new Set(views.map((v) => v.fingerprint));
  for (const s of states)
    if (!s.serving || s.fingerprint === undefined || !shown.has(s.fingerprint))
      if (s.wanted || s.state !== 'Ready')
        out.push({ names: [s.domains.main, ...s.domains.sans], source: 'acme', resolver: s.resolver, acme: acmeView(s) });
  if (unavailable !== undefined) out.push({ acmeUnavailable: unavailable });
  return out;
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
