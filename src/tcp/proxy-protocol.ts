/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2): the header a proxy
 * sends first on a connection to tell the next hop the client's address.
 * Encoded towards TCP backends (`loadBalancer.proxyProtocol.version`) and
 * decoded on entry points from trusted peers (`proxyProtocol.trustedIPs`).
 * Strict and bounded: a v1 line is at most 107 bytes, a v2 header at most
 * 16 + MAX_V2_PAYLOAD bytes.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
/** Largest v2 payload accepted (addresses and TLVs); the spec allows 65535, real senders use a few hundred bytes. */
export const MAX_V2_PAYLOAD = 4096;

export interface ProxyAddress {
  readonly ip: string;
  readonly port: number;
}

export type ProxyHeaderResult =
  /** The bytes so far may still become a header. */
  | { kind: 'need' }
  /** The connection does not start with a PROXY header. */
  | { kind: 'none' }
  | { kind: 'error'; message: string }
  /** `length` bytes are the header; `source` is absent for v1 UNKNOWN, v2 LOCAL and v2 unspecified families. */
  | { kind: 'done'; version: 1 | 2; length: number; source?: ProxyAddress; destination?: ProxyAddress };

function startsWithPart(buf: Buffer, sig: Buffer): 'yes' | 'partial' | 'no' {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return 'no';
  return buf.length >= sig.length ? 'yes' : 'partial';
}

/** The v1 line or v2 header at the start of `buf`. */
export function decodeProxyHeader(buf: Buffer): ProxyHeaderResult {
  const v2 = startsWithPart(buf, V2_SIGNATURE);
  if (v2 === 'partial') return { kind: 'need' };
  if (v2 === 'yes') return decodeV2(buf);
  const v1 = startsWithPart(buf, V1_PREFIX);
  if (v1 === 'partial') return { kind: 'need' };
  if (v1 === 'yes') return decodeV1(buf);
  return { kind: 'none' };
}

function port(s: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

function decodeV1(buf: Buffer): ProxyHeaderResult {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= V1_MAX ? { kind: 'error', message: 'PROXY v1 line longer than 107 bytes' } : { kind: 'need' };
  if (end + 2 > V1_MAX) return { kind: 'error', message: 'PROXY v1 line longer than 107 bytes' };
  const line = buf.toString('latin1', 0, end);
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'done', version: 1, length: end + 2 };
  if (parts.length !== 6) return { kind: 'error', message: 'PROXY v1 line: expected "PROXY TCP4|TCP6 src dst sport dport"' };
  const [, fam, src, dst, sp, dp] = parts as [string, string, string, string, string, string];
  const ok = fam === 'TCP4' ? isIPv4(src) && isIPv4(dst) : fam === 'TCP6' ? isIPv6(src) && isIPv6(dst) : false;
  if (!ok)
    return {
      kind: 'error',
      message: `PROXY v1 line: bad family or addresses (${fam === 'TCP4' || fam === 'TCP6' ? 'addresses' : `family "${fam}"`})`,
    };
  const s = port(sp);
  const d = port(dp);
  if (s === null || d === null) return { kind: 'error', message: 'PROXY v1 line: bad port' };
  return { kind: 'done', version: 1, length: end + 2, source: { ip: src, port: s }, destination: { ip: dst, port: d } };
}

function v6(b: Buffer, off: number): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(off + 2 * i).toString(16));
  // Canonical enough for matching: node's net.isIP accepts it; compress via URL-free round trip.
  return compressV6(words);
}

function compressV6(words: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

function decodeV2(buf: Buffer): ProxyHeaderResult {
  if (buf.length < 16) return { kind: 'need' };
  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) return { kind: 'error', message: `PROXY v2 header: version ${verCmd >> 4}, expected 2` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'error', message: `PROXY v2 header: unknown command ${cmd}` };
  const fam = buf[13] as number;
  const len = buf.readUInt16BE(14);
  if (len > MAX_V2_PAYLOAD)
    return { kind: 'error', message: `PROXY v2 header: ${len} bytes of addresses and TLVs, at most ${MAX_V2_PAYLOAD} accepted` };
  if (buf.length < 16 + len) return { kind: 'need' };
  const length = 16 + len;
  if (cmd === 0) return { kind: 'done', version: 2, length }; // LOCAL: the proxy's own connection (health checks)
  const af = fam >> 4;
  const proto = fam & 0x0f;
  if (af === 0 || proto !== 1) return { kind: 'done', version: 2, length }; // UNSPEC, or not a stream: addresses ignored
  if (af === 1) {
    if (len < 12) return { kind: 'error', message: 'PROXY v2 header: short IPv4 address block' };
    const ip = (o: number): string => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
    return {
      kind: 'done',
      version: 2,
      length,
      source: { ip: ip(16), port: buf.readUInt16BE(24) },
      destination: { ip: ip(20), port: buf.readUInt16BE(26) },
    };
  }
  if (af === 2) {
    if (len < 36) return { kind: 'error', message: 'PROXY v2 header: short IPv6 address block' };
    return {
      kind: 'done',
      version: 2,
      length,
      source: { ip: v6(buf, 16), port: buf.readUInt16BE(48) },
      destination: { ip: v6(buf, 32), port: buf.readUInt16BE(50) },
    };
  }
  return { kind: 'done', version: 2, length }; // AF_UNIX: no IP to use
}

/** `::ffff:1.2.3.4` → `1.2.3.4`. */
function plain(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function v6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let s = ip;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two words.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail !== null) {
    const b = (tail[1] as string).split('.').map(Number);
    s = `${s.slice(0, tail.index)}${(((b[0] as number) << 8) | (b[1] as number)).toString(16)}:${(((b[2] as number) << 8) | (b[3] as number)).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const words = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16) & 0xffff, 2 * i));
  return out;
}

/**
 * The header that tells a backend who the client is: `source` the client,
 * `destination` the address it connected to. Mixed families (an IPv4 client
 * on an IPv6 listener) are sent as IPv6, as Go's proxyproto does.
 */
export function encodeProxyHeader(version: 1 | 2, source: ProxyAddress | null, destination: ProxyAddress | null): Buffer {
  const src = source === null ? null : { ip: plain(source.ip), port: source.port };
  const dst = destination === null ? null : { ip: plain(destination.ip), port: destination.port };
  const known = src !== null && dst !== null && (isIPv4(src.ip) || isIPv6(src.ip)) && (isIPv4(dst.ip) || isIPv6(dst.ip));
  const four = known && isIPv4(src!.ip) && isIPv4(dst!.ip);
  if (version === 1) {
    if (!known) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    const s = four ? src!.ip : isIPv4(src!.ip) ? `::ffff:${src!.ip}` : src!.ip;
    const d = four ? dst!.ip : isIPv4(dst!.ip) ? `::ffff:${dst!.ip}` : dst!.ip;
    return Buffer.from(`PROXY ${four ? 'TCP4' : 'TCP6'} ${s} ${d} ${src!.port} ${dst!.port}\r\n`, 'latin1');
  }
  if (!known) {
    const out = Buffer.alloc(16);
    V2_SIGNATURE.copy(out);
    out[12] = 0x21; // v2, PROXY
    out[13] = 0x00; // UNSPEC
    return out;
  }
  const len = four ? 12 : 36;
  const out = Buffer.alloc(16 + len);
  V2_SIGNATURE.copy(out);
  out[12] = 0x21;
  out[13] = four ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  out.writeUInt16BE(len, 14);
  if (four) {
    Buffer.from(src!.ip.split('.').map(Number)).copy(out, 16);
    Buffer.from(dst!.ip.split('.').map(Number)).copy(out, 20);
    out.writeUInt16BE(src!.port, 24);
    out.writeUInt16BE(dst!.port, 26);
  } else {
    v6Bytes(isIPv4(src!.ip) ? `::ffff:${src!.ip}` : src!.ip).copy(out, 16);
    v6Bytes(isIPv4(dst!.ip) ? `::ffff:${dst!.ip}` : dst!.ip).copy(out, 32);
    out.writeUInt16BE(src!.port, 48);
    out.writeUInt16BE(dst!.port, 50);
  }
  return out;
}
