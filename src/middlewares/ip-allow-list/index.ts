/**
 * ipAllowList (alias ipWhiteList): accept only clients whose IP, as chosen by
 * ipStrategy, is in sourceRange; others get rejectStatusCode (403) "Forbidden".
 */
import { REASONS } from '../../http1/reasons.js';
import { Type } from '@sinclair/typebox';
import { answer } from '../../http/answers.js';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { ipRangesOption } from '../shared/ip-ranges-option.js';
import { compileIpStrategy, IpStrategySchema } from '../shared/ip-strategy.js';

export const IpAllowListSchema = Type.Object(
  {
    sourceRange: Type.Array(Type.String(), { description: 'Allowed IPs and CIDR ranges (IPv4 and IPv6)' }),
    ipStrategy: Type.Optional(IpStrategySchema),
    rejectStatusCode: Type.Optional(Type.Integer({ description: 'Status sent to rejected clients (default 403)' })),
  },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'ipAllowList',
  aliases: ['ipWhiteList'],
  schema: IpAllowListSchema,
  create(options) {
    if (options.sourceRange.length === 0) throw new MiddlewareOptionError('sourceRange', 'must list at least one IP or CIDR range');
    const ranges = ipRangesOption(options.sourceRange, 'sourceRange');
    const clientIp = compileIpStrategy(options.ipStrategy, 'ipStrategy');
    const status = options.rejectStatusCode ?? 403;
    if (status < 100 || status > 599) throw new MiddlewareOptionError('rejectStatusCode', `${status} is not an HTTP status code`);
    const body = REASONS[status] ?? 'Forbidden';
    return (next: Handler): Handler =>
      function ipAllowList(ctx) {
        const ip = clientIp(ctx);
        // Traefik's IsAuthorized: an X-Forwarded-For entry may carry a port.
        if (ip !== '' && ranges.containsHost(ip)) next(ctx);
        else answer(ctx, 'GH_FORBIDDEN', { status, body });
      };
  },
});
