/** addPrefix: prepend a prefix to the path. */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';

export const AddPrefixSchema = Type.Object(
  { prefix: Type.String({ description: 'Prefix added in front of the request path' }) },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'addPrefix',
  schema: AddPrefixSchema,
  create(options) {
    const prefix = options.prefix;
    if (prefix === '') throw new MiddlewareOptionError('prefix', 'must not be empty');
    const slash = prefix.charCodeAt(0) === 47;
    return (next: Handler): Handler =>
      function addPrefix(ctx) {
        ctx.path = slash ? prefix + ctx.path : `/${prefix}${ctx.path}`;
        next(ctx);
      };
  },
});
