/**
 * The internal services of one serving process (Traefik's internal
 * ServiceBuilder): api@internal (with the dashboard when it is enabled),
 * dashboard@internal, ping@internal, prometheus@internal, identity@internal
 * and noop@internal, each wired to the state it reports on.
 */
import type { Handler } from '../http/handler.js';
import { answer, sendText } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';
import type { Snapshot } from '../config/runtime.js';
import { createApiHandler, configurationStatus } from '../admin/api.js';
import type { AdmissionReviewer } from '../admin/admission.js';
import { formatIssue } from '../errors.js';
import { createPingHandler } from '../admin/ping.js';
import { createDashboardHandler } from '../admin/dashboard.js';
import type { Gateway } from './gateway.js';
import type { ServeOptions } from './options.js';

export interface InternalServiceDeps {
  /** The gateway of this process (set once it exists). */
  gateway: () => Gateway | null;
  /** The last snapshot this process received. */
  snapshot: () => Snapshot | null;
  /** Names of the providers that run. */
  providers: () => string[];
  /** `/api/gatehouse/*` */
  observeApi: Handler;
  /** Every provider's status, asked of the primary. */
  providerStatuses?: () => Promise<unknown>;
  /** The git webhook, checked in the primary. */
  gitWebhook?: (headers: Record<string, string | string[] | undefined>, body: Buffer) => Promise<{ status: number; message: string }>;
  /** POST /api/admission/validate: the verdict, made in the primary (src/admin/admission.ts). */
  admission?: AdmissionReviewer;
  /** GET /api/secrets, answered by the primary (which holds the Key Vault secrets). */
  secretStatuses?: () => Promise<unknown>;
  prometheus: Handler;
  /** identity@internal, when the issuer is enabled. */
  identity: Handler | null;
  /** GET /api/redis: this process's Redis connection (docs/redis.md); absent without --redis.endpoints. */
  redisStatus?: () => unknown;
  /** Asks the primary (where the ACME engine runs) for the key authorization of an http-01 token. */
  acmeHttp01?: (token: string) => Promise<string | null>;
  /** The ACME engine's certificate states (from the primary). */
  acmeStatus?: () => Promise<unknown>;
  /** GET /api/dns and each router's record state (the publisher runs in the primary). */
  dnsStatus?: () => Promise<unknown>;
  dnsRouterStates?: () => Promise<Record<string, unknown>>;
  dnsTcpRouterStates?: () => Promise<Record<string, unknown>>;
}

export function createInternalServices(o: ServeOptions, deps: InternalServiceDeps): Record<string, Handler> {
  const startDate = new Date().toISOString();
  const emptyView = (): Snapshot => ({
    revision: 0,
    createdAt: startDate,
    routers: {},
    middlewares: {},
    services: {},
    serversTransports: {},
    resources: [],
    issues: [],
  });
  const dashboard = createDashboardHandler();
  const api = createApiHandler({
    view: () => deps.gateway()?.current?.view ?? emptyView(),
    serverStatus: () => deps.gateway()?.current?.serverStatus() ?? {},
    serverHealth: () => deps.gateway()?.current?.serverHealth() ?? {},
    entryPoints: () =>
      o.entryPoints.map((e) => ({
        name: e.name,
        address: `${e.host ?? ''}:${e.port}`,
        forwardedHeaders: { insecure: e.forwarded.insecure, trustedIPs: [...e.forwarded.trustedIPs] },
      })),
    providers: deps.providers,
    features: () => ({ accessLog: o.accessLog !== null, metrics: o.metrics !== null ? 'Prometheus' : '', tracing: '' }),
    startDate,
    lastErrors: () => (deps.snapshot()?.issues ?? []).filter((i) => i.severity !== 'warning').map(formatIssue),
    configuration: () => configurationStatus(deps.snapshot()),
    gatehouse: deps.observeApi,
    ...(deps.providerStatuses !== undefined ? { providerStatuses: deps.providerStatuses } : {}),
    ...(deps.gitWebhook !== undefined && o.git !== null ? { gitWebhook: deps.gitWebhook } : {}),
    ...(deps.secretStatuses !== undefined ? { secretStatuses: deps.secretStatuses } : {}),
    ...(deps.admission !== undefined ? { admission: deps.admission } : {}),
    ...(deps.redisStatus !== undefined ? { redisStatus: deps.redisStatus } : {}),
    ...(deps.acmeStatus !== undefined && o.acme.length > 0 ? { acmeStatus: deps.acmeStatus } : {}),
    ...(deps.dnsStatus !== undefined ? { dnsStatus: deps.dnsStatus } : {}),
    ...(deps.dnsRouterStates !== undefined ? { dnsRouterStates: deps.dnsRouterStates } : {}),
    ...(deps.dnsTcpRouterStates !== undefined ? { dnsTcpRouterStates: deps.dnsTcpRouterStates } : {}),
  });
  const acmeHttp01 = deps.acmeHttp01;
  return {
    'noop@internal': (ctx) => answer(ctx, 'GH_NOOP'),
    // As in Traefik, api@internal also serves the dashboard when it is enabled.
    'api@internal': o.api.dashboard ? (ctx) => (ctx.path.startsWith('/api') ? api(ctx) : dashboard(ctx)) : api,
    'dashboard@internal': dashboard,
    'ping@internal': createPingHandler(() => deps.gateway()?.isShuttingDown ?? false, o.pingTerminatingStatus),
    'prometheus@internal': deps.prometheus,
    ...(deps.identity !== null ? { 'identity@internal': deps.identity } : {}),
    // ACME http-01 (RFC 8555 §8.3): the key authorization of a pending challenge, else 404.
    ...(acmeHttp01 !== undefined
      ? {
          'acme-http@internal': (ctx: RequestContext) => {
            const token = ctx.path.slice('/.well-known/acme-challenge/'.length);
            acmeHttp01(token).then(
              (v) =>
                v === null
                  ? sendText(ctx, 404, 'no such ACME challenge\n')
                  : sendText(ctx, 200, v, { 'content-type': 'application/octet-stream' }),
              () => sendText(ctx, 503, 'ACME challenge lookup failed\n'),
            );
          },
        }
      : {}),
  };
}
