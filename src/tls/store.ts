/**
 * The serving side of TLS: from the snapshot's TLS section and the PEM
 * material, which certificate and which options a new connection gets.
 * Certificates by SNI: an exact name first, then a wildcard, then the default
 * store's default certificate (Traefik's order); options by SNI host (the TLS
 * routers' Host rules), else `default`. Secure contexts are built lazily, once
 * per (certificate, options) pair, and live as long as this store.
 */
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateMaterial } from './certificates.js';
import type { TlsCertificateEntry, TlsSection } from './compile.js';
import { DEFAULT_TLS_OPTIONS, type CompiledTlsOptions } from './options.js';

export interface TlsChoice {
  readonly context: SecureContext;
  readonly options: CompiledTlsOptions;
  readonly optionsName: string;
  /** The certificate served. */
  readonly certificate: TlsCertificateEntry;
}

export type TlsSelection = { kind: 'ok'; choice: TlsChoice } | { kind: 'refuse'; reason: string };

export class TlsStore {
  private readonly exact = new Map<string, TlsCertificateEntry>();
  private readonly wildcard = new Map<string, TlsCertificateEntry>();
  private readonly contexts = new Map<string, SecureContext>();
  private readonly fallback: TlsCertificateEntry | undefined;

  constructor(
    readonly section: TlsSection,
    private readonly material: ReadonlyMap<string, CertificateMaterial>,
  ) {
    for (const c of section.certificates) {
      if (!material.has(c.id) || c.source === 'generated') continue;
      for (const n of c.names) {
        const map = n.startsWith('*.') ? this.wildcard : this.exact;
        const key = n.startsWith('*.') ? n.slice(2) : n;
        const prev = map.get(key);
        // Several certificates for one name: the one valid longest wins (a renewed certificate before the old one).
        if (prev === undefined || Date.parse(c.notAfter) > Date.parse(prev.notAfter)) map.set(key, c);
      }
    }
    const def = section.defaultCertificate;
    this.fallback = def === null ? undefined : section.certificates.find((c) => c.id === def && material.has(c.id));
  }

  /** The certificate for `serverName`, and whether it matched the name (false: the default). */
  certificateFor(serverName: string | undefined): { cert: TlsCertificateEntry | undefined; matched: boolean } {
    if (serverName !== undefined) {
      const e = this.exact.get(serverName);
      if (e !== undefined) return { cert: e, matched: true };
      const dot = serverName.indexOf('.');
      if (dot > 0) {
        const w = this.wildcard.get(serverName.slice(dot + 1));
        if (w !== undefined) return { cert: w, matched: true };
      }
    }
    return { cert: this.fallback, matched: false };
  }

  optionsFor(serverName: string | undefined): { name: string; options: CompiledTlsOptions } {
    const name = (serverName !== undefined ? this.section.hostOptions[serverName] : undefined) ?? 'default';
    return { name, options: this.section.options[name] ?? this.section.options.default ?? DEFAULT_TLS_OPTIONS };
  }

  /** What a ClientHello for `serverName` gets. */
  select(serverName: string | undefined): TlsSelection {
    const { name, options } = this.optionsFor(serverName);
    const { cert, matched } = this.certificateFor(serverName);
    if (options.sniStrict && (serverName === undefined || !matched))
      return {
        kind: 'refuse',
        reason: serverName === undefined ? 'no SNI sent (sniStrict)' : `no certificate for "${serverName}" (sniStrict)`,
      };
    if (cert === undefined) return { kind: 'refuse', reason: 'no certificate available' };
    return { kind: 'ok', choice: { context: this.context(cert, name, options), options, optionsName: name, certificate: cert } };
  }

  private context(cert: TlsCertificateEntry, name: string, o: CompiledTlsOptions): SecureContext {
    const key = `${cert.id}\u0000${name}`;
    let ctx = this.contexts.get(key);
    if (ctx === undefined) {
      const m = this.material.get(cert.id) as CertificateMaterial;
      ctx = createSecureContext({
        cert: m.cert,
        key: m.key,
        minVersion: o.minVersion,
        maxVersion: o.maxVersion,
        ...(o.ciphers !== undefined ? { ciphers: o.ciphers } : {}),
        ...(o.ecdhCurve !== undefined ? { ecdhCurve: o.ecdhCurve } : {}),
        ...(o.clientCAs.length > 0 ? { ca: o.clientCAs } : {}),
        honorCipherOrder: true,
        ...(o.disableSessionTickets ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
        sessionIdContext: name.slice(0, 32),
      });
      this.contexts.set(key, ctx);
    }
    return ctx;
  }
}
