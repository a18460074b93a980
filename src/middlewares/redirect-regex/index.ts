/**
 * redirectRegex: match the full request URL (scheme://host[:port]/path?query)
 * and, when the rewritten URL differs, redirect the client to it
 * (302/307, or 301/308 when permanent).
 */
import { Type } from '@sinclair/typebox';
import { answer } from '../../http/answers.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, type Handler } from '../types.js';
import { replacerOption } from '../shared/go-regex-option.js';
import { sendRedirect } from '../shared/redirect.js';

export const RedirectRegexSchema = Type.Object(
  {
    regex: Type.String({ description: 'Go regular expression matched against the request URL' }),
    replacement: Type.String({ description: 'Target URL; $1 or ${name} insert groups' }),
    permanent: Type.Optional(Type.Boolean({ description: 'Permanent redirect (301/308) instead of 302/307' })),
  },
  { additionalProperties: false },
);

/** The URL as the client asked for it: scheme://<Host header><path>?<query>. */
export function requestUrl(ctx: RequestContext): string {
  const host = ctx.headers.host ?? ctx.host;
  return `${ctx.scheme}://${host}${ctx.url}`;
}

export const middleware = defineMiddleware({
  type: 'redirectRegex',
  schema: RedirectRegexSchema,
  create(options) {
    const replacer = replacerOption(options.regex, options.replacement, 'regex');
    const permanent = options.permanent ?? false;
    return (next: Handler): Handler =>
      function redirectRegex(ctx) {
        const oldUrl = requestUrl(ctx);
        if (!replacer.test(oldUrl)) {
          next(ctx);
          return;
        }
        const newUrl = replacer.replaceAll(oldUrl);
        if (newUrl === oldUrl) {
          next(ctx);
          return;
        }
        if (/[\r\n]/.test(newUrl) || !URL.canParse(newUrl, oldUrl)) {
          answer(ctx, 'GH_INTERNAL');
          return;
        }
        sendRedirect(ctx, newUrl, permanent);
      };
  },
});
