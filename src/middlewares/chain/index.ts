/**
 * chain (Traefik): a reusable list of other middlewares, applied in order
 * (the first is the outermost). The names are declared as references, so
 * the compiler reports unknown, broken or cyclic ones; deps.middleware hands
 * over the ones it resolved.
 */
import { Type } from '@sinclair/typebox';
import type { Handler, Middleware } from '../../http/handler.js';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';

export const ChainSchema = Type.Object(
  {
    middlewares: Type.Array(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const middleware = defineMiddleware({
  type: 'chain',
  schema: ChainSchema,
  references: (o) => o.middlewares.map((name, i) => ({ kind: 'middleware' as const, name, field: `middlewares[${i}]` })),
  create(o, deps) {
    const list: Middleware[] = [];
    for (let i = 0; i < o.middlewares.length; i++) {
      const name = o.middlewares[i] as string;
      try {
        list.push(deps.middleware(name));
      } catch (err) {
        throw new MiddlewareOptionError(`middlewares.${i}`, (err as Error).message);
      }
    }
    if (list.length === 0) return (next) => next;
    return (next: Handler): Handler => {
      let h = next;
      for (let i = list.length - 1; i >= 0; i--) h = (list[i] as Middleware)(h);
      return h;
    };
  },
});
