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
import { routerTlsOn, TLS_SECTION, type TlsSection } from '../../tls/compile.js';

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

/**
 * Each entry point gets two tables, as Traefik's: the routers with TLS (their own `tls`, or the
 * entry point's `http.tls`) answer requests that came over TLS, the others plain ones.
 */
export function buildEntryPoints(view: Snapshot, routes: readonly BuiltRoute[], ctx: EntryPointBuildContext): Record<string, Handler> {
  const out: Record<string, Handler> = Object.create(null) as Record<string, Handler>;
  const tls = view.sections?.[TLS_SECTION] as TlsSection | undefined;
  for (const ep of ctx.entryPoints) {
    const attached = routes.filter((r) => r.router.entryPoints.includes(ep));
    const table = (list: readonly BuiltRoute[]): Handler => {
      let entries = list.map((r) => r.entry);
      const names = ctx.entryPointMiddlewares?.[ep] ?? [];
      if (names.length > 0) entries = withEntryPointMiddlewares(view, ep, entries, names, ctx);
      return new RouterTable(entries).handler(notFound, methodNotAllowed);
    };
    const plain = table(attached.filter((r) => !routerTlsOn(r.router, ep, tls)));
    const secure = attached.some((r) => routerTlsOn(r.router, ep, tls))
      ? table(attached.filter((r) => routerTlsOn(r.router, ep, tls)))
      : notFound;
    out[ep] = (c) => (c.scheme === 'https' ? secure(c) : plain(c));
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
