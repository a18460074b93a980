/** Handler and middleware types: the shape of every router, middleware chain and service. */
import type { RequestContext } from './exchange.js';

/** A request handler: router, middleware chain or service. Must answer through ctx.rw exactly once. */
export type Handler = (ctx: RequestContext) => void;

/** A middleware wraps the next handler (built once per configuration snapshot). */
export type Middleware = (next: Handler) => Handler;
