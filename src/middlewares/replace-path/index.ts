/** replacePath: replace the whole path; the previous path goes to X-Replaced-Path. */
import { Type } from '@sinclair/typebox';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { addRequestHeader } from '../../http/headers.js';
import { pathUnescape } from '../shared/redirect.js';

export const ReplacePathSchema = Type.Object(
  { path: Type.String({ description: 'New request path (percent-encoded form)' }) },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'replacePath',
  schema: ReplacePathSchema,
  create(options) {
    const path = options.path;
    if (pathUnescape(path) === null) throw new MiddlewareOptionError('path', `"${path}" has an invalid percent-encoding`);
    if (path.includes('?') || path.includes('#')) throw new MiddlewareOptionError('path', 'must be a path without "?" or "#"');
    const sent = path === '' ? '/' : path;
    return (next: Handler): Handler =>
      function replacePath(ctx) {
        addRequestHeader(ctx.headers, 'x-replaced-path', ctx.path);
        ctx.path = sent;
        next(ctx);
      };
  },
});
