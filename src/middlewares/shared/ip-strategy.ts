/**
 * Traefik's ipStrategy: how a middleware picks the client IP it checks.
 * - none: the direct peer address (Traefik's RemoteAddr strategy);
 * - depth N: the Nth entry of X-Forwarded-For counted from the right ('' when too short);
 * - excludedIPs: the first X-Forwarded-For entry from the right not in the list;
 * - ipv6Subnet: an IPv6 result is masked to that prefix length (v3.1+).
 * `depth` wins over `excludedIPs`, as in Traefik.
 */
import { isIPv6 } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../../server/context.js';
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

/** Mask an IPv6 address to `bits` (returned in full form); other values unchanged. */
export function maskIpv6(ip: string, bits: number): string {
  const clean = cleanIp(ip);
  if (!isIPv6(clean)) return ip;
  const groups = expandIpv6(clean);
  const out: string[] = [];
  for (let g = 0; g < 8; g++) {
    const keep = Math.max(0, Math.min(16, bits - g * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push(((groups[g] as number) & mask).toString(16));
  }
  return out.join(':');
}

function expandIpv6(ip: string): number[] {
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${(((o[0] as number) << 8) | (o[1] as number)).toString(16)}:${(((o[2] as number) << 8) | (o[3] as number)).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : new Array<string>(8 - h.length - r.length).fill('0');
  return [...h, ...zeros, ...r].map((x) => parseInt(x, 16));
}

