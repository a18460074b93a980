/**
 * Traefik's TLS options (`tls.options.<name>`, the TLSOption CRD) compiled into
 * what node:tls takes: Go's version and cipher-suite names mapped to OpenSSL's,
 * curve names, client-certificate modes, SNI strictness, ALPN. Unknown names
 * are configuration errors that name them.
 */
import { CLIENT_AUTH_TYPES, type ClientAuthType, type TlsOptionsConfig } from '../config/tls-schema.js';
import { readPem } from './certificates.js';

type NodeTlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** Compiled TLS options: plain JSON (it travels in the snapshot; CA certificates are public). */
export interface CompiledTlsOptions {
  readonly minVersion: NodeTlsVersion;
  readonly maxVersion: NodeTlsVersion;
  /** OpenSSL cipher list for TLS 1.2 and below, followed by the TLS 1.3 suites (Go never lets TLS 1.3 suites be chosen). Absent: node's defaults. */
  readonly ciphers?: string;
  /** OpenSSL group list, e.g. `X25519:P-256`. Absent: node's defaults. */
  readonly ecdhCurve?: string;
  readonly clientAuthType: ClientAuthType;
  /** PEM of the CAs client certificates must chain to. */
  readonly clientCAs: string[];
  readonly sniStrict: boolean;
  readonly alpnProtocols: string[];
  readonly disableSessionTickets: boolean;
}

const VERSIONS: Record<string, NodeTlsVersion> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};
const ORDER: NodeTlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's cipher-suite names (crypto/tls) → OpenSSL's. */
const CIPHERS: Record<string, string> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites: accepted in the list (Traefik does), always enabled as in Go. */
const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Go's curve names (and the SEC names Traefik also accepts) → OpenSSL group names. */
const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

export const DEFAULT_ALPN = ['h2', 'http/1.1', 'acme-tls/1'];

/** Traefik's `default` TLS options when none are configured. */
export const DEFAULT_TLS_OPTIONS: CompiledTlsOptions = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  clientAuthType: 'NoClientCert',
  clientCAs: [],
  sniStrict: false,
  alpnProtocols: DEFAULT_ALPN,
  disableSessionTickets: false,
};

export interface TlsOptionsProblem {
  readonly path: string;
  readonly message: string;
}

/** Compiles one TLS options object; problems name the field (the options are then not usable). */
export function compileTlsOptions(c: TlsOptionsConfig): { options?: CompiledTlsOptions; problems: TlsOptionsProblem[] } {
  const problems: TlsOptionsProblem[] = [];
  const version = (field: 'minVersion' | 'maxVersion', fallback: NodeTlsVersion): NodeTlsVersion => {
    const v = c[field];
    if (v === undefined || v === '') return fallback;
    const n = VERSIONS[v];
    if (n === undefined)
      problems.push({ path: field, message: `unknown TLS version "${v}": expected one of ${Object.keys(VERSIONS).join(', ')}` });
    return n ?? fallback;
  };
  const minVersion = version('minVersion', 'TLSv1.2');
  const maxVersion = version('maxVersion', 'TLSv1.3');
  if (ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion))
    problems.push({ path: 'maxVersion', message: `maxVersion ${c.maxVersion} is below minVersion ${c.minVersion ?? 'VersionTLS12'}` });

  let ciphers: string | undefined;
  if (c.cipherSuites !== undefined && c.cipherSuites.length > 0) {
    const legacy: string[] = [];
    c.cipherSuites.forEach((name, i) => {
      if (TLS13.includes(name)) return;
      const o = CIPHERS[name];
      if (o === undefined)
        problems.push({
          path: `cipherSuites[${i}]`,
          message: `unknown cipher suite "${name}" (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`,
        });
      else if (!legacy.includes(o)) legacy.push(o);
    });
    // Go applies cipherSuites to TLS 1.2 and below only; TLS 1.3 keeps its suites.
    ciphers = [...legacy, ...TLS13].join(':');
    if (legacy.length === 0 && ORDER.indexOf(minVersion) < ORDER.indexOf('TLSv1.3') && problems.length === 0)
      problems.push({
        path: 'cipherSuites',
        message: 'no TLS 1.2 cipher suite listed: TLS 1.2 and below could not be negotiated (set minVersion: VersionTLS13 instead)',
      });
  }

  let ecdhCurve: string | undefined;
  if (c.curvePreferences !== undefined && c.curvePreferences.length > 0) {
    const groups: string[] = [];
    c.curvePreferences.forEach((name, i) => {
      const g = CURVES[name];
      if (g === undefined)
        problems.push({
          path: `curvePreferences[${i}]`,
          message: `unknown curve "${name}": expected one of CurveP256, CurveP384, CurveP521, X25519`,
        });
      else if (!groups.includes(g)) groups.push(g);
    });
    if (groups.length > 0) ecdhCurve = groups.join(':');
  }

  const typeName = c.clientAuth?.clientAuthType ?? (c.clientAuth?.caFiles?.length ? 'RequireAndVerifyClientCert' : 'NoClientCert');
  let clientAuthType: ClientAuthType = 'NoClientCert';
  if ((CLIENT_AUTH_TYPES as readonly string[]).includes(typeName)) clientAuthType = typeName as ClientAuthType;
  else
    problems.push({
      path: 'clientAuth.clientAuthType',
      message: `unknown clientAuthType "${typeName}": expected one of ${CLIENT_AUTH_TYPES.join(', ')}`,
    });

  const clientCAs: string[] = [];
  (c.clientAuth?.caFiles ?? []).forEach((f, i) => {
    try {
      clientCAs.push(readPem(f, 'CA'));
    } catch (err) {
      problems.push({ path: `clientAuth.caFiles[${i}]`, message: (err as Error).message });
    }
  });
  if ((clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert') && clientCAs.length === 0)
    problems.push({
      path: 'clientAuth.caFiles',
      message: `clientAuthType ${clientAuthType} needs caFiles to verify client certificates against`,
    });

  const alpn = c.alpnProtocols !== undefined && c.alpnProtocols.length > 0 ? [...c.alpnProtocols] : DEFAULT_ALPN;
  if (problems.length > 0) return { problems };
  return {
    problems,
    options: {
      minVersion,
      maxVersion,
      ...(ciphers !== undefined ? { ciphers } : {}),
      ...(ecdhCurve !== undefined ? { ecdhCurve } : {}),
      clientAuthType,
      clientCAs,
      sniStrict: c.sniStrict === true,
      alpnProtocols: alpn,
      disableSessionTickets: c.disableSessionTickets === true,
    },
  };
}
