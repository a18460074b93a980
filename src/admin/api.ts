/**
 * `api@internal`: Traefik's API (/api/overview, /api/entrypoints,
 * /api/http/{routers,services,middlewares}[/{name}], /api/rawdata,
 * /api/version) in Traefik's JSON shapes, from the runtime view of the
 * configuration in force. Gatehouse's own live traffic endpoints
 * (`/api/gatehouse/*`, src/admin/observe-api.ts) are mounted here too.
 */
import { sendJson, sendText } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { RequestContext } from '../http/exchange.js';
import type { RefusedSource, RuntimeMiddleware, RuntimeRouter, RuntimeService, Snapshot } from '../config/runtime.js';
import { VERSION, CODENAME } from '../version.js';
import { BodyError, readBody } from '../identity/read-body.js';
import { MAX_WEBHOOK_BODY } from '../providers/git/webhook.js';
import { sectionOf } from '../config/kinds.js';
import { callerNames, identityKind } from '../identity/index.js';
import { admissionHandler, type AdmissionReviewer } from './admission.js';
import type { ServerHealth } from '../services/types.js';
import { TLS_SECTION, type TlsSection } from '../tls/compile.js';
import { certificateViews, routerCertificates, withAcme } from '../tls/status.js';
import { tcpApi, tcpOverview } from './tcp-api.js';
import type { AcmeCertificateStatus } from '../tls/acme/types.js';
import { list } from './list.js';

export interface ApiSource {
  /** The configuration in force (runtime view). */
  view(): Snapshot;
  serverStatus(): Record<string, Record<string, 'UP' | 'DOWN'>>;
  /** Each load balancer's servers with their state and why (`serverHealth` of /api/http/services, docs/failover.md). */
  serverHealth?(): Record<string, Record<string, ServerHealth>>;
  entryPoints(): Array<{ name: string; address: string; forwardedHeaders: { insecure: boolean; trustedIPs: string[] } }>;
  providers(): string[];
  features(): { accessLog: boolean; metrics: string; tracing: string };
  startDate: string;
  /** Last provider/configuration errors (kept-last-good situations). */
  lastErrors(): string[];
  /** Whether the configuration in force is whole: refused sources and the last reload. */
  configuration(): ConfigurationStatus;
  /** `POST /api/providers/git/hook`: the delivery checked in the primary (signature, replay) → status and reason. */
  gitWebhook?: (headers: Record<string, string | string[] | undefined>, body: Buffer) => Promise<{ status: number; message: string }>;
  /** Every provider's status (Flux's model), from the primary. */
  providerStatuses?: () => Promise<unknown>;
  /** Every Key Vault secret in use: source, version, last refresh, fingerprint; never a value (from the primary). */
  secretStatuses?: () => Promise<unknown>;
  /** GET /api/redis: the Redis connection of this process (docs/redis.md); absent without --redis.endpoints. */
  redisStatus?: () => unknown;
  /** `POST /api/admission/validate`: the verdict on an AdmissionReview, from the primary (src/admin/admission.ts). */
  admission?: AdmissionReviewer;
  /** GET /api/dns: the records the DNS publisher manages (docs/dns.md), from the primary; absent without --dns.provider. */
  dnsStatus?: () => Promise<unknown>;
  /** The DNS record state of each router (`dns` of /api/http/routers). */
  dnsRouterStates?: () => Promise<Record<string, unknown>>;
  /** The same per TCP router (`/api/tcp/routers`). */
  dnsTcpRouterStates?: () => Promise<Record<string, unknown>>;
  /** The ACME engine's certificate states (states, errors, next renewal), from the primary; absent without resolvers. */
  acmeStatus?: () => Promise<unknown>;
  /** Handler of `/api/gatehouse/*` (live traffic views), when telemetry is wired. */
  gatehouse?: Handler;
}

/** `configuration` of /api/overview and /api/rawdata. */
export interface ConfigurationStatus {
  /** False when a source is refused or the last reload found errors. */
  healthy: boolean;
  /** Every file or document a provider refuses now, with the version served instead. */
  refused: RefusedSource[];
  lastReload: { revision: number; at: string; success: boolean };
}

/** The configuration status of a snapshot (null: none yet). */
export function configurationStatus(snap: Snapshot | null): ConfigurationStatus {
  if (snap === null) return { healthy: false, refused: [], lastReload: { revision: 0, at: '', success: false } };
  const refused = snap.refused ?? [];
  const success = snap.issues.every((i) => i.severity === 'warning');
  return { healthy: success && refused.length === 0, refused, lastReload: { revision: snap.revision, at: snap.createdAt, success } };
}

function routerJson(r: RuntimeRouter): Record<string, unknown> {
  const o: Record<string, unknown> = {
    entryPoints: r.entryPoints,
    ...(r.middlewares.length > 0 ? { middlewares: r.middlewares } : {}),
    service: r.service,
    rule: r.config?.rule,
    ...(r.config?.ruleSyntax !== undefined ? { ruleSyntax: r.config.ruleSyntax } : {}),
    priority: r.priority,
    ...(r.config?.tls !== undefined ? { tls: r.config.tls } : {}),
    status: r.status,
    using: r.entryPoints,
    name: r.name,
    provider: r.provider,
  };
  if (r.errors.length > 0) o.error = r.errors;
  return o;
}

function serviceJson(
  s: RuntimeService,
  status: Record<string, 'UP' | 'DOWN'> | undefined,
  health?: Record<string, ServerHealth>,
): Record<string, unknown> {
  const o: Record<string, unknown> = { ...s.config, status: s.status, usedBy: s.usedBy, name: s.name, provider: s.provider, type: s.type };
  if (s.config.loadBalancer !== undefined) {
    o.serverStatus = status ?? Object.fromEntries(s.config.loadBalancer.servers.map((x) => [x.url, 'UP']));
    if (health !== undefined) o.serverHealth = health;
  }
  if (s.errors.length > 0) o.error = s.errors;
  return o;
}

export const REDACTED = '[redacted]';

/**
 * Credentials inside a middleware's configuration, as every API shows them:
 * basicAuth/digestAuth users keep their user name, their hash is replaced;
 * a forwardAuth client key is replaced. They may come from a Secret (a v1
 * Secret or Azure Key Vault, docs/secrets.md) and the hashes are guessable
 * offline, so no API shows them.
 */
export function redactMiddlewareConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const type of ['basicAuth', 'digestAuth']) {
    const v = out[type];
    if (typeof v !== 'object' || v === null || !Array.isArray((v as { users?: unknown }).users)) continue;
    const users = (v as { users: unknown[] }).users.map((u) => {
      const line = String(u);
      const i = line.indexOf(':');
      return i < 0 ? REDACTED : `${line.slice(0, i)}:${REDACTED}`;
    });
    out[type] = { ...v, users };
  }
  const fa = out.forwardAuth as { tls?: Record<string, unknown> } | undefined;
  if (
    fa !== undefined &&
    typeof fa === 'object' &&
    fa !== null &&
    typeof fa.tls === 'object' &&
    fa.tls !== null &&
    fa.tls.key !== undefined
  ) {
    out.forwardAuth = { ...fa, tls: { ...fa.tls, key: REDACTED } };
  }
  return out;
}

function middlewareJson(m: RuntimeMiddleware): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ...redactMiddlewareConfig(m.config as unknown as Record<string, unknown>),
    status: m.status,
    usedBy: m.usedBy,
    name: m.name,
    provider: m.provider,
    type: m.type.toLowerCase(),
  };
  if (m.errors.length > 0) o.error = m.errors;
  return o;
}

/** The signature and delivery headers a webhook may carry (nothing else travels to the primary). */
const HOOK_HEADERS = [
  'x-hub-signature-256',
  'x-hub-signature',
  'x-github-delivery',
  'x-gitlab-token',
  'x-gitlab-event-uuid',
  'idempotency-key',
  'x-signature',
  'x-delivery-id',
] as const;

function gitHook(ctx: RequestContext, src: ApiSource): void {
  if (ctx.method !== 'POST') {
    sendJson(ctx, 405, { message: 'the git webhook takes POST' }, { allow: 'POST' });
    return;
  }
  const hook = src.gitWebhook;
  if (hook === undefined) {
    sendJson(ctx, 404, { message: 'the git webhook is not enabled: set --providers.git.url and --providers.git.webhook.secretfile' });
    return;
  }
  const declared = Number(ctx.req.headers['content-length'] ?? '0');
  if (declared > MAX_WEBHOOK_BODY) {
    sendJson(ctx, 413, { message: `the body is larger than ${MAX_WEBHOOK_BODY} bytes` });
    return;
  }
  readBody(ctx.body, MAX_WEBHOOK_BODY, 10_000).then(
    (body) => {
      const headers: Record<string, string | string[] | undefined> = {};
      for (const h of HOOK_HEADERS) if (ctx.req.headers[h] !== undefined) headers[h] = ctx.req.headers[h];
      hook(headers, body).then(
        (r) => sendJson(ctx, r.status, { message: r.message }),
        (err: unknown) =>
          sendJson(ctx, 503, { message: `the webhook could not be handled: ${err instanceof Error ? err.message : String(err)}` }),
      );
    },
    (err: unknown) => {
      const reason = err instanceof BodyError ? err.reason : 'aborted';
      if (reason === 'too-large') sendJson(ctx, 413, { message: `the body is larger than ${MAX_WEBHOOK_BODY} bytes` });
      else sendJson(ctx, 400, { message: `the body could not be read (${reason})` });
    },
  );
}

/** The routers, middlewares and services of /api/rawdata (also what `gatehouse diff` compares). */
export function rawItems(
  view: Snapshot,
  status: Record<string, Record<string, 'UP' | 'DOWN'>> = {},
): { routers: Record<string, unknown>; middlewares: Record<string, unknown>; services: Record<string, unknown> } {
  return {
    routers: Object.fromEntries(Object.values(view.routers).map((r) => [r.name, routerJson(r)])),
    middlewares: Object.fromEntries(Object.values(view.middlewares).map((m) => [m.name, middlewareJson(m)])),
    services: Object.fromEntries(Object.values(view.services).map((s) => [s.name, serviceJson(s, status[s.name])])),
  };
}

function counts(items: Array<{ status: string }>): { total: number; warnings: number; errors: number } {
  return {
    total: items.length,
    warnings: items.filter((i) => i.status === 'warning').length,
    errors: items.filter((i) => i.status === 'disabled').length,
  };
}

export function createApiHandler(src: ApiSource): Handler {
  return (ctx) => {
    if (ctx.path === '/api/providers/git/hook') {
      gitHook(ctx, src);
      return;
    }
    if (ctx.path === '/api/admission/validate') {
      admissionHandler(ctx, src.admission ?? null);
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      sendText(ctx, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    if (ctx.path === '/api/gatehouse/callers') {
      // Client ids → display names, for the CLI's caller columns (src/identity/callers.ts).
      sendJson(ctx, 200, callerNames(sectionOf(src.view(), identityKind)));
      return;
    }
    if (src.gatehouse !== undefined && ctx.path.startsWith('/api/gatehouse/')) {
      src.gatehouse(ctx);
      return;
    }
    const path = ctx.path.replace(/\/+$/, '');
    const view = src.view();
    // /api/tcp/{routers,services,middlewares}[/{name}] (docs/tcp.md).
    if (tcpApi(ctx, path, view, src.dnsTcpRouterStates)) return;
    const st = src.serverStatus();
    const sh = path.startsWith('/api/http/services') ? (src.serverHealth?.() ?? {}) : {};
    if (path === '/api/version') {
      sendJson(ctx, 200, { Version: VERSION, Codename: CODENAME, startDate: src.startDate });
      return;
    }
    if (path === '/api/overview') {
      sendJson(ctx, 200, {
        http: {
          routers: counts(Object.values(view.routers)),
          services: counts(Object.values(view.services)),
          middlewares: counts(Object.values(view.middlewares)),
        },
        tcp: tcpOverview(view),
        udp: { routers: counts([]), services: counts([]) },
        features: { ...src.features(), hub: false },
        providers: src.providers(),
        revision: view.revision,
        errors: src.lastErrors(),
        configuration: src.configuration(),
      });
      return;
    }
    if (path === '/api/redis') {
      sendJson(ctx, 200, src.redisStatus?.() ?? { enabled: false });
      return;
    }
    if (path === '/api/secrets') {
      if (src.secretStatuses === undefined) sendJson(ctx, 200, []);
      else
        src.secretStatuses().then(
          (list) => sendJson(ctx, 200, list),
          (err: unknown) =>
            sendJson(ctx, 503, { message: `secret status unavailable: ${err instanceof Error ? err.message : String(err)}` }),
        );
      return;
    }
    if (path === '/api/providers' && src.providerStatuses !== undefined) {
      src.providerStatuses().then(
        (list) => sendJson(ctx, 200, list),
        (err: unknown) =>
          sendJson(ctx, 503, { message: `provider status unavailable: ${err instanceof Error ? err.message : String(err)}` }),
      );
      return;
    }
    if (path === '/api/entrypoints') {
      list(ctx, src.entryPoints() as unknown as Array<Record<string, unknown>>);
      return;
    }
    if (path.startsWith('/api/entrypoints/')) {
      const name = decodeURIComponent(path.slice('/api/entrypoints/'.length));
      const ep = src.entryPoints().find((e) => e.name === name);
      if (ep === undefined) sendJson(ctx, 404, { message: `entry point not found: ${name}` });
      else sendJson(ctx, 200, ep);
      return;
    }
    if (path === '/api/dns') {
      // Not enabled is an answer, not a missing endpoint (as /api/redis): the dashboard asks on every refresh.
      if (src.dnsStatus === undefined)
        sendJson(ctx, 200, {
          enabled: false,
          records: [],
          message: 'DNS publishing is not enabled: start with --dns.provider (docs/dns.md)',
        });
      else
        src.dnsStatus().then(
          (s) => sendJson(ctx, 200, s),
          (err: unknown) => sendJson(ctx, 503, { message: `DNS status unavailable: ${err instanceof Error ? err.message : String(err)}` }),
        );
      return;
    }
    if (path === '/api/tls/certificates') {
      const tls = view.sections?.[TLS_SECTION] as TlsSection | undefined;
      const views = tls === undefined ? [] : certificateViews(tls, view.routers);
      if (src.acmeStatus === undefined) sendJson(ctx, 200, views);
      else
        src.acmeStatus().then(
          (states) => sendJson(ctx, 200, withAcme(views, Array.isArray(states) ? (states as AcmeCertificateStatus[]) : [])),
          // The primary did not answer: the certificates served, without their ACME order state.
          () => sendJson(ctx, 200, views),
        );
      return;
    }
    if (path === '/api/rawdata') {
      sendJson(ctx, 200, { ...rawItems(view, st), configuration: src.configuration() });
      return;
    }
    const m = /^\/api\/http\/(routers|services|middlewares)(?:\/(.+))?$/.exec(path);
    if (m !== null) {
      const kind = m[1] as 'routers' | 'services' | 'middlewares';
      const tls = kind === 'routers' ? (view.sections?.[TLS_SECTION] as TlsSection | undefined) : undefined;
      const certs = tls !== undefined ? routerCertificates(tls, view.routers) : {};
      const toJson = (x: unknown): Record<string, unknown> =>
        kind === 'routers'
          ? withCertificate(routerJson(x as RuntimeRouter), certs[(x as RuntimeRouter).name])
          : kind === 'services'
            ? serviceJson(x as RuntimeService, st[(x as RuntimeService).name], sh[(x as RuntimeService).name])
            : middlewareJson(x as RuntimeMiddleware);
      const table = view[kind] as Record<string, unknown>;
      const answer = (dns: Record<string, unknown>): void => {
        const json = (x: unknown): Record<string, unknown> => {
          const j = toJson(x);
          const d = kind === 'routers' ? dns[(x as RuntimeRouter).name] : undefined;
          return d === undefined ? j : { ...j, dns: d };
        };
        if (m[2] === undefined) {
          list(ctx, Object.values(table).map(json));
          return;
        }
        const name = decodeURIComponent(m[2]);
        const item = table[name];
        if (item === undefined) sendJson(ctx, 404, { message: `${kind.slice(0, -1)} not found: ${name}` });
        else sendJson(ctx, 200, json(item));
      };
      // Routers carry the state of their DNS record when the publisher runs (docs/dns.md).
      if (kind === 'routers' && src.dnsRouterStates !== undefined) src.dnsRouterStates().then(answer, () => answer({}));
      else answer({});
      return;
    }
    sendJson(ctx, 404, { message: `no such API endpoint: ${ctx.path}` });
  };
}

/** A TLS router's entry names the certificate a client gets for its host (traefik #6108). */
function withCertificate(
  json: Record<string, unknown>,
  served: ReturnType<typeof routerCertificates>[string] | undefined,
): Record<string, unknown> {
  if (served === undefined) return json;
  const c = served.certificate;
  return {
    ...json,
    tlsCertificate:
      c === undefined
        ? null
        : {
            host: served.host,
            names: c.names,
            notAfter: c.notAfter,
            source: c.source,
            fingerprint: c.id,
            ...(c.resolver !== undefined ? { resolver: c.resolver } : {}),
          },
  };
}
