/**
 * Builds the route of every router the compiler left usable: its rule
 * compiled into a matcher, its middlewares folded once around its service.
 * The service and middlewares are the qualified names the compiler resolved;
 * a router whose service or middleware failed to build is disabled with why.
 */
import type { StatusBook } from '../../config/compile/status.js';
import type { RuntimeRouter, Snapshot } from '../../config/runtime.js';
import type { Handler, Middleware } from '../../http/handler.js';
import type { RouteEntry } from '../../router/table.js';
import { compileRule } from '../../rules/index.js';
import { messageOf, unavailable } from './refs.js';

/** What a router needs: built services and middlewares by qualified name. */
export interface RouteParts {
  service(name: string): { readonly handler: Handler } | undefined;
  middleware(name: string): Middleware | undefined;
}

export interface BuiltRoute {
  readonly router: RuntimeRouter;
  readonly entry: RouteEntry;
}

export function buildRouters(view: Snapshot, parts: RouteParts, book: StatusBook): BuiltRoute[] {
  const out: BuiltRoute[] = [];
  for (const rr of Object.values(view.routers)) {
    if (rr.status === 'disabled') continue;
    const handler = routeHandler(view, rr, parts, book);
    if (handler === null) continue;
    try {
      const rule = compileRule(rr.config.rule, rr.ruleSyntax);
      out.push({ router: rr, entry: { name: rr.name, priority: rr.priority, rule, handler } });
    } catch (err) {
      book.addError(rr, `invalid rule: ${messageOf(err)}`, true, 'rule');
    }
  }
  return out;
}

/** The router's service wrapped in its middlewares (the first is the outermost), or null when a part is unavailable. */
function routeHandler(view: Snapshot, rr: RuntimeRouter, parts: RouteParts, book: StatusBook): Handler | null {
  const service = parts.service(rr.service);
  if (service === undefined) {
    book.addError(rr, unavailable('service', rr.service, view.services[rr.service]), true, 'service');
    return null;
  }
  const chain: Middleware[] = [];
  for (const name of rr.middlewares) {
    const m = parts.middleware(name);
    if (m === undefined) {
      book.addError(rr, unavailable('middleware', name, view.middlewares[name]), true, 'middlewares');
      return null;
    }
    chain.push(m);
  }
  let h = service.handler;
  try {
    for (let i = chain.length - 1; i >= 0; i--) h = (chain[i] as Middleware)(h);
  } catch (err) {
    book.addError(rr, messageOf(err), true);
    return null;
  }
  const name = rr.name;
  const inner = h;
  return (ctx) => {
    ctx.routerName = name;
    inner(ctx);
  };
}
