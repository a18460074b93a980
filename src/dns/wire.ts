/**
 * DNS wire helpers for the RFC 2136 provider (./rfc2136.ts) and TSIG (./tsig.ts):
 * names in canonical wire form, a walker that finds where each record starts
 * (dns-packet decodes records but does not say where they are), RCODE names, and
 * one DNS-over-TCP exchange (RFC 1035 4.2.2 / RFC 7766: two-byte length prefix)
 * with a connect/idle timeout, an overall deadline and size limits.
 */
import { connect, type Socket } from 'node:net';
import { DnsError } from './types.js';

export const TYPE_SOA = 6;
export const TYPE_TSIG = 250;
export const TYPE_AXFR = 252;
export const CLASS_IN = 1;
export const CLASS_NONE = 254;
export const CLASS_ANY = 255;
export const OPCODE_QUERY = 0;
export const OPCODE_UPDATE = 5;
export const HEADER_BYTES = 12;

/** RCODE names (RFC 1035, RFC 2136 section 2.2, RFC 6895). */
const RCODES: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE_${rcode}`;
}

/** What each RCODE means for an UPDATE or a zone transfer, for error messages. */
export const RCODE_MEANING: Readonly<Record<string, string>> = {
  FORMERR: 'the server could not parse the request',
  SERVFAIL: 'the server failed internally (see its log)',
  NXDOMAIN: 'a name that must exist does not',
  NOTIMP: 'the server does not implement this operation',
  REFUSED: 'the server refuses the operation (policy: allow-update / update-policy / allow-transfer)',
  YXDOMAIN: 'a name that must not exist exists',
  YXRRSET: 'a record set to be created already exists (prerequisite failed; nothing was changed)',
  NXRRSET: 'a record set that must exist does not (prerequisite failed; nothing was changed)',
  NOTAUTH: 'the server is not authoritative for the zone, or refused the TSIG signature',
  NOTZONE: 'a name is outside the zone',
};

/** The header fields the provider checks. */
export interface Header {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly tc: boolean;
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

export function readHeader(msg: Buffer): Header {
  if (msg.length < HEADER_BYTES) throw new DnsError(`the answer is shorter than a DNS header (${msg.length} bytes)`, 'BAD_RESPONSE');
  const flags = msg.readUInt16BE(2);
  return {
    id: msg.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    tc: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    qdcount: msg.readUInt16BE(4),
    ancount: msg.readUInt16BE(6),
    nscount: msg.readUInt16BE(8),
    arcount: msg.readUInt16BE(10),
  };
}

/** Lower case, no trailing dot. */
export function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * A domain name in canonical wire form (RFC 4034 6.2: lower case, uncompressed).
 * Labels are printable ASCII without `.` or `\` (no zone-file escapes), 1-63 bytes;
 * the whole name at most 255 bytes. The root is `''` or `.`.
 */
export function encodeName(name: string): Buffer {
  const n = normalizeName(name);
  if (n === '') return Buffer.from([0]);
  const labels = n.split('.');
  const parts: Buffer[] = [];
  let size = 1;
  for (const label of labels) {
    if (label.length === 0) throw new DnsError(`DNS name "${name}" has an empty label`, 'BAD_NAME');
    if (!/^[\x21-\x7e]+$/.test(label) || label.includes('\\'))
      throw new DnsError(`DNS name "${name}" has a label with characters other than printable ASCII (use the IDNA form)`, 'BAD_NAME');
    if (label.length > 63) throw new DnsError(`DNS name "${name}" has a label longer than 63 bytes`, 'BAD_NAME');
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'ascii'));
    size += 1 + label.length;
  }
  if (size > 255) throw new DnsError(`DNS name "${name}" is longer than 255 bytes`, 'BAD_NAME');
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts, size);
}

/** Reads a (possibly compressed) name at `offset`: the name (lower case, no trailing dot) and the offset after it. */
export function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let size = 1;
  for (;;) {
    if (pos >= msg.length) throw new DnsError('a name runs past the end of the message', 'BAD_RESPONSE');
    const len = msg[pos] as number;
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsError('a name pointer runs past the end of the message', 'BAD_RESPONSE');
      if (next < 0) next = pos + 2;
      if (++jumps > 64) throw new DnsError('a name has a compression loop', 'BAD_RESPONSE');
      pos = msg.readUInt16BE(pos) & 0x3fff;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsError('a name has an unknown label type', 'BAD_RESPONSE');
    if (pos + 1 + len > msg.length) throw new DnsError('a label runs past the end of the message', 'BAD_RESPONSE');
    size += len + 1;
    if (size > 255) throw new DnsError('a name is longer than 255 bytes', 'BAD_RESPONSE');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? pos : next };
}

/** Where a record starts and what it is (for finding the TSIG record, always the last one). */
export interface RecordPosition {
  readonly start: number;
  readonly name: string;
  readonly type: number;
  readonly rdataStart: number;
  readonly end: number;
}

/** The position of every question-less record of the message (answer, authority, additional), in order. */
export function recordPositions(msg: Buffer): RecordPosition[] {
  const h = readHeader(msg);
  let pos = HEADER_BYTES;
  for (let i = 0; i < h.qdcount; i++) {
    pos = readName(msg, pos).next + 4;
    if (pos > msg.length) throw new DnsError('a question runs past the end of the message', 'BAD_RESPONSE');
  }
  const out: RecordPosition[] = [];
  const total = h.ancount + h.nscount + h.arcount;
  for (let i = 0; i < total; i++) {
    const start = pos;
    const n = readName(msg, pos);
    pos = n.next;
    if (pos + 10 > msg.length) throw new DnsError('a record header runs past the end of the message', 'BAD_RESPONSE');
    const type = msg.readUInt16BE(pos);
    const rdlength = msg.readUInt16BE(pos + 8);
    const rdataStart = pos + 10;
    pos = rdataStart + rdlength;
    if (pos > msg.length) throw new DnsError('record data runs past the end of the message', 'BAD_RESPONSE');
    out.push({ start, name: n.name, type, rdataStart, end: pos });
  }
  if (pos !== msg.length) throw new DnsError(`the message has ${msg.length - pos} bytes after its last record`, 'BAD_RESPONSE');
  return out;
}

export interface TcpExchangeOptions {
  readonly host: string;
  readonly port: number;
  /** The request, without the length prefix (at most 65535 bytes). */
  readonly request: Buffer;
  /** Connect timeout and the longest wait for the next bytes. */
  readonly idleTimeoutMs: number;
  /** The whole exchange, connect to last message. */
  readonly deadlineMs: number;
  /** Largest sum of answer message sizes; default 64 MiB. */
  readonly maxBytes?: number;
  /** Called with each answer message; returns true when it was the last one. May throw to end the exchange. */
  readonly onMessage: (msg: Buffer) => boolean;
}

/**
 * Sends one length-prefixed request over a new TCP connection and hands each
 * answer message to `onMessage` until it says done. Rejects with a DnsError:
 * TIMEOUT (connect, idle or deadline), UNREACHABLE (connection refused, reset,
 * no route), CLOSED (the server closed before the last message), TOO_LARGE.
 */
export function tcpExchange(o: TcpExchangeOptions): Promise<void> {
  if (o.request.length > 0xffff) {
    return Promise.reject(new DnsError(`the request is ${o.request.length} bytes; DNS over TCP carries at most 65535`, 'TOO_LARGE'));
  }
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let received = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let sock: Socket | null = null;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      sock?.destroy();
      if (err === undefined) resolve();
      else reject(err instanceof DnsError ? err : new DnsError(String((err as Error)?.message ?? err), 'BAD_RESPONSE'));
    };
    const deadline = setTimeout(
      () => finish(new DnsError(`no complete answer within ${o.deadlineMs} ms (${received} bytes received)`, 'TIMEOUT')),
      o.deadlineMs,
    );
    const s = connect({ host: o.host, port: o.port });
    sock = s;
    s.setNoDelay(true);
    s.setTimeout(o.idleTimeoutMs, () => {
      const what = received === 0 && s.connecting ? 'could not connect' : 'no data';
      finish(new DnsError(`${what} within ${o.idleTimeoutMs} ms`, 'TIMEOUT'));
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      finish(new DnsError(`cannot reach the server (${err.code ?? err.message})`, 'UNREACHABLE'));
    });
    s.on('close', () => {
      finish(new DnsError(`the server closed the connection before the answer was complete (${received} bytes received)`, 'CLOSED'));
    });
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(o.request.length);
      s.write(Buffer.concat([len, o.request]));
    });
    s.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes + 2 * 1024) {
        finish(new DnsError(`the answer is larger than ${maxBytes} bytes`, 'TOO_LARGE'));
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (!settled && pendingBytes >= 2) {
        const buf = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) {
          pending = [buf];
          break;
        }
        const msg = buf.subarray(2, 2 + len);
        const rest = buf.subarray(2 + len);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
        let done: boolean;
        try {
          done = o.onMessage(msg);
        } catch (err) {
          finish(err);
          return;
        }
        if (done) {
          finish();
          return;
        }
      }
    });
  });
}
