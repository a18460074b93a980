/**
 * Certificates as the gateway reads them: PEM from a file or inline (Traefik
 * accepts both in `certFile`/`keyFile`), checked once where the configuration
 * is compiled (the key matches, the chain parses, the dates hold), described by
 * their public parts only. Private keys never leave the material they came in.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** A certificate and its key as PEM text. */
export interface CertificateMaterial {
  readonly cert: string;
  readonly key: string;
}

/** What may be shown of a certificate (API, `gatehouse certs`, metrics). */
export interface CertificateInfo {
  /** DNS names it serves: its subjectAltName DNS entries, else its CN. Lower case. */
  readonly names: string[];
  readonly subject: string;
  readonly commonName: string;
  readonly issuer: string;
  readonly serial: string;
  /** ISO 8601 */
  readonly notBefore: string;
  readonly notAfter: string;
  /** SHA-256 of the leaf (DER), hex: identifies the certificate across processes. */
  readonly fingerprint: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_PEM_BYTES = 1024 * 1024;

/** `certFile`/`keyFile` hold the PEM itself rather than a path. */
export function isInlinePem(v: string): boolean {
  return v.includes('-----BEGIN ');
}

/** The PEM at `v` (a path) or `v` itself (inline). Errors name the path, never the content. */
export function readPem(v: string, what: 'certificate' | 'key' | 'CA'): string {
  if (isInlinePem(v)) return v;
  let size: number;
  try {
    size = statSync(v).size;
  } catch (err) {
    throw new Error(`${what} file "${v}" cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > MAX_PEM_BYTES) throw new Error(`${what} file "${v}" is larger than 1 MiB`);
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    throw new Error(`${what} file "${v}" cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Where a PEM came from, for messages: the path, or "inline PEM". */
export function describeSource(v: string): string {
  return isInlinePem(v) ? 'inline PEM' : `"${v}"`;
}

/** The certificates of a PEM chain, leaf first. */
export function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function field(dn: string, key: string): string {
  for (const line of dn.split('\n')) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return '';
}

/** DNS names of a certificate: SAN DNS entries, else its CN (lower case, in order, unique). */
export function namesOf(x: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (x.subjectAltName ?? '').split(/,\s*/)) if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
  const ips = (x.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((p) => p.startsWith('IP Address:'))
    .map((p) => p.slice('IP Address:'.length).toLowerCase());
  out.push(...ips);
  if (out.length === 0) {
    const cn = field(x.subject, 'CN');
    if (cn !== '') out.push(cn.toLowerCase());
  }
  return [...new Set(out)];
}

export function describe(x: X509Certificate): CertificateInfo {
  return {
    names: namesOf(x),
    subject: x.subject.replace(/\n/g, ', '),
    commonName: field(x.subject, 'CN'),
    issuer: x.issuer.replace(/\n/g, ', '),
    serial: x.serialNumber.toLowerCase(),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprint: createHash('sha256').update(x.raw).digest('hex'),
  };
}

/**
 * Reads and checks one certificate: both PEMs readable, the chain parses, the
 * key is the certificate's, the certificate is not expired (nor not yet valid).
 * Throws an Error whose message names the problem and the file (never key bytes).
 */
export function loadCertificate(
  certFile: string,
  keyFile: string,
  now = Date.now(),
): { material: CertificateMaterial; info: CertificateInfo } {
  const cert = readPem(certFile, 'certificate');
  const key = readPem(keyFile, 'key');
  let chain: X509Certificate[];
  try {
    chain = parseChain(cert);
  } catch (err) {
    throw new Error(`certificate ${describeSource(certFile)} does not parse: ${(err as Error).message}`);
  }
  const leaf = chain[0];
  if (leaf === undefined) throw new Error(`certificate ${describeSource(certFile)} holds no PEM CERTIFICATE block`);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`key ${describeSource(keyFile)} is not a PEM private key (or it is encrypted)`);
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new Error(
      `key ${describeSource(keyFile)} does not match certificate ${describeSource(certFile)} (${field(leaf.subject, 'CN') || leaf.subject})`,
    );
  const info = describe(leaf);
  if (Date.parse(info.notAfter) <= now) throw new Error(`certificate ${describeSource(certFile)} expired on ${info.notAfter}`);
  if (Date.parse(info.notBefore) > now + 5 * 60_000)
    throw new Error(`certificate ${describeSource(certFile)} is not valid before ${info.notBefore}`);
  return { material: { cert, key }, info };
}

/** Does certificate name `pattern` (possibly `*.example.com`) cover host `name`? One label per wildcard, as RFC 6125. */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}
