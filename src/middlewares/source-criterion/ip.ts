/**
 * Small IP helpers for sourceCriterion: a checker for excludedIPs (backed by
 * node:net BlockList) and IPv6 subnet masking (ipStrategy.ipv6Subnet).
 */
import { BlockList, isIP } from 'node:net';

/** Build a checker for a list of IPs / CIDRs; throws Error naming the bad entry. */
export function ipChecker(entries: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    const slash = e.indexOf('/');
    const addr = slash < 0 ? e : e.slice(0, slash);
    const family = isIP(addr);
    if (family === 0) throw new Error(`"${raw}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(addr, type);
      continue;
    }
    const prefixText = e.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) throw new Error(`"${raw}" has an invalid prefix length`);
    list.addSubnet(addr, prefix, type);
  }
  return (ip) => {
    const family = isIP(ip);
    if (family === 0) return false;
    return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Parse an IPv6 literal into 8 16-bit groups; null when invalid. */
function parseIpv6(ip: string): number[] | null {
  if (isIP(ip) !== 6) return null;
  let s = ip;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // Embedded IPv4 (::ffff:1.2.3.4): rewrite the dotted tail as two hex groups.
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > 0) {
    const v4 = s.slice(lastColon + 1).split('.').map(Number);
    const hi = (((v4[0] as number) << 8) | (v4[1] as number)).toString(16);
    const lo = (((v4[2] as number) << 8) | (v4[3] as number)).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const dbl = s.indexOf('::');
  const parts = (x: string): number[] => (x === '' ? [] : x.split(':').map((h) => parseInt(h, 16)));
  let groups: number[];
  if (dbl >= 0) {
    const head = parts(s.slice(0, dbl));
    const rest = parts(s.slice(dbl + 2));
    const fill = 8 - head.length - rest.length;
    groups = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...rest];
  } else groups = parts(s);
  return groups.length === 8 ? groups : null;
}

/**
 * Mask an IPv6 address to its /bits network (Traefik's ipv6Subnet): the
 * result is the network address in compressed form. IPv4 is returned as is.
 */
export function maskIpv6(ip: string, bits: number): string {
  const g = parseIpv6(ip);
  if (g === null) return ip;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    g[i] = (g[i] as number) & mask;
  }
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
