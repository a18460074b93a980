/**
 * Traefik's TCP API from the snapshot's `tcp` section (docs/tcp.md):
 * `GET /api/tcp/routers`, `/api/tcp/routers/{name}`, `/api/tcp/services[/{name}]`,
 * `/api/tcp/middlewares[/{name}]`, and the `tcp` counts of `/api/overview`.
 * Mounted by src/admin/api.ts: `if (tcpApi(ctx, path, view)) return;` and
 * `tcp: tcpOverview(view)` in the overview.
 */
import { sendJson } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';
import type { Snapshot } from '../config/runtime.js';
import { tcpSectionOf, type TcpRuntimeMiddleware, type TcpRuntimeRouter, type TcpRuntimeService } from '../tcp/compile.js';
import { list } from './list.js';

type Json = Record<string, unknown>;

function counts(items: Array<{ status: string }>): { total: number; warnings: number; errors: number } {
  return {
    total: items.length,
    warnings: items.filter((i) => i.status === 'warning').length,
    errors: items.filter((i) => i.status === 'disabled').length,
  };
}

/** `/api/overview`'s `tcp` member. */
export function tcpOverview(view: Snapshot): Json {
  const s = tcpSectionOf(view);
  return {
    routers: counts(Object.values(s?.routers ?? {})),
    services: counts(Object.values(s?.services ?? {})),
    middlewares: counts(Object.values(s?.middlewares ?? {})),
  };
}

export function tcpRouterJson(r: TcpRuntimeRouter): Json {
  return {
    entryPoints: r.config.entryPoints ?? r.entryPoints,
    ...(r.middlewares.length > 0 ? { middlewares: r.middlewares } : {}),
    service: r.config.service,
    rule: r.config.rule,
    ruleSyntax: r.ruleSyntax,
    priority: r.priority,
    ...(r.config.tls !== undefined ? { tls: r.config.tls } : {}),
    ...(r.errors.length > 0 ? { error: r.errors } : {}),
    status: r.status,
    using: r.entryPoints,
    name: r.name,
    provider: r.provider,
  };
}

export function tcpServiceJson(s: TcpRuntimeService): Json {
  return {
    ...s.config,
    ...(s.errors.length > 0 ? { error: s.errors } : {}),
    status: s.status,
    usedBy: s.usedBy,
    name: s.name,
    provider: s.provider,
    type: s.type,
  };
}

export function tcpMiddlewareJson(m: TcpRuntimeMiddleware): Json {
  return {
    ...m.config,
    ...(m.errors.length > 0 ? { error: m.errors } : {}),
    status: m.status,
    usedBy: m.usedBy,
    name: m.name,
    provider: m.provider,
    type: m.type,
  };
}

/** Answers `/api/tcp/...` (`path` without a trailing slash); false when `path` is not one of them. */
export function tcpApi(
  ctx: RequestContext,
  path: string,
  view: Snapshot,
  /** Per TCP router, the state of its DNS record when the publisher runs (docs/dns.md). */
  dnsStates?: () => Promise<Record<string, unknown>>,
): boolean {
  const m = /^\/api\/tcp\/(routers|services|middlewares)(?:\/(.+))?$/.exec(path);
  if (m === null) return false;
  if (m[1] === 'routers' && dnsStates !== undefined) {
    const rest = m[2];
    dnsStates().then(
      (dns) => answerTcp(ctx, view, 'routers', rest, dns),
      () => answerTcp(ctx, view, 'routers', rest, {}),
    );
    return true;
  }
  answerTcp(ctx, view, m[1] as 'routers' | 'services' | 'middlewares', m[2], {});
  return true;
}

function answerTcp(
  ctx: RequestContext,
  view: Snapshot,
  kind: 'routers' | 'services' | 'middlewares',
  rest: string | undefined,
  dns: Record<string, unknown>,
): void {
  const s = tcpSectionOf(view);
  const withDns = (name: string, j: Json): Json => (dns[name] === undefined ? j : { ...j, dns: dns[name] });
  const items: Array<[string, Json]> =
    kind === 'routers'
      ? Object.values(s?.routers ?? {}).map((r) => [r.name, withDns(r.name, tcpRouterJson(r))])
      : kind === 'services'
        ? Object.values(s?.services ?? {}).map((x) => [x.name, tcpServiceJson(x)])
        : Object.values(s?.middlewares ?? {}).map((x) => [x.name, tcpMiddlewareJson(x)]);
  if (rest === undefined) {
    list(
      ctx,
      items.map(([, j]) => j),
    );
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    name = rest;
  }
  const hit = items.find(([n]) => n === name);
  if (hit === undefined) sendJson(ctx, 404, { message: `${kind.slice(0, -1)} not found` });
  else sendJson(ctx, 200, hit[1]);
}
