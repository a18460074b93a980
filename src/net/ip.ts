/**
 * IP addresses and ranges with Go's semantics, the one implementation behind
 * every option that takes them: ClientIP rules, ipAllowList.sourceRange,
 * ipStrategy.excludedIPs and the entry points' forwardedHeaders.trustedIPs
 * (all Traefik's ip.Checker).
 *
 * - An address parses as Go's netip.ParseAddr: dotted IPv4 without leading
 *   zeros, IPv6 with `::` and an embedded IPv4 tail, an IPv6 zone (`%eth0`,
 *   ignored when matching).
 * - A range entry is a single address (net.ParseIP: no zone) or a CIDR range
 *   (net.ParseCIDR: no zone, prefix length up to 32 for dotted IPv4 and 128
 *   otherwise).
 * - Matching follows net.IPNet.Contains: an IPv4-mapped IPv6 address
 *   (`::ffff:10.1.2.3`) is the IPv4 address; a range whose masked network is
 *   IPv4-mapped is an IPv4 range (`::ffff:10.0.0.0/104` is 10.0.0.0/8); any
 *   other IPv6 range matches only IPv6 addresses that are not IPv4-mapped
 *   (`::/0` matches no IPv4 client).
 *
 * Ranges are compiled once into numeric network/mask words; a check parses
 * the address into a shared scratch buffer and allocates nothing.
 */

/** A range entry that is not an IP address or CIDR range; `index` is its position in the list. */
export class IpRangeError extends Error {
  constructor(
    readonly index: number,
    readonly entry: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpRangeError';
  }
}

/** A compiled list of ranges. */
export interface IpRanges {
  /** Go's Checker.Contains: `addr` is a bare address (an IPv6 zone is allowed); false when it is not one. */
  contains(addr: string): boolean;
  /** Go's Checker.IsAuthorized: `host:port` and `[host]:port` are reduced to the host first, else as `contains`. */
  containsHost(addr: string): boolean;
}

// Why the last parse failed, for configuration errors. Only constant strings
// and numbers are stored, so the per-request path still allocates nothing.
let failReason = '';
let failAt = -1;

/** Record why parsing failed; returns `result`, the caller's failure value. */
function fail<T>(result: T, reason: string, at = -1): T {
  failReason = reason;
  failAt = at;
  return result;
}

// The value parseV4 read. Kept in a typed array rather than returned: an
// address above 2^31 is no small integer, and returning it would allocate.
const v4Value = new Uint32Array(1);

/** Dotted IPv4 in s[start, end) (Go's parseIPv4Fields) into v4Value[0]; false when invalid. */
function parseV4(s: string, start: number, end: number): boolean {
  let value = 0;
  let val = 0;
  let digits = 0;
  let pos = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && val === 0) return fail(false, 'IPv4 field has octet with leading zero', i);
      val = val * 10 + (c - 0x30);
      digits++;
      if (val > 255) return fail(false, 'IPv4 field has value >255', i);
    } else if (c === 0x2e) {
      if (i === start || i === end - 1 || s.charCodeAt(i - 1) === 0x2e) return fail(false, 'IPv4 field must have at least one digit', i);
      if (pos === 3) return fail(false, 'IPv4 address too long', i);
      value = value * 256 + val;
      pos++;
      val = 0;
      digits = 0;
    } else return fail(false, 'unexpected character', i);
  }
  if (pos < 3) return fail(false, 'IPv4 address too short');
  v4Value[0] = value * 256 + val;
  return true;
}

const groups = new Uint16Array(8);

/** IPv6 in s[start, end), zone already cut off (Go's parseIPv6), into `groups`. */
function parseV6(s: string, start: number, end: number): boolean {
  let i = start;
  let n = 0;
  let ellipsis = -1;
  if (end - i >= 2 && s.charCodeAt(i) === 0x3a && s.charCodeAt(i + 1) === 0x3a) {
    ellipsis = 0;
    i += 2;
    if (i === end) {
      groups.fill(0);
      return true;
    }
  }
  while (n < 8) {
    let acc = 0;
    let off = 0;
    for (; i + off < end; off++) {
      const c = s.charCodeAt(i + off);
      const h = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (h < 0) break;
      if (off > 3) return fail(false, 'each group must have 4 or less digits', i);
      acc = acc * 16 + h;
    }
    if (off === 0) return fail(false, 'each colon-separated field must have at least one digit', i);
    if (i + off < end && s.charCodeAt(i + off) === 0x2e) {
      // An embedded IPv4 tail replaces the last two groups.
      if (ellipsis < 0 && n !== 6) return fail(false, 'embedded IPv4 address must replace the final 2 fields of the address', i);
      if (n + 2 > 8) return fail(false, 'too many hex fields to fit an embedded IPv4 at the end of the address', i);
      if (!parseV4(s, i, end)) return false;
      const v = v4Value[0] as number;
      groups[n++] = v >>> 16;
      groups[n++] = v & 0xffff;
      i = end;
      break;
    }
    groups[n++] = acc;
    i += off;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x3a) return fail(false, 'unexpected character, want colon', i);
    if (i + 1 === end) return fail(false, 'colon must be followed by more characters', i);
    i++;
    if (s.charCodeAt(i) === 0x3a) {
      if (ellipsis >= 0) return fail(false, 'multiple :: in address', i);
      ellipsis = n;
      i++;
      if (i === end) break;
    }
  }
  if (i !== end) return fail(false, 'trailing garbage after address', i);
  if (n < 8) {
    if (ellipsis < 0) return fail(false, 'address string too short');
    const move = n - ellipsis;
    for (let k = 1; k <= move; k++) groups[8 - k] = groups[n - k] as number;
    groups.fill(0, ellipsis, 8 - move);
  } else if (ellipsis >= 0) return fail(false, 'the :: must expand to at least one field of zeros');
  return true;
}

/**
 * Parse s[start, end) as Go's netip.ParseAddr into `out` (four big-endian
 * 32-bit words; IPv4 is stored IPv4-mapped, `::ffff:a.b.c.d`). Returns 4 for
 * dotted IPv4, 6 for IPv6 (IPv4-mapped included), 0 when it is not an address.
 */
function parseAddr(s: string, start: number, end: number, out: Uint32Array): 0 | 4 | 6 {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (!parseV4(s, start, end)) return 0;
      out[0] = 0;
      out[1] = 0;
      out[2] = 0xffff;
      out[3] = v4Value[0] as number;
      return 4;
    }
    if (c === 0x3a) {
      let stop = end;
      const pct = s.indexOf('%', start);
      if (pct >= 0 && pct < end) {
        if (pct === end - 1) return fail(0, 'zone must be a non-empty string', pct);
        stop = pct;
      }
      if (!parseV6(s, start, stop)) return 0;
      for (let w = 0; w < 4; w++) out[w] = (groups[2 * w] as number) * 0x10000 + (groups[2 * w + 1] as number);
      return 6;
    }
    if (c === 0x25) return fail(0, 'missing IPv6 address', i);
  }
  return fail(0, start === end ? 'empty string' : 'unable to parse IP');
}

/** Go's To4() test: the address is IPv4 or IPv4-mapped IPv6. */
function isV4(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/**
 * Parse an address the way range checks see it. Returns 4 for IPv4 and
 * IPv4-mapped IPv6 (word 3 holds it), 6 for other IPv6, 0 when invalid.
 */
export function parseIpInto(s: string, out: Uint32Array): 0 | 4 | 6 {
  const kind = parseAddr(s, 0, s.length, out);
  if (kind === 0) return 0;
  return isV4(out) ? 4 : 6;
}

const scratch = new Uint32Array(4);

/** 32-bit mask word w (0..3) of a /bits prefix over 128 bits. */
function maskWord(bits: number, w: number): number {
  const keep = Math.max(0, Math.min(32, bits - 32 * w));
  return keep === 0 ? 0 : keep === 32 ? 0xffffffff : (0xffffffff << (32 - keep)) >>> 0;
}

/** Go's dtoi over the whole text: decimal digits only (leading zeros allowed, as net.ParseCIDR does), or -1. */
function prefixLength(text: string): number {
  if (!/^[0-9]+$/.test(text)) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    n = n * 10 + (text.charCodeAt(i) - 0x30);
    if (n >= 0xffffff) return -1;
  }
  return n;
}

class IpRangeSet implements IpRanges {
  /** Pairs [network, mask] of IPv4 ranges. */
  private readonly v4: Uint32Array;
  /** Groups of eight words [network0..3, mask0..3] of IPv6 ranges. */
  private readonly v6: Uint32Array;

  constructor(v4: number[], v6: number[]) {
    this.v4 = Uint32Array.from(v4);
    this.v6 = Uint32Array.from(v6);
  }

  contains(addr: string): boolean {
    return this.check(addr, 0, addr.length);
  }

  containsHost(addr: string): boolean {
    return splitHost(addr) ? this.check(addr, hostStart, hostEnd) : this.check(addr, 0, addr.length);
  }

  private check(s: string, start: number, end: number): boolean {
    if (parseAddr(s, start, end, scratch) === 0) return false;
    if (isV4(scratch)) {
      const a = scratch[3] as number;
      const v4 = this.v4;
      for (let i = 0; i < v4.length; i += 2) if ((a & (v4[i + 1] as number)) >>> 0 === v4[i]) return true;
      return false;
    }
    const v6 = this.v6;
    outer: for (let i = 0; i < v6.length; i += 8) {
      for (let w = 0; w < 4; w++) if (((scratch[w] as number) & (v6[i + 4 + w] as number)) >>> 0 !== v6[i + w]) continue outer;
      return true;
    }
    return false;
  }
}

let hostStart = 0;
let hostEnd = 0;

/** Go's net.SplitHostPort, as bounds of the host in hostStart/hostEnd; false when `s` is not host:port. */
function splitHost(s: string): boolean {
  const i = s.lastIndexOf(':');
  if (i < 0) return false;
  let j = 0;
  let k = 0;
  if (s.charCodeAt(0) === 0x5b) {
    const end = s.indexOf(']');
    // The first ']' must sit just before the last ':'.
    if (end < 0 || end + 1 !== i) return false;
    hostStart = 1;
    hostEnd = end;
    j = 1;
    k = end + 1;
  } else {
    if (s.indexOf(':') !== i) return false;
    hostStart = 0;
    hostEnd = i;
  }
  return s.indexOf('[', j) < 0 && s.indexOf(']', k) < 0;
}

/** The configuration error for a bad entry. */
function invalid(index: number, entry: string, problem: string): IpRangeError {
  const spaces = entry.trim() !== entry && entry.trim() !== '' ? ' (remove the surrounding spaces)' : '';
  return new IpRangeError(index, entry, `"${entry}" is not an IP address or CIDR range: ${problem}${spaces}`);
}

/** Parse one entry and add it to the v4 or v6 list; throws IpRangeError. */
function addEntry(entry: string, index: number, v4: number[], v6: number[]): void {
  const slash = entry.indexOf('/');
  const addrEnd = slash < 0 ? entry.length : slash;
  const words = new Uint32Array(4);
  const kind = parseAddr(entry, 0, addrEnd, words);
  if (kind === 0) {
    const where =
      failAt < 0
        ? ''
        : failReason.startsWith('unexpected character')
          ? ` ${JSON.stringify(entry[failAt])} at offset ${failAt}`
          : ` (at offset ${failAt})`;
    throw invalid(index, entry, failReason + where);
  }
  const zone = entry.indexOf('%');
  if (zone >= 0 && zone < addrEnd) throw invalid(index, entry, `a range cannot have an IPv6 zone (${entry.slice(zone, addrEnd)})`);
  const bitLen = kind === 4 ? 32 : 128;
  let bits = bitLen;
  if (slash >= 0) {
    bits = prefixLength(entry.slice(slash + 1));
    if (bits < 0 || bits > bitLen) throw invalid(index, entry, `the prefix length after "/" must be a number from 0 to ${bitLen}`);
  }
  // Work over 128 bits: a dotted IPv4 /n is the IPv4-mapped /(96+n).
  const bits128 = kind === 4 ? 96 + bits : bits;
  const net = words.map((x, w) => (x & maskWord(bits128, w)) >>> 0);
  if (isV4(net)) v4.push(net[3] as number, maskWord(bits128, 3));
  else v6.push(...net, maskWord(bits128, 0), maskWord(bits128, 1), maskWord(bits128, 2), maskWord(bits128, 3));
}

/** Compile range entries (addresses and CIDR ranges); a bad entry throws IpRangeError naming its index. */
export function compileIpRanges(entries: readonly string[]): IpRanges {
  const v4: number[] = [];
  const v6: number[] = [];
  entries.forEach((entry, index) => addEntry(entry, index, v4, v6));
  return new IpRangeSet(v4, v6);
}

/**
 * Traefik's ipStrategy.ipv6Subnet (netip Addr.Prefix): an IPv6 address
 * becomes the network address of its /bits prefix, in RFC 5952 form. IPv4,
 * including IPv4-mapped IPv6 (how node reports IPv4 peers on a dual-stack
 * socket, where Go would see plain IPv4), and invalid input are returned as is.
 */
export function maskIpv6(ip: string, bits: number): string {
  const w = new Uint32Array(4);
  if (parseAddr(ip, 0, ip.length, w) !== 6 || isV4(w) || bits < 0 || bits > 128) return ip;
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = ((w[i] as number) & maskWord(bits, i)) >>> 0;
    g.push(Math.floor(x / 0x10000), x & 0xffff);
  }
  return formatIpv6(g);
}

/** Eight groups in RFC 5952 form: lower-case hex, the first longest run of two or more zero groups as `::`. */
function formatIpv6(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
