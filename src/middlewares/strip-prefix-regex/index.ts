/**
 * stripPrefixRegex: the first regex whose match is a prefix of the path has
 * that match removed; the removed part goes to X-Forwarded-Prefix.
 */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, type Handler } from '../types.js';
import { addRequestHeader } from '../../http/headers.js';
import { regexOption } from '../shared/go-regex-option.js';

export const StripPrefixRegexSchema = Type.Object(
  { regex: Type.Array(Type.String(), { description: 'Go regular expressions matched against the start of the path' }) },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'stripPrefixRegex',
  schema: StripPrefixRegexSchema,
  create(options) {
    const regexes = options.regex.map((r, i) => regexOption(r.trim(), `regex[${i}]`));
    return (next: Handler): Handler =>
      function stripPrefixRegex(ctx) {
        const path = ctx.path;
        for (const re of regexes) {
          const m = re.exec(path);
          if (m === null || m[0] === '' || !path.startsWith(m[0])) continue;
          const rest = path.slice(m[0].length);
          ctx.path = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
          addRequestHeader(ctx.headers, 'x-forwarded-prefix', m[0]);
          break;
        }
        next(ctx);
      };
  },
});
