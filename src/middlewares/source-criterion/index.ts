/**
 * Traefik's sourceCriterion: how rateLimit and inFlightReq group requests.
 * Exactly one of ipStrategy, requestHeaderName or requestHost may be set;
 * when none is, the caller's default applies (rateLimit: the client's
 * remote address; inFlightReq: the request host), as in Traefik.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../../server/context.js';
import { MiddlewareOptionError } from '../types.js';
import { ipChecker, maskIpv6 } from './ip.js';

export const IpStrategySchema = Type.Object(
  {
    /** Use the depth-th IP from the right of X-Forwarded-For (0 = not used). */
    depth: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Walk X-Forwarded-For from the right and use the first IP not in this list. */
    excludedIPs: Type.Optional(Type.Array(Type.String())),
    /** Group IPv6 clients by this prefix length (Traefik v3). */
    ipv6Subnet: Type.Optional(Type.Integer({ minimum: 0, maximum: 128 })),
  },
  { additionalProperties: false },
);

export const SourceCriterionSchema = Type.Object(
  {
    ipStrategy: Type.Optional(IpStrategySchema),
    requestHeaderName: Type.Optional(Type.String()),
    requestHost: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type IpStrategy = Static<typeof IpStrategySchema>;
export type SourceCriterion = Static<typeof SourceCriterionSchema>;

/** Computes the grouping key of a request. */
export type SourceExtractor = (ctx: RequestContext) => string;

const remoteAddr: SourceExtractor = (ctx) => ctx.remoteIp;
const requestHost: SourceExtractor = (ctx) => ctx.host;

function firstHeader(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? (v[0] ?? '') : v;
}

/** Build the extractor for an ipStrategy (remote address, depth or excluded IPs). */
export function compileIpStrategy(s: IpStrategy | undefined, field: string): SourceExtractor {
  const subnet = s?.ipv6Subnet;
  const mask = subnet === undefined || subnet === 0 ? null : (ip: string): string => (ip.includes(':') ? maskIpv6(ip, subnet) : ip);
  const depth = s?.depth ?? 0;
  if (depth > 0) {
    if (s?.excludedIPs !== undefined && s.excludedIPs.length > 0) {
      throw new MiddlewareOptionError(`${field}.ipStrategy`, 'depth and excludedIPs are mutually exclusive');
    }
    return (ctx) => {
      const xff = firstHeader(ctx.headers['x-forwarded-for']).split(',');
      if (xff.length < depth) return '';
      const ip = (xff[xff.length - depth] as string).trim();
      return mask === null ? ip : mask(ip);
    };
  }
  if (s?.excludedIPs !== undefined && s.excludedIPs.length > 0) {
    let excluded: (ip: string) => boolean;
    try {
      excluded = ipChecker(s.excludedIPs);
    } catch (err) {
      throw new MiddlewareOptionError(`${field}.ipStrategy.excludedIPs`, (err as Error).message);
    }
    return (ctx) => {
      const xff = firstHeader(ctx.headers['x-forwarded-for']).split(',');
      for (let i = xff.length - 1; i >= 0; i--) {
        const ip = (xff[i] as string).trim();
        if (ip === '') continue;
        if (!excluded(ip)) return mask === null ? ip : mask(ip);
      }
      return '';
    };
  }
  return mask === null ? remoteAddr : (ctx) => mask(ctx.remoteIp);
}

/**
 * Compile a sourceCriterion once (per configuration snapshot).
 * @param fallback used when no criterion is set: 'ip' (remote address) or 'host'.
 * @param field option path used in error messages.
 */
export function compileSourceCriterion(sc: SourceCriterion | undefined, fallback: 'ip' | 'host', field = 'sourceCriterion'): SourceExtractor {
  const header = sc?.requestHeaderName ?? '';
  const host = sc?.requestHost === true;
  if (sc?.ipStrategy !== undefined) {
    if (header !== '' || host) {
      throw new MiddlewareOptionError(field, 'ipStrategy, requestHeaderName and requestHost are mutually exclusive');
    }
    return compileIpStrategy(sc.ipStrategy, field);
  }
  if (header !== '') {
    if (host) throw new MiddlewareOptionError(field, 'requestHeaderName and requestHost are mutually exclusive');
    const name = header.toLowerCase();
    return (ctx) => firstHeader(ctx.headers[name]);
  }
  if (host) return requestHost;
  return fallback === 'ip' ? remoteAddr : requestHost;
}
