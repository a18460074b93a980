/**
 * Traefik's sourceCriterion: how rateLimit and inFlightReq group requests.
 * Exactly one of ipStrategy, requestHeaderName or requestHost may be set;
 * when none is, the caller's default applies (rateLimit: the client's
 * remote address; inFlightReq: the request host), as in Traefik.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../../http/exchange.js';
import { MiddlewareOptionError } from '../types.js';
import { compileIpStrategy, IpStrategySchema, type IpStrategyOptions } from '../shared/ip-strategy.js';

export { compileIpStrategy, IpStrategySchema };

export const SourceCriterionSchema = Type.Object(
  {
    ipStrategy: Type.Optional(IpStrategySchema),
    requestHeaderName: Type.Optional(Type.String()),
    requestHost: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type IpStrategy = IpStrategyOptions;
export type SourceCriterion = Static<typeof SourceCriterionSchema>;

/** Computes the grouping key of a request. */
export type SourceExtractor = (ctx: RequestContext) => string;

const remoteAddr: SourceExtractor = (ctx) => ctx.remoteIp;
const requestHost: SourceExtractor = (ctx) => ctx.host;

function firstHeader(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? (v[0] ?? '') : v;
}

/**
 * Compile a sourceCriterion once (per configuration snapshot).
 * @param fallback used when no criterion is set: 'ip' (remote address) or 'host'.
 * @param field option path used in error messages.
 */
export function compileSourceCriterion(
  sc: SourceCriterion | undefined,
  fallback: 'ip' | 'host',
  field = 'sourceCriterion',
): SourceExtractor {
  const header = sc?.requestHeaderName ?? '';
  const host = sc?.requestHost === true;
  if (sc?.ipStrategy !== undefined) {
    if (header !== '' || host) {
      throw new MiddlewareOptionError(field, 'ipStrategy, requestHeaderName and requestHost are mutually exclusive');
    }
    try {
      return compileIpStrategy(sc.ipStrategy, `${field}.ipStrategy`);
    } catch (err) {
      if (err instanceof MiddlewareOptionError) throw err;
      throw new MiddlewareOptionError(`${field}.ipStrategy`, (err as Error).message);
    }
  }
  if (header !== '') {
    if (host) throw new MiddlewareOptionError(field, 'requestHeaderName and requestHost are mutually exclusive');
    const name = header.toLowerCase();
    return (ctx) => firstHeader(ctx.headers[name]);
  }
  if (host) return requestHost;
  return fallback === 'ip' ? remoteAddr : requestHost;
}
