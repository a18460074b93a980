/**
 * Traefik's ipStrategy: how a middleware picks the client IP it checks.
 * - none: the direct peer address (Traefik's RemoteAddr strategy);
 * - depth N: the Nth entry of X-Forwarded-For counted from the right ('' when too short);
 * - excludedIPs: the first X-Forwarded-For entry from the right not in the list;
 * - ipv6Subnet: an IPv6 result is masked to that prefix length (v3.1+).
 * `depth` wins over `excludedIPs`, as in Traefik.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../../http/exchange.js';
import { maskIpv6 } from '../../net/ip.js';
import { ipRangesOption } from './ip-ranges-option.js';

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
    const ranges = ipRangesOption(excluded, `${field}.excludedIPs`);
    return (ctx) => {
      const xff = xffEntries(ctx);
      // Traefik's PoolStrategy: empty entries are skipped, the first other one not in the pool wins.
      for (let i = xff.length - 1; i >= 0; i--) {
        const ip = (xff[i] as string).trim();
        if (ip !== '' && !ranges.contains(ip)) return ip;
      }
      return '';
    };
  }
  return (ctx) => ctx.remoteIp;
}
