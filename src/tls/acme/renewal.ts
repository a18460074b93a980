/**
 * When to renew and when to try again: pure functions, tested alone.
 *
 * - Renewal at one third of the lifetime left (one half for lifetimes under
 *   10 days), the lifetime being the certificate's own, or
 *   `certificatesDuration` when that is shorter (Let's Encrypt's advice).
 * - ACME Renewal Information (RFC 9773): the CA's suggested window wins; the
 *   time is chosen at random inside it, once per window.
 * - Back-off after failures: cert-manager's 1 h × 2^(n−1), capped (32 h), and
 *   never before the CA's `Retry-After`.
 */
import { X509Certificate } from 'node:crypto';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface CertificateTimes {
  readonly notBefore: number;
  readonly notAfter: number;
}

/** The time (ms) at which a certificate should be renewed, by its lifetime alone. */
export function renewalTime(c: CertificateTimes, certificatesDurationHours: number): number {
  const own = c.notAfter - c.notBefore;
  const lifetime = Math.max(0, Math.min(own, certificatesDurationHours * HOUR));
  const end = c.notBefore + lifetime;
  const left = lifetime < 10 * DAY ? lifetime / 2 : lifetime / 3;
  return Math.floor(end - left);
}

/** cert-manager's back-off: `base × 2^(failures−1)`, at most `cap`. */
export function backoffDelay(failures: number, baseMs = HOUR, capMs = 32 * HOUR): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** `Retry-After` (seconds or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** A suggested renewal window (RFC 9773 section 4.2), ms. */
export interface RenewalWindow {
  readonly start: number;
  readonly end: number;
}

/** A time inside the window (uniformly at random); `now` when the window has passed. */
export function timeInWindow(w: RenewalWindow, now: number, random: () => number): number {
  if (w.end <= now) return now;
  const start = Math.max(w.start, now);
  return Math.floor(start + random() * (w.end - start));
}

/** The ARI certificate identifier (RFC 9773 section 4.1): base64url(AKI keyIdentifier) "." base64url(serial DER). */
export function ariCertId(certPem: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return undefined;
  }
  const aki = authorityKeyId(cert.raw);
  if (aki === undefined) return undefined;
  return certIdFrom(aki, cert.serialNumber);
}

/** From the AKI key identifier bytes and the serial number in hex (as X509Certificate gives it). */
export function certIdFrom(aki: Buffer, serialHex: string): string {
  let hex = serialHex.replace(/:/g, '');
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let serial = Buffer.from(hex, 'hex');
  // DER INTEGER: a positive number whose first bit is set takes a leading zero byte.
  if (serial.length === 0 || (serial[0] as number) >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${aki.toString('base64url')}.${serial.toString('base64url')}`;
}

/** One DER TLV at `pos`: its tag, where its value starts and ends. */
function tlv(buf: Buffer, pos: number): { tag: number; start: number; end: number } | undefined {
  if (pos + 2 > buf.length) return undefined;
  const tag = buf[pos] as number;
  let len = buf[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  return end <= buf.length ? { tag, start, end } : undefined;
}

/** The keyIdentifier of the authorityKeyIdentifier extension (OID 2.5.29.35), from the certificate's DER. */
function authorityKeyId(der: Buffer): Buffer | undefined {
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);
  const at = der.indexOf(oid);
  if (at === -1) return undefined;
  let pos = at + oid.length;
  let t = tlv(der, pos);
  if (t !== undefined && t.tag === 0x01) {
    pos = t.end; // critical flag
    t = tlv(der, pos);
  }
  if (t === undefined || t.tag !== 0x04) return undefined; // extnValue OCTET STRING
  const seq = tlv(der, t.start);
  if (seq === undefined || seq.tag !== 0x30) return undefined;
  const kid = tlv(der, seq.start);
  if (kid === undefined || kid.tag !== 0x80) return undefined; // [0] IMPLICIT KeyIdentifier
  return der.subarray(kid.start, kid.end);
}

/** What the last problem document of a failed order means for the next attempt. */
export interface FailureClass {
  readonly result: 'failure' | 'rate_limited';
  /** Not before this long (the CA's Retry-After), ms. */
  readonly retryAfterMs: number | undefined;
  /** The account is gone or refused: register again before the next order. */
  readonly resetAccount: boolean;
}

export function classifyFailure(problem: { status: number; type: string; retryAfter?: string } | undefined, now: number): FailureClass {
  if (problem === undefined) return { result: 'failure', retryAfterMs: undefined, resetAccount: false };
  const rateLimited = problem.status === 429 || problem.type.endsWith(':rateLimited');
  const retryAfterMs = parseRetryAfter(problem.retryAfter, now);
  return {
    result: rateLimited ? 'rate_limited' : 'failure',
    // Retry-After is honoured on any answer that sends it (503 during maintenance too).
    retryAfterMs,
    resetAccount: problem.type.endsWith(':accountDoesNotExist') || problem.type.endsWith(':unauthorized'),
  };
}
