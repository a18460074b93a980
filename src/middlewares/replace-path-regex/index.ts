/**
 * replacePathRegex: when the regex matches the (percent-encoded) path, every
 * match is replaced (Go ReplaceAllString: $1, ${name}); the previous path goes
 * to X-Replaced-Path. A result that is not valid percent-encoding answers 500.
 */
import { Type } from '@sinclair/typebox';
import { answer } from '../../http/answers.js';
import { defineMiddleware, type Handler } from '../types.js';
import { addRequestHeader } from '../../http/headers.js';
import { replacerOption } from '../shared/go-regex-option.js';
import { pathUnescape } from '../shared/redirect.js';

export const ReplacePathRegexSchema = Type.Object(
  {
    regex: Type.String({ description: 'Go regular expression matched against the path' }),
    replacement: Type.String({ description: 'Replacement path; $1 or ${name} insert groups' }),
  },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'replacePathRegex',
  schema: ReplacePathRegexSchema,
  create(options) {
    const replacer = replacerOption(options.regex.trim(), options.replacement, 'regex');
    const active = options.replacement !== '';
    return (next: Handler): Handler =>
      function replacePathRegex(ctx) {
        if (active) {
          const current = ctx.path;
          if (replacer.test(current)) {
            const replaced = replacer.replaceAll(current);
            if (pathUnescape(replaced) === null) {
              answer(ctx, 'GH_INTERNAL', { body: 'invalid escape in the replaced path' });
              return;
            }
            addRequestHeader(ctx.headers, 'x-replaced-path', current);
            ctx.path = replaced.charCodeAt(0) === 47 ? replaced : `/${replaced}`;
          }
        }
        next(ctx);
      };
  },
});
