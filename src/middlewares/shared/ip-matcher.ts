/**
 * Source ranges (IPs and CIDRs, v4 and v6) compiled once into a node:net
 * BlockList, checked per request without allocation.
 */
import { BlockList, isIP } from 'node:net';
import { MiddlewareOptionError } from '../types.js';

export interface IpMatcher {
  /** True when `ip` (a bare address, IPv4-mapped IPv6 accepted) is in one of the ranges. */
  contains(ip: string): boolean;
}

/** Strip brackets, a zone id and the IPv4-mapped prefix. Returns '' when not an IP. */
export function cleanIp(raw: string): string {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  return isIP(ip) === 0 ? '' : ip;
}

/** Compile `ranges`; a bad entry throws MiddlewareOptionError naming `field[i]`. */
export function compileIpMatcher(ranges: readonly string[], field: string): IpMatcher {
  const list = new BlockList();
  ranges.forEach((raw, i) => {
    const entry = raw.trim();
    const slash = entry.indexOf('/');
    const addr = cleanIp(slash < 0 ? entry : entry.slice(0, slash));
    const family = isIP(addr);
    if (family === 0) throw new MiddlewareOptionError(`${field}[${i}]`, `"${raw}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(addr, type);
      return;
    }
    const bitsText = entry.slice(slash + 1);
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
    if (bits < 0 || bits > (family === 4 ? 32 : 128)) {
      throw new MiddlewareOptionError(`${field}[${i}]`, `"${raw}" has an invalid prefix length`);
    }
    list.addSubnet(addr, bits, type);
  });
  return {
    contains(ip: string): boolean {
      const clean = cleanIp(ip);
      const family = isIP(clean);
      if (family === 0) return false;
      return list.check(clean, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
