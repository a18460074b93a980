/**
 * Traefik's passTLSClientCert header values, from node's detailed peer
 * certificates (`TLSSocket.getPeerCertificate(true)`):
 *
 * - PEM: each certificate's DER as base64 (PEM without its BEGIN/END lines and
 *   newlines), chain joined with `,` (Traefik v2.9.4+ and v3 no longer
 *   URL-escape it).
 * - Info: per certificate `Subject="…";Issuer="…";SerialNumber="…";NB="…";NA="…";SAN="…"`
 *   (fields present only when selected and not empty), certificates joined with `,`,
 *   the whole string escaped with Go's `url.QueryEscape`.
 */

/** The part of node's `DetailedPeerCertificate` read here. */
export interface PeerCert {
  readonly raw: Buffer;
  readonly subject?: Readonly<Record<string, string | string[] | undefined>> | undefined;
  readonly issuer?: Readonly<Record<string, string | string[] | undefined>> | undefined;
  readonly subjectaltname?: string | undefined;
  readonly valid_from: string;
  readonly valid_to: string;
  readonly serialNumber: string;
  readonly fingerprint256?: string | undefined;
  readonly issuerCertificate?: PeerCert | undefined;
}

/** Distinguished-name fields (Traefik's TLSClientCertificateSubjectDNInfo / IssuerDNInfo). */
export interface DnOptions {
  readonly country?: boolean | undefined;
  readonly province?: boolean | undefined;
  readonly locality?: boolean | undefined;
  readonly organization?: boolean | undefined;
  readonly organizationalUnit?: boolean | undefined;
  readonly commonName?: boolean | undefined;
  readonly serialNumber?: boolean | undefined;
  readonly domainComponent?: boolean | undefined;
}

export interface InfoOptions {
  readonly notAfter?: boolean | undefined;
  readonly notBefore?: boolean | undefined;
  readonly sans?: boolean | undefined;
  readonly serialNumber?: boolean | undefined;
  readonly subject?: DnOptions | undefined;
  readonly issuer?: DnOptions | undefined;
}

/** At most this many certificates of a chain are passed (a client may send a long one). */
export const MAX_CHAIN = 10;

/**
 * The chain the client sent, leaf first. node completes the chain with the
 * trust anchor from the server's CA list even when the client did not send it;
 * Go's `PeerCertificates` holds only what was sent, and clients do not send the
 * root: a trailing self-signed certificate after the leaf is left out.
 */
export function peerChain(leaf: PeerCert): PeerCert[] {
  const chain: PeerCert[] = [leaf];
  let cur = leaf;
  while (chain.length < MAX_CHAIN + 1) {
    const next = cur.issuerCertificate;
    if (next === undefined || next === null || next === cur || sameCert(next, cur)) break;
    chain.push(next);
    cur = next;
  }
  if (chain.length > 1) {
    const last = chain[chain.length - 1];
    if (last !== undefined && isSelfSigned(last)) chain.pop();
  }
  return chain.slice(0, MAX_CHAIN);
}

function sameCert(a: PeerCert, b: PeerCert): boolean {
  return a.raw.equals(b.raw);
}

function isSelfSigned(c: PeerCert): boolean {
  const i = c.issuerCertificate;
  return i === c || (i !== undefined && i !== null && sameCert(i, c));
}

/** `X-Forwarded-Tls-Client-Cert`: base64 DER of each certificate, joined with `,`. */
export function pemHeader(chain: readonly PeerCert[]): string {
  return chain.map((c) => c.raw.toString('base64')).join(',');
}

/** `X-Forwarded-Tls-Client-Cert-Info`, escaped with Go's url.QueryEscape. */
export function infoHeader(chain: readonly PeerCert[], info: InfoOptions): string {
  return goQueryEscape(chain.map((c) => certInfo(c, info)).join(','));
}

/** One certificate's fields, Traefik's order: Subject, Issuer, SerialNumber, NB, NA, SAN. */
export function certInfo(c: PeerCert, info: InfoOptions): string {
  const values: string[] = [];
  const subject = dnInfo(c.subject, info.subject, true);
  if (subject !== '') values.push(`Subject="${subject}"`);
  const issuer = dnInfo(c.issuer, info.issuer, false);
  if (issuer !== '') values.push(`Issuer="${issuer}"`);
  if (info.serialNumber === true) {
    const sn = decimalSerial(c.serialNumber);
    if (sn !== '') values.push(`SerialNumber="${sn}"`);
  }
  if (info.notBefore === true) values.push(`NB="${unixSeconds(c.valid_from)}"`);
  if (info.notAfter === true) values.push(`NA="${unixSeconds(c.valid_to)}"`);
  if (info.sans === true) {
    const sans = sanList(c.subjectaltname);
    if (sans.length > 0) values.push(`SAN="${sans.join(',')}"`);
  }
  return values.join(';');
}

function all(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Go's pkix.Name keeps the last CommonName / SerialNumber of a sequence. */
function last(v: string | string[] | undefined): string {
  const a = all(v);
  return a.length === 0 ? '' : (a[a.length - 1] ?? '');
}

/**
 * Traefik's getSubjectDNInfo / getIssuerDNInfo: DC (in order), C, ST, L, O, OU
 * (subject only), SN, CN, each `KEY=value`, joined with `,`.
 */
export function dnInfo(
  name: Readonly<Record<string, string | string[] | undefined>> | undefined,
  opts: DnOptions | undefined,
  subject: boolean,
): string {
  if (opts === undefined || name === undefined) return '';
  const parts: string[] = [];
  const many = (key: string, prefix: string): void => {
    for (const v of all(name[key])) if (v !== '') parts.push(`${prefix}=${v}`);
  };
  if (opts.domainComponent === true) many('DC', 'DC');
  if (opts.country === true) many('C', 'C');
  if (opts.province === true) many('ST', 'ST');
  if (opts.locality === true) many('L', 'L');
  if (opts.organization === true) many('O', 'O');
  if (subject && opts.organizationalUnit === true) many('OU', 'OU');
  if (opts.serialNumber === true) {
    const sn = last(name.serialNumber);
    if (sn !== '') parts.push(`SN=${sn}`);
  }
  if (opts.commonName === true) {
    const cn = last(name.CN);
    if (cn !== '') parts.push(`CN=${cn}`);
  }
  return parts.join(',');
}

/** node's hex serial → Go's big.Int decimal. */
export function decimalSerial(hex: string): string {
  if (!/^[0-9A-Fa-f]+$/.test(hex)) return '';
  return BigInt(`0x${hex}`).toString(10);
}

/** node's `valid_from` / `valid_to` ("Jan  1 00:00:00 2026 GMT") → seconds since the epoch. */
export function unixSeconds(date: string): string {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? '0' : String(Math.floor(ms / 1000));
}

/**
 * Go's getSANs order: DNS names, e-mail addresses, IP addresses, URIs (each in
 * certificate order), from node's `subjectaltname` ("DNS:a, IP Address:1.2.3.4";
 * values with special characters are JSON strings).
 */
export function sanList(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const by: Record<'dns' | 'email' | 'ip' | 'uri', string[]> = { dns: [], email: [], ip: [], uri: [] };
  for (const { type, value } of parseAltNames(text)) {
    if (type === 'DNS') by.dns.push(value);
    else if (type === 'email') by.email.push(value);
    else if (type === 'IP Address') by.ip.push(goIp(value));
    else if (type === 'URI') by.uri.push(value);
  }
  return [...by.dns, ...by.email, ...by.ip, ...by.uri];
}

function parseAltNames(text: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (text[j] === '"') {
      let k = j + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(j, k + 1)) as string;
      } catch {
        value = text.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const end = text.indexOf(', ', j);
      value = end < 0 ? text.slice(j) : text.slice(j, end);
      j = end < 0 ? text.length : end;
    }
    out.push({ type, value });
    if (text.startsWith(', ', j)) j += 2;
    i = j;
  }
  return out;
}

/** Go's net.IP.String(): IPv4 (also IPv4-mapped) dotted, IPv6 compressed lower case. */
export function goIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  let host: string;
  try {
    host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped !== null) {
    const hi = parseInt(mapped[1] ?? '0', 16);
    const lo = parseInt(mapped[2] ?? '0', 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

const HEX = '0123456789ABCDEF';

/** Go's url.QueryEscape: unreserved bytes kept, space → `+`, every other byte `%XX`. */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f ||
      b === 0x7e
    )
      out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += `%${HEX[b >> 4] ?? '0'}${HEX[b & 15] ?? '0'}`;
  }
  return out;
}
