/**
 * One router table per entry point. The entry point's own middlewares
 * (`entryPoints.<name>.http.middlewares`, static configuration, qualified
 * names) run before each router's; when one of them is unavailable the
 * entry point answers 503 rather than serving without it.
 */
import type { Snapshot } from '../../config/runtime.js';
import { answer } from '../../http/answers.js';
import type { RequestContext } from '../../http/exchange.js';
import type { Handler, Middleware } from '../../http/handler.js';
import type { Logger } from '../../log.js';
import { RouterTable, type RouteEntry } from '../../router/table.js';
import type { BuiltRoute } from './routers.js';
import { messageOf, unavailable } from './refs.js';

export interface EntryPointBuildContext {
  readonly entryPoints: readonly string[];
  readonly entryPointMiddlewares?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly log: Logger;
  middleware(name: string): Middleware | undefined;
}

const notFound: Handler = (ctx) => answer(ctx, 'GH_NO_ROUTER');
const methodNotAllowed = (ctx: RequestContext, allow: readonly string[]): void =>
  answer(ctx, 'GH_METHOD_NOT_ALLOWED', { headers: { allow: allow.join(', ') } });
const broken: Handler = (ctx) => answer(ctx, 'GH_ENTRYPOINT_BROKEN');

export function buildEntryPoints(view: Snapshot, routes: readonly BuiltRoute[], ctx: EntryPointBuildContext): Record<string, Handler> {
  const out: Record<string, Handler> = Object.create(null) as Record<string, Handler>;
  for (const ep of ctx.entryPoints) {
    let entries = routes.filter((r) => r.router.entryPoints.includes(ep)).map((r) => r.entry);
    const names = ctx.entryPointMiddlewares?.[ep] ?? [];
    if (names.length > 0) entries = withEntryPointMiddlewares(view, ep, entries, names, ctx);
    out[ep] = new RouterTable(entries).handler(notFound, methodNotAllowed);
  }
  return out;
}

function withEntryPointMiddlewares(
  view: Snapshot,
  ep: string,
  entries: RouteEntry[],
  names: readonly string[],
  ctx: EntryPointBuildContext,
): RouteEntry[] {
  try {
    const chain = names.map((n) => {
      const m = ctx.middleware(n);
      if (m === undefined) throw new Error(unavailable('middleware', n, view.middlewares[n]));
      return m;
    });
    return entries.map((r) => wrap(r, chain));
  } catch (err) {
    ctx.log.error({ entryPoint: ep, err: messageOf(err) }, 'entry point middlewares are broken: the entry point answers 503');
    return entries.map((r) => ({ ...r, handler: broken }));
  }
}

/** The route with the entry point's middlewares outside the router's own. */
function wrap(r: RouteEntry, chain: readonly Middleware[]): RouteEntry {
  let h = r.handler;
  for (let i = chain.length - 1; i >= 0; i--) h = (chain[i] as Middleware)(h);
  const inner = h;
  const name = r.name;
  return {
    ...r,
    handler: (ctx) => {
      ctx.routerName = name;
      inner(ctx);
    },
  };
}
