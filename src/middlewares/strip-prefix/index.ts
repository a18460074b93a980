/**
 * stripPrefix: remove the first matching prefix from the path and record it in
 * X-Forwarded-Prefix (Traefik: prefixes are tried in order, first match wins).
 */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, type Handler } from '../types.js';
import { addRequestHeader } from '../../http/headers.js';

export const StripPrefixSchema = Type.Object(
  {
    prefixes: Type.Array(Type.String(), { description: 'Prefixes to strip; the first that matches is removed' }),
    forceSlash: Type.Optional(Type.Boolean({ description: 'Deprecated (Traefik v2 default true): an emptied path becomes "/"' })),
  },
  { additionalProperties: false },
);

/** Traefik's ensureLeadingSlash, with an empty path sent as "/" (the proxy cannot send ""). */
function leadingSlash(p: string): string {
  if (p === '') return '/';
  return p.charCodeAt(0) === 47 ? p : `/${p}`;
}

export const middleware = defineMiddleware({
  type: 'stripPrefix',
  schema: StripPrefixSchema,
  create(options) {
    const prefixes = options.prefixes.map((p) => p.trim()).filter((p) => p !== '');
    const forceSlash = options.forceSlash ?? true;
    return (next: Handler): Handler =>
      function stripPrefix(ctx) {
        const path = ctx.path;
        for (const prefix of prefixes) {
          if (!path.startsWith(prefix)) continue;
          const rest = path.slice(prefix.length);
          ctx.path = forceSlash ? `/${rest.charCodeAt(0) === 47 ? rest.slice(1) : rest}` : leadingSlash(rest);
          addRequestHeader(ctx.headers, 'x-forwarded-prefix', prefix);
          break;
        }
        next(ctx);
      };
  },
});
