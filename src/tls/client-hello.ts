/**
 * Reads a TLS ClientHello far enough to route it (RFC 8446 §4.1.2, RFC 6066
 * §3, RFC 7301): the server name and the ALPN protocols offered. The gateway
 * picks the TLS options and certificate from these before the handshake
 * starts (Traefik peeks the same way). Bounded: a ClientHello larger than
 * MAX_CLIENT_HELLO bytes, or malformed, is refused.
 */

/** Largest ClientHello accepted (records included); post-quantum key shares make them ~1.5 KiB, Go allows 64 KiB. */
export const MAX_CLIENT_HELLO = 64 * 1024;

export interface ClientHello {
  /** The SNI host name (lower case), or undefined when none was sent. */
  readonly serverName: string | undefined;
  /** ALPN protocols offered, in the client's order (empty when none). */
  readonly alpn: string[];
}

/** `need`: more bytes are needed; `error`: not a valid ClientHello (the message says why). */
export type ClientHelloResult = { kind: 'need' } | { kind: 'error'; message: string } | { kind: 'done'; hello: ClientHello };

/** Does `first` start a TLS handshake record? */
export function looksLikeTls(first: Buffer): boolean {
  return first.length > 0 && first[0] === 0x16;
}

/**
 * Parses the ClientHello at the start of `buf` (the bytes read so far). The
 * handshake message may span several records; their payloads are joined.
 */
export function parseClientHello(buf: Buffer): ClientHelloResult {
  const payload: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1; // handshake message length (with its 4-byte header) once known
  while (true) {
    if (buf.length < off + 5) return { kind: 'need' };
    if (buf[off] !== 0x16) return { kind: 'error', message: 'not a TLS handshake record' };
    if (buf[off + 1] !== 0x03) return { kind: 'error', message: 'unsupported record version' };
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return { kind: 'error', message: 'invalid record length' };
    if (buf.length < off + 5 + len) {
      if (off + 5 + len > MAX_CLIENT_HELLO) return { kind: 'error', message: 'ClientHello too large' };
      return { kind: 'need' };
    }
    const frag = buf.subarray(off + 5, off + 5 + len);
    payload.push(frag);
    have += frag.length;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const hs = payload.length === 1 ? (payload[0] as Buffer) : Buffer.concat(payload);
      if (hs[0] !== 0x01) return { kind: 'error', message: 'first handshake message is not a ClientHello' };
      need = 4 + hs.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO) return { kind: 'error', message: 'ClientHello too large' };
    }
    if (need >= 0 && have >= need) break;
    if (off > MAX_CLIENT_HELLO) return { kind: 'error', message: 'ClientHello too large' };
  }
  const msg = (payload.length === 1 ? (payload[0] as Buffer) : Buffer.concat(payload)).subarray(4, need);
  try {
    return { kind: 'done', hello: readHello(msg) };
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
}

function readHello(b: Buffer): ClientHello {
  let p = 0;
  const take = (n: number): Buffer => {
    if (p + n > b.length) throw new Error('truncated ClientHello');
    const out = b.subarray(p, p + n);
    p += n;
    return out;
  };
  const u8 = (): number => take(1)[0] as number;
  const u16 = (): number => take(2).readUInt16BE(0);
  take(2); // legacy_version
  take(32); // random
  take(u8()); // legacy_session_id
  const suites = u16();
  if (suites === 0 || suites % 2 !== 0) throw new Error('invalid cipher suites');
  take(suites);
  take(u8()); // compression methods
  let serverName: string | undefined;
  const alpn: string[] = [];
  if (p === b.length) return { serverName, alpn };
  const extEnd = p + 2 + u16();
  if (extEnd > b.length) throw new Error('truncated extensions');
  const seen = new Set<number>();
  while (p < extEnd) {
    const type = u16();
    const data = take(u16());
    if (seen.has(type)) throw new Error(`duplicate extension ${type}`);
    seen.add(type);
    if (type === 0) serverName = readServerName(data);
    else if (type === 16) alpn.push(...readAlpn(data));
  }
  return { serverName, alpn };
}

function readServerName(d: Buffer): string | undefined {
  if (d.length === 0) return undefined; // the server's empty acknowledgement form; not sent by clients
  if (d.length < 2 || d.readUInt16BE(0) !== d.length - 2) throw new Error('invalid server_name extension');
  let p = 2;
  while (p + 3 <= d.length) {
    const type = d[p] as number;
    const len = d.readUInt16BE(p + 1);
    p += 3;
    if (p + len > d.length) throw new Error('invalid server_name extension');
    if (type === 0) {
      const name = d.subarray(p, p + len).toString('latin1');
      if (len === 0 || len > 255 || !/^[A-Za-z0-9._-]+$/.test(name)) throw new Error('invalid SNI host name');
      return name.toLowerCase().replace(/\.$/, '');
    }
    p += len;
  }
  return undefined;
}

function readAlpn(d: Buffer): string[] {
  if (d.length < 2 || d.readUInt16BE(0) !== d.length - 2) throw new Error('invalid ALPN extension');
  const out: string[] = [];
  let p = 2;
  while (p < d.length) {
    const len = d[p] as number;
    if (len === 0 || p + 1 + len > d.length) throw new Error('invalid ALPN extension');
    out.push(d.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return out;
}
