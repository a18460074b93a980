/**
 * The built-in identity provider, served as the internal service
 * `identity@internal`: token endpoint, discovery documents and keys per tenant.
 */
import type { Handler } from '../http/handler.js';
import type { RequestContext } from '../http/exchange.js';
import { sendJson } from '../http/answers.js';
import type { Logger } from '../log.js';
import { emptyIdentityConfig, type IdentityConfig, type TenantEntry } from './compile.js';
import { SigningKeyStore, type KeyStore } from './signing-keys.js';
import { SharedKeyStore } from './shared-keys.js';
import { SharedFailureLimiter } from './shared-failure-limiter.js';
import type { SharedRedis } from './shared-redis.js';
import { TokenEndpoint } from './token-endpoint.js';
import { FailureLimiter } from './failure-limiter.js';
import { aadError, shown } from './aad-errors.js';
import { discoveryV1, discoveryV2, jwks } from './metadata.js';

export interface IdentityProviderOptions {
  dataDir: string;
  /** e.g. `https://login.example.com`; default: derived from each request (scheme + Host). */
  issuerBaseUrl?: string;
  log: Logger;
  /** Epoch ms (tests move time). */
  now?: () => number;
  /** Signing-key rotation period, default 30 days. */
  rotationIntervalMs?: number;
  /** Failed authentications per client and source before a lock-out, default 10 per 5 minutes. */
  maxFailures?: number;
  failureWindowMs?: number;
  /**
   * `--redis.endpoints`: signing keys and failure counters shared by every
   * replica through this connection (shared-keys.ts); without it, the data
   * directory's file and this process's memory.
   */
  redis?: SharedRedis;
  /** How often a replica rereads the shared keys (besides the pub/sub message), default 10 s. */
  keyReloadIntervalMs?: number;
}

const live = new Set<IdentityProvider>();

/** The providers of this process (tests reach a gateway's issuer through it, e.g. to force a rotation). */
export function identityProviders(): IdentityProvider[] {
  return [...live];
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
const MAX_LIFETIME_MS = 86_400_000;
const DAY = 86_400_000;

type Route = 'token-v2' | 'token-v1' | 'disco-v2' | 'disco-v1' | 'keys-v2' | 'keys-v1';
const ROUTES: Record<string, Route> = Object.assign(Object.create(null) as Record<string, Route>, {
  'oauth2/v2.0/token': 'token-v2',
  'oauth2/token': 'token-v1',
  'v2.0/.well-known/openid-configuration': 'disco-v2',
  '.well-known/openid-configuration': 'disco-v1',
  'discovery/v2.0/keys': 'keys-v2',
  'discovery/keys': 'keys-v1',
});

export class IdentityProvider {
  private config: IdentityConfig = emptyIdentityConfig;
  private readonly keys: KeyStore;
  private readonly tokens: TokenEndpoint;
  private readonly now: () => number;
  private readonly base: string | undefined;
  private readonly rotationMs: number;
  private timer: NodeJS.Timeout | null = null;
  private rotating: Promise<unknown> | null = null;
  private closed = false;
  readonly handler: Handler;

  constructor(private readonly opts: IdentityProviderOptions) {
    this.now = opts.now ?? Date.now;
    this.base = opts.issuerBaseUrl?.replace(/\/+$/, '');
    this.rotationMs = opts.rotationIntervalMs ?? 30 * DAY;
    // A retired key stays published for the longest token lifetime plus a margin.
    const retainMs = MAX_LIFETIME_MS + 10 * 60_000;
    const maxFailures = opts.maxFailures ?? 10;
    const windowMs = opts.failureWindowMs ?? 5 * 60_000;
    const local = new FailureLimiter(maxFailures, windowMs, this.now);
    this.keys =
      opts.redis !== undefined
        ? new SharedKeyStore({
            redis: opts.redis,
            log: opts.log,
            now: this.now,
            retainMs,
            dataDir: opts.dataDir,
            ...(opts.keyReloadIntervalMs !== undefined ? { reloadIntervalMs: opts.keyReloadIntervalMs } : {}),
          })
        : new SigningKeyStore(opts.dataDir, this.now, retainMs);
    const limiter = opts.redis !== undefined ? new SharedFailureLimiter(opts.redis, local, maxFailures, windowMs) : local;
    this.tokens = new TokenEndpoint({ keys: this.keys, log: opts.log, now: this.now, limiter });
    this.handler = (ctx) => this.serve(ctx);
  }

  /** Load or create the signing keys and schedule rotation. */
  async init(): Promise<void> {
    await this.keys.load();
    live.add(this);
    const active = this.keys.active();
    if (active !== undefined && this.now() - active.createdAt >= this.rotationMs)
      await this.rotate(this.rotationMs).catch((err: Error) => this.opts.log.error({ err: err.message }, 'identity: key rotation failed'));
    this.schedule();
  }

  /** Replace the tenant/application snapshot. */
  update(config: IdentityConfig): void {
    this.config = config;
  }

  /** Rotate now (also used by the schedule). */
  async rotate(olderThanMs?: number): Promise<void> {
    const was = this.keys.active()?.kid;
    const p = this.keys.rotate(olderThanMs);
    this.rotating = p;
    try {
      const k = await p;
      if (k !== undefined && k.kid !== was) this.opts.log.info({ kid: k.kid }, 'identity: signing key rotated');
    } finally {
      this.rotating = null;
    }
  }

  /** kid of the key signing new tokens, and every published kid. */
  keyIds(): { active: string | undefined; published: string[] } {
    return { active: this.keys.active()?.kid, published: this.keys.published().map((k) => k.kid) };
  }

  /** The data directory this issuer was started with (tests tell gateways apart by it). */
  get dataDir(): string {
    return this.opts.dataDir;
  }

  async close(): Promise<void> {
    this.closed = true;
    live.delete(this);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.rotating !== null) await this.rotating.catch(() => undefined);
    await this.keys.close();
  }

  private schedule(): void {
    if (this.closed) return;
    const active = this.keys.active();
    // No key (shared keys not reachable yet): the store's reload brings one; check again later.
    const due = active === undefined ? 10_000 : active.createdAt + this.rotationMs - this.now();
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const current = this.keys.active();
        const run =
          current === undefined || this.now() - current.createdAt < this.rotationMs ? Promise.resolve() : this.rotate(this.rotationMs);
        run
          .catch((err: Error) => this.opts.log.error({ err: err.message }, 'identity: key rotation failed'))
          .finally(() => this.schedule());
      },
      Math.max(1000, Math.min(due, 2 ** 31 - 1)),
    );
    this.timer.unref();
  }

  private baseFor(ctx: RequestContext): string | null {
    if (this.base !== undefined) return this.base;
    const host = ctx.req.headers.host;
    if (typeof host !== 'string' || !HOST.test(host)) return null;
    return `${ctx.scheme}://${host.toLowerCase()}`;
  }

  private serve(ctx: RequestContext): void {
    const path = ctx.path;
    const slash = path.indexOf('/', 1);
    const route = slash < 0 ? undefined : ROUTES[path.slice(slash + 1)];
    if (route === undefined) {
      sendJson(ctx, 404, { error: 'not_found', error_description: 'No identity endpoint at this path.' });
      return;
    }
    const base = this.baseFor(ctx);
    if (base === null) {
      sendJson(ctx, 400, { error: 'invalid_request', error_description: 'Invalid Host header.' });
      return;
    }
    let segment: string;
    try {
      segment = decodeURIComponent(path.slice(1, slash));
    } catch {
      segment = path.slice(1, slash);
    }
    const tenant = this.config.tenants.get(segment.toLowerCase());
    if (tenant === undefined) {
      aadError(
        ctx,
        this.now(),
        400,
        'invalid_request',
        90002,
        `Tenant '${shown(segment)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
      return;
    }
    if (route === 'token-v2' || route === 'token-v1') {
      this.tokens.handle(ctx, tenant, base, route === 'token-v2' ? 2 : 1).catch((err: Error) => {
        this.opts.log.error({ err: err.message }, 'identity: token endpoint failed');
        if (!ctx.rw.headersSent) aadError(ctx, this.now(), 500, 'server_error', 90100, 'An internal error occurred.');
      });
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      sendJson(ctx, 405, { error: 'invalid_request', error_description: 'Only GET is allowed.' }, { allow: 'GET, HEAD' });
      return;
    }
    this.metadata(ctx, route, tenant, base);
  }

  private metadata(ctx: RequestContext, route: Route, t: TenantEntry, base: string): void {
    const cache = { 'cache-control': 'max-age=3600, private', 'access-control-allow-origin': '*' };
    if (route === 'disco-v2') sendJson(ctx, 200, discoveryV2(base, t), cache);
    else if (route === 'disco-v1') sendJson(ctx, 200, discoveryV1(base, t), cache);
    else sendJson(ctx, 200, jwks(this.keys.published(), route === 'keys-v2' ? `${base}/${t.tenantId}/v2.0` : undefined), cache);
  }
}
