/**
 * The `internal` provider: routers Traefik creates for its own services when
 * they are exposed directly on an entry point (`--api.insecure`, `--ping`,
 * `--metrics.prometheus`, and Gatehouse's `--identity.insecure`).
 */
import { emptyFragment, type ConfigFragment } from './model.js';

const MAX = 2147483647;

export interface InternalRoutes {
  /** Entry point for api@internal + dashboard@internal (`--api.insecure`), or null. */
  api: string | null;
  dashboard: boolean;
  ping: string | null;
  metrics: string | null;
  identity: string | null;
  /** Entry points that answer ACME http-01 challenges (`certificatesResolvers.<n>.acme.httpChallenge.entryPoint`). */
  acmeHttp?: readonly string[];
  /** entryPoints.<name>.http.redirections.entryPoint */
  redirections?: ReadonlyArray<{ from: string; scheme: string; port: number; permanent: boolean; priority: number }>;
}

export function internalFragment(r: InternalRoutes): ConfigFragment {
  const rd = r;
  const f = emptyFragment('internal');
  const src = { file: '(static configuration)' };
  if (r.ping !== null)
    f.routers.ping = {
      value: { entryPoints: [r.ping], rule: 'PathPrefix(`/ping`)', priority: MAX, service: 'ping@internal' },
      source: src,
    };
  if (r.metrics !== null)
    f.routers.prometheus = {
      value: { entryPoints: [r.metrics], rule: 'PathPrefix(`/metrics`)', priority: MAX, service: 'prometheus@internal' },
      source: src,
    };
  if (r.api !== null) {
    f.routers.api = {
      value: { entryPoints: [r.api], rule: 'PathPrefix(`/api`)', priority: MAX - 1, service: 'api@internal' },
      source: src,
    };
    if (r.dashboard)
      f.routers.dashboard = {
        value: { entryPoints: [r.api], rule: 'PathPrefix(`/`)', priority: MAX - 3, service: 'dashboard@internal' },
        source: src,
      };
  }
  if (r.identity !== null) {
    // Tenant-scoped identity endpoints: /{tenant}/oauth2/…, /{tenant}/v2.0/…, /{tenant}/discovery/…
    f.routers.identity = {
      value: {
        entryPoints: [r.identity],
        rule: 'PathPrefix(`/{tenant:[^/]+}/oauth2/`) || PathPrefix(`/{tenant:[^/]+}/v2.0/`) || PathPrefix(`/{tenant:[^/]+}/discovery/`) || PathPrefix(`/{tenant:[^/]+}/.well-known/`)',
        priority: MAX - 2,
        service: 'identity@internal',
      },
      source: src,
    };
  }
  if (r.acmeHttp !== undefined && r.acmeHttp.length > 0)
    // Above the redirections (MAX - 1 by default), as Traefik's acme-http@internal.
    f.routers['acme-http'] = {
      value: {
        entryPoints: [...r.acmeHttp],
        rule: 'PathPrefix(`/.well-known/acme-challenge/`)',
        priority: MAX,
        service: 'acme-http@internal',
      },
      source: src,
    };
  for (const r of rd.redirections ?? []) {
    const mw = `redirect-${r.from}`;
    f.middlewares[mw] = { value: { redirectScheme: { scheme: r.scheme, port: String(r.port), permanent: r.permanent } }, source: src };
    f.routers[`${r.from}-to-${r.scheme}`] = {
      value: { entryPoints: [r.from], rule: 'PathPrefix(`/`)', priority: r.priority, middlewares: [mw], service: 'noop@internal' },
      source: src,
    };
  }
  return f;
}
