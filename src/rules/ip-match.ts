/**
 * ClientIP matching: IPv4/IPv6 addresses and CIDR ranges parsed once, and a
 * per-request address parse into a shared scratch buffer (no allocation).
 * Semantics follow Go's net.IP / net.IPNet as Traefik's ip.Checker uses them:
 * an IPv4-mapped IPv6 address is an IPv4 address; IPv4 ranges match only IPv4
 * addresses and IPv6 ranges only IPv6 ones; IPv4 with leading zeros is invalid.
 */

interface Net {
  /** 4 for IPv4, 6 for IPv6. */
  readonly family: 4 | 6;
  /** Four 32-bit words; IPv4 uses word 3 only. */
  readonly words: Uint32Array;
  /** Prefix length (32 max for IPv4, 128 for IPv6). */
  readonly bits: number;
}

const scratch = new Uint32Array(4);
const groups = new Uint16Array(8);

/** Parse an address into `out`; returns 4 or 6, or 0 when it is not an IP address. Accepts a `%zone` suffix. */
export function parseIpInto(s: string, out: Uint32Array): 0 | 4 | 6 {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  if (s.indexOf(':') < 0) {
    if (end !== s.length) return 0;
    const v = parseV4(s, 0, end);
    if (v < 0) return 0;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = v;
    return 4;
  }
  if (!parseV6(s, end)) return 0;
  for (let i = 0; i < 4; i++) out[i] = (((groups[2 * i] as number) << 16) | (groups[2 * i + 1] as number)) >>> 0;
  // IPv4-mapped (::ffff:a.b.c.d) is IPv4, as Go's To4() sees it.
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[2] = 0;
    return 4;
  }
  return 6;
}

/** Dotted quad in s[start, end) as an unsigned 32-bit number, or -1. */
function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const from = i;
    let n = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + (c - 0x30);
      i++;
      if (i - from > 3) return -1;
    }
    if (i === from || n > 255 || (i - from > 1 && s.charCodeAt(from) === 0x30)) return -1;
    value = value * 256 + n;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** IPv6 text s[0, end) into `groups`. */
function parseV6(s: string, end: number): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (end === 2) {
      groups.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (n === 8) return false;
    // An embedded IPv4 tail takes two groups.
    let dot = -1;
    for (let j = i; j < end; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x2e) {
        dot = j;
        break;
      }
      if (c === 0x3a) break;
    }
    if (dot >= 0) {
      if (n > 6) return false;
      const v = parseV4(s, i, end);
      if (v < 0) return false;
      groups[n++] = v >>> 16;
      groups[n++] = v & 0xffff;
      i = end;
      break;
    }
    let g = 0;
    const from = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      const h = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (h < 0) break;
      g = g * 16 + h;
      i++;
    }
    if (i === from || i - from > 4) return false;
    groups[n++] = g;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) return false;
  }
  if (gap < 0) return n === 8;
  if (n === 8) return false;
  const move = n - gap;
  for (let k = 0; k < move; k++) groups[7 - k] = groups[n - 1 - k] as number;
  for (let k = gap; k < 8 - move; k++) groups[k] = 0;
  return true;
}

/** Parse one ClientIP argument (`10.0.0.0/8`, `::1`, `192.168.1.7`); throws Error with a message. */
export function parseNet(text: string): Net {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const words = new Uint32Array(4);
  const family = addr.includes('%') ? 0 : parseIpInto(addr, words);
  if (family === 0) throw new Error(`invalid IP address or CIDR range "${text}"`);
  let bits = family === 4 ? 32 : 128;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    // Go's ParseCIDR: an IPv4-mapped address with a prefix stays IPv6-sized.
    const max = addr.includes(':') ? 128 : 32;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) throw new Error(`invalid CIDR range "${text}"`);
    bits = Number(p);
    if (max === 128 && family === 4) {
      // ::ffff:a.b.c.d/n: only meaningful with n >= 96, as IPv4 /n-96.
      if (bits < 96) throw new Error(`CIDR range "${text}" mixes IPv4-mapped and IPv6 (use an IPv4 range)`);
      bits -= 96;
    }
  }
  return { family, words, bits };
}

function contains(net: Net, family: number, addr: Uint32Array): boolean {
  if (net.family !== family) return false;
  if (family === 4) {
    if (net.bits === 0) return true;
    const shift = 32 - net.bits;
    return shift === 0 ? addr[3] === net.words[3] : addr[3]! >>> shift === net.words[3]! >>> shift;
  }
  let left = net.bits;
  for (let w = 0; w < 4 && left > 0; w++) {
    const take = left >= 32 ? 32 : left;
    const shift = 32 - take;
    if (shift === 0 ? addr[w] !== net.words[w] : addr[w]! >>> shift !== net.words[w]! >>> shift) return false;
    left -= take;
  }
  return true;
}

/** Compile ClientIP arguments into a predicate over the peer address. Throws Error naming the bad entry (`index`). */
export function compileIpMatcher(entries: readonly string[]): (ip: string) => boolean {
  const nets = entries.map((e, index) => {
    try {
      return parseNet(e);
    } catch (err) {
      throw Object.assign(err as Error, { index });
    }
  });
  return (ip: string): boolean => {
    const family = parseIpInto(ip, scratch);
    if (family === 0) return false;
    for (let i = 0; i < nets.length; i++) if (contains(nets[i] as Net, family, scratch)) return true;
    return false;
  };
}
