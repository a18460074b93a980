/**
 * Traefik's ipStrategy: how a middleware picks the client IP it checks.
 * - none: the direct peer address (Traefik's RemoteAddr strategy);
 * - depth N: the Nth entry of X-Forwarded-For counted from the right ('' when too short);
 * - excludedIPs: the first X-Forwarded-For entry from the right not in the list;
 * - ipv6Subnet: an IPv6 result is masked to that prefix length (v3.1+).
 * `depth` wins over `excludedIPs`, as in Traefik.
 */
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../../http/exchange.js';
import { cleanIp, compileIpMatcher } from './ip-matcher.js';

export const IpStrategySchema = Type.Object(
  {
    depth: Type.Optional(Type.Integer({ minimum: 0 })),
    excludedIPs: Type.Optional(Type.Array(Type.String())),
    ipv6Subnet: Type.Optional(Type.Integer({ minimum: 0, maximum: 128 })),
  },
  { additionalProperties: false },
);
export type IpStrategyOptions = Static<typeof IpStrategySchema>;

/** Returns the client IP as the strategy sees it ('' when none). */
export type IpExtractor = (ctx: RequestContext) => string;

function xffEntries(ctx: RequestContext): string[] {
  const raw = ctx.headers['x-forwarded-for'];
  if (raw === undefined) return [];
  const joined = typeof raw === 'string' ? raw : raw.join(',');
  return joined.split(',');
}

export function compileIpStrategy(opts: IpStrategyOptions | undefined, field: string): IpExtractor {
  const subnet = opts?.ipv6Subnet;
  const base = baseStrategy(opts, field);
  if (subnet === undefined) return base;
  return (ctx) => maskIpv6(base(ctx), subnet);
}

function baseStrategy(opts: IpStrategyOptions | undefined, field: string): IpExtractor {
  const depth = opts?.depth ?? 0;
  if (depth > 0) {
    return (ctx) => {
      const xff = xffEntries(ctx);
      if (xff.length < depth) return '';
      return (xff[xff.length - depth] as string).trim();
    };
  }
  const excluded = opts?.excludedIPs;
  if (excluded !== undefined && excluded.length > 0) {
    const matcher = compileIpMatcher(excluded, `${field}.excludedIPs`);
    return (ctx) => {
      const xff = xffEntries(ctx);
      for (let i = xff.length - 1; i >= 0; i--) {
        const ip = (xff[i] as string).trim();
        if (!matcher.contains(ip)) return ip;
      }
      return '';
    };
  }
  return (ctx) => ctx.remoteIp;
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
  const g = parseIpv6(cleanIp(ip));
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
