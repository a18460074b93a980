/**
 * TSIG (RFC 8945): signing DNS requests with a shared secret and verifying the
 * server's signed answers, including multi-message answers (AXFR over TCP,
 * section 5.3.1). HMAC-SHA256 and HMAC-SHA512 only. MACs are compared in
 * constant time; the secret appears in no message.
 *
 * What is MACed (section 4.3.3):
 * - a request:        DNS message without the TSIG record | TSIG variables
 * - the first answer: request MAC (2-byte length + MAC) | answer without TSIG | TSIG variables
 * - a later answer:   prior MAC (2-byte length + MAC) | unsigned answers since | answer without TSIG | TSIG timers
 * where "without TSIG" also means ARCOUNT less one and the ID set back to the Original ID,
 * the TSIG variables are: key name (canonical wire form), class ANY, TTL 0,
 * algorithm name (canonical), time signed (48 bits), fudge, error, other length, other data;
 * and the TSIG timers are time signed and fudge.
 */
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { DnsError } from './types.js';
import { CLASS_ANY, encodeName, normalizeName, readHeader, readName, recordPositions, TYPE_TSIG } from './wire.js';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha512'];

const DIGEST: Readonly<Record<TsigAlgorithm, { hash: string; bytes: number }>> = {
  'hmac-sha256': { hash: 'sha256', bytes: 32 },
  'hmac-sha512': { hash: 'sha512', bytes: 64 },
};

/** TSIG error codes (RFC 8945 section 3, IANA). */
export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
};

const TSIG_ERROR_MEANING: Readonly<Record<string, string>> = {
  BADSIG: 'the server does not accept the signature (wrong secret or algorithm for this key name)',
  BADKEY: 'the server does not know this key name and algorithm',
  BADTIME: 'the clocks differ by more than the fudge (check NTP on both hosts)',
  BADTRUNC: 'the server refuses a truncated MAC',
};

/** A TSIG error the server put in its answer (RFC 8945 5.2: BADSIG and BADKEY answers are unsigned). */
export class TsigServerError extends DnsError {}

/** Default allowed clock difference, seconds (RFC 8945 recommends 300). */
export const DEFAULT_FUDGE = 300;

export interface TsigKey {
  /** The key name as configured on the server (`tsig-keygen <name>`), no trailing dot needed. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  /** The decoded secret. */
  readonly secret: Buffer;
}

/** `hmac-sha256` / `hmac-sha512` (case-insensitive, trailing dot allowed); anything else is refused. */
export function parseTsigAlgorithm(value: string): TsigAlgorithm {
  const v = normalizeName(value);
  if ((TSIG_ALGORITHMS as readonly string[]).includes(v)) return v as TsigAlgorithm;
  throw new DnsError(`TSIG algorithm "${value}" is not supported (use ${TSIG_ALGORITHMS.join(' or ')})`, 'CONFIG');
}

/** Checks a key once, when a provider is built: name is a DNS name, algorithm supported, secret not empty. */
export function checkTsigKey(key: TsigKey): TsigKey {
  const algorithm = parseTsigAlgorithm(key.algorithm);
  if (!Buffer.isBuffer(key.secret) || key.secret.length === 0) throw new DnsError(`TSIG key "${key.name}": the secret is empty`, 'CONFIG');
  encodeName(key.name); // throws BAD_NAME on a malformed key name
  if (normalizeName(key.name) === '') throw new DnsError('TSIG key name is empty', 'CONFIG');
  return { name: normalizeName(key.name), algorithm, secret: key.secret };
}

/** A parsed TSIG record. */
export interface TsigRecord {
  readonly keyName: string;
  readonly algorithm: string;
  /** Seconds since the epoch. */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly otherData: Buffer;
}

/** A message split at its TSIG record: the message as it was before signing, and the record. */
export interface SplitMessage {
  /** The message without the TSIG record, ARCOUNT less one, ID set to the Original ID. */
  readonly unsigned: Buffer;
  readonly tsig: TsigRecord;
}

/**
 * Finds the TSIG record (it must be the last additional record, RFC 8945 5.1) and
 * returns the message without it; null when the message has none. A TSIG record
 * anywhere else, or a malformed one, is an error.
 */
export function splitTsig(msg: Buffer): SplitMessage | null {
  const h = readHeader(msg);
  const records = recordPositions(msg);
  const firstAdditional = h.ancount + h.nscount;
  const idx = records.findIndex((r) => r.type === TYPE_TSIG);
  if (idx < 0) return null;
  const rec = records[idx] as (typeof records)[number];
  if (idx !== records.length - 1 || idx < firstAdditional)
    throw new DnsError('the answer has a TSIG record that is not the last additional record', 'FORMERR');
  if (msg.readUInt16BE(rec.rdataStart - 8) !== CLASS_ANY || msg.readUInt32BE(rec.rdataStart - 6) !== 0)
    throw new DnsError('the answer has a TSIG record with a class other than ANY or a TTL other than 0', 'FORMERR');
  const tsig = parseTsigRdata(msg, rec.name, rec.rdataStart, rec.end);
  const unsigned = Buffer.from(msg.subarray(0, rec.start));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(h.arcount - 1, 10);
  return { unsigned, tsig };
}

function parseTsigRdata(msg: Buffer, keyName: string, start: number, end: number): TsigRecord {
  const bad = (): DnsError => new DnsError('the answer has a malformed TSIG record', 'FORMERR');
  const alg = readName(msg, start);
  let p = alg.next;
  if (p + 10 > end) throw bad();
  const timeSigned = msg.readUIntBE(p, 6);
  const fudge = msg.readUInt16BE(p + 6);
  const macSize = msg.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > end) throw bad();
  const mac = Buffer.from(msg.subarray(p, p + macSize));
  p += macSize;
  const originalId = msg.readUInt16BE(p);
  const error = msg.readUInt16BE(p + 2);
  const otherLen = msg.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== end) throw bad();
  const otherData = Buffer.from(msg.subarray(p, end));
  return { keyName, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, otherData };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function timers(timeSigned: number, fudge: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUIntBE(timeSigned, 0, 6);
  b.writeUInt16BE(fudge, 6);
  return b;
}

/** The TSIG variables (RFC 8945 4.3.3) in the order they are MACed. */
export function tsigVariables(key: TsigKey, timeSigned: number, fudge: number, error: number, otherData: Buffer): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    encodeName(key.algorithm),
    timers(timeSigned, fudge),
    u16(error),
    u16(otherData.length),
    otherData,
  ]);
}

function hmac(key: TsigKey): Hmac {
  return createHmac(DIGEST[key.algorithm].hash, key.secret);
}

/** The MAC prefix of an answer: the request's (or prior) MAC with its length. */
function macPrefix(mac: Buffer): Buffer {
  return Buffer.concat([u16(mac.length), mac]);
}

export interface SignOptions {
  /** Seconds since the epoch; default now. */
  readonly now?: number;
  readonly fudge?: number;
  /** Sign as an answer to a request with this MAC (what a server does; used by tests). */
  readonly requestMac?: Buffer;
  /** The TSIG error field (a server's answer); default 0. */
  readonly error?: number;
}

/** Appends a TSIG record to `msg` (ARCOUNT + 1) and returns the signed message and its MAC. */
export function signMessage(msg: Buffer, key: TsigKey, opts: SignOptions = {}): { message: Buffer; mac: Buffer } {
  const h = readHeader(msg);
  const timeSigned = opts.now ?? Math.floor(Date.now() / 1000);
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  const error = opts.error ?? 0;
  const otherData = Buffer.alloc(0);
  const m = hmac(key);
  if (opts.requestMac !== undefined) m.update(macPrefix(opts.requestMac));
  m.update(msg);
  m.update(tsigVariables(key, timeSigned, fudge, error, otherData));
  const mac = m.digest();
  const rdata = Buffer.concat([encodeName(key.algorithm), timers(timeSigned, fudge), macPrefix(mac), u16(h.id), u16(error), u16(0)]);
  const rr = Buffer.concat([encodeName(key.name), u16(TYPE_TSIG), u16(CLASS_ANY), Buffer.alloc(4), u16(rdata.length), rdata]);
  const out = Buffer.concat([msg, rr]);
  out.writeUInt16BE(h.arcount + 1, 10);
  return { message: out, mac };
}

/** Constant-time MAC comparison (lengths are compared first; they are not secret). */
export function macEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface VerifierOptions {
  /** Now in seconds since the epoch; default the clock. */
  readonly now?: () => number;
  /** Most consecutive unsigned messages in a multi-message answer; RFC 8945 5.3.1 says 99. */
  readonly maxUnsigned?: number;
}

/**
 * Verifies the answers to one signed request, in order. `verify` returns whether
 * the message was signed; the caller decides what an unsigned first message means
 * (an error either way). Throws a DnsError with reason BADSIG, BADKEY, BADTIME or
 * BADTRUNC, and for a TSIG error the server put in its answer, that error's name.
 */
export class TsigVerifier {
  private readonly key: TsigKey;
  private readonly now: () => number;
  private readonly maxUnsigned: number;
  private priorMac: Buffer;
  private first = true;
  private pending: Hmac | null = null;
  private unsignedRun = 0;
  private lastSigned = false;

  constructor(key: TsigKey, requestMac: Buffer, opts: VerifierOptions = {}) {
    this.key = key;
    this.priorMac = requestMac;
    this.now = opts.now ?? ((): number => Math.floor(Date.now() / 1000));
    this.maxUnsigned = opts.maxUnsigned ?? 99;
  }

  /** The TSIG error the server put in `msg`, if any (checked before the MAC: BADSIG and BADKEY answers are unsigned). */
  static serverError(msg: Buffer): string | null {
    const split = splitTsig(msg);
    if (split === null || split.tsig.error === 0) return null;
    return TSIG_ERRORS[split.tsig.error] ?? `TSIG_ERROR_${split.tsig.error}`;
  }

  verify(msg: Buffer): boolean {
    const split = splitTsig(msg);
    if (split === null) {
      if (this.first) {
        this.first = false;
        this.lastSigned = false;
        return false;
      }
      if (++this.unsignedRun > this.maxUnsigned)
        throw new DnsError(`more than ${this.maxUnsigned} consecutive answer messages are unsigned (RFC 8945 5.3.1)`, 'BADSIG');
      if (this.pending === null) {
        this.pending = hmac(this.key);
        this.pending.update(macPrefix(this.priorMac));
      }
      this.pending.update(msg);
      this.lastSigned = false;
      return false;
    }
    const t = split.tsig;
    if (t.error !== 0) {
      const name = TSIG_ERRORS[t.error] ?? `TSIG_ERROR_${t.error}`;
      const meaning = TSIG_ERROR_MEANING[name];
      const extra =
        name === 'BADTIME' && t.otherData.length === 6
          ? `; the server's clock says ${t.otherData.readUIntBE(0, 6)}, ours ${this.now()}`
          : '';
      throw new TsigServerError(`TSIG error ${name}${meaning === undefined ? '' : `: ${meaning}`}${extra}`, name);
    }
    if (normalizeName(t.keyName) !== this.key.name)
      throw new DnsError(`the answer is signed with key "${t.keyName}", not "${this.key.name}"`, 'BADKEY');
    if (normalizeName(t.algorithm) !== this.key.algorithm)
      throw new DnsError(`the answer is signed with algorithm ${t.algorithm}, not ${this.key.algorithm}`, 'BADKEY');
    const full = DIGEST[this.key.algorithm].bytes;
    if (t.mac.length !== full)
      throw new DnsError(
        `the answer's MAC is ${t.mac.length} bytes; only full-length ${this.key.algorithm} MACs (${full} bytes) are accepted`,
        'BADTRUNC',
      );
    let m: Hmac;
    if (this.first) {
      m = hmac(this.key);
      m.update(macPrefix(this.priorMac));
      m.update(split.unsigned);
      m.update(tsigVariables(this.key, t.timeSigned, t.fudge, t.error, t.otherData));
    } else {
      m = this.pending ?? hmac(this.key).update(macPrefix(this.priorMac));
      m.update(split.unsigned);
      m.update(timers(t.timeSigned, t.fudge));
    }
    const expected = m.digest();
    if (!macEqual(expected, t.mac)) throw new DnsError(`the answer's TSIG MAC does not verify with key "${this.key.name}"`, 'BADSIG');
    const skew = Math.abs(this.now() - t.timeSigned);
    if (skew > t.fudge)
      throw new DnsError(`the answer was signed ${skew} s away from our clock, more than the fudge of ${t.fudge} s`, 'BADTIME');
    this.first = false;
    this.pending = null;
    this.unsignedRun = 0;
    this.priorMac = t.mac;
    this.lastSigned = true;
    return true;
  }

  /** At the end of a multi-message answer: the last message must be signed. */
  end(): void {
    if (!this.lastSigned) throw new DnsError('the last answer message is not signed (RFC 8945 5.3.1)', 'BADSIG');
  }
}
