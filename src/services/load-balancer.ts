/**
 * Traefik's loadBalancer service: its servers picked by a strategy (smooth
 * weighted round robin, power of two choices, highest random weight), optional
 * sticky sessions by cookie, active health checks (probes) and passive ones
 * (failed requests take a server out for `failureWindow`). With Front Door's
 * origin-group settings (a server's `priority`, `latencySensitivity`,
 * `allDown`) the strategy runs over the servers `OriginGroup` keeps in
 * rotation instead (origin-group.ts, docs/failover.md); without them nothing
 * changes.
 */
import { createHash } from 'node:crypto';
import type { LoadBalancerConfig, ServersTransportConfig } from '../config/schema.js';
import { answer } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { ForwardingWriter } from '../http/response-writer.js';
import { proxyRequest, type ProxyDone, type ProxyOptions, type ProxyTarget, type UpstreamDispatcher } from '../upstream/proxy.js';
import type { PoolSet } from '../upstream/pools.js';
import { parseDuration } from '../util/duration.js';
import { HealthChecker, type HealthTarget } from './health-check.js';
import { hrwScore } from './hrw.js';
import { OriginGroup, usesOriginGroup } from './origin-group.js';
import { PassiveHealth } from './passive-health.js';
import type { ServerHealth } from './types.js';
import { workerPhase, type WorkerPhase } from './worker-phase.js';
import type { Logger } from '../log.js';

export interface Server extends ProxyTarget, HealthTarget {
  readonly weight: number;
  /** Front Door's priority (1 to 5; 1 when not set). */
  readonly priority: number;
  /** The server's own proxy options when it has a `hostHeader`; null: the service's. */
  readonly proxyOptions: ProxyOptions | null;
  /** Smooth-WRR running weight. */
  current: number;
  /** Sticky cookie value for this server. */
  readonly stickyValue: string;
  /** Requests in flight (p2c). */
  inflight: number;
  /** Set when the URL cannot be dialled (a port above 65535, which Traefik accepts): every request answers 502. */
  readonly unreachable: boolean;
}

export interface LoadBalancerDeps {
  name: string;
  pools: PoolSet;
  transport: ServersTransportConfig | undefined;
  transportName: string;
  log: Logger;
  onClose(fn: () => void): void;
  onServerStatus?: (service: string, url: string, up: boolean) => void;
  /** This process's place among the workers (default: read from the process, see worker-phase.ts). */
  phase?: WorkerPhase;
}

export interface BuiltLoadBalancer {
  handler: Handler;
  servers: readonly Server[];
  /** True when at least one server is healthy (for weighted/failover parents). */
  healthy(): boolean;
  /** Whether a parent may follow this service's health (Traefik: only with `healthCheck`). */
  readonly reportsHealth: boolean;
  /** url → the server's health and why, for the API. */
  serverHealth(): Record<string, ServerHealth>;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** A URL Go parses but nobody can dial: `http://127.0.0.1:8989474` (Traefik's tests use it for a failing backend). */
export function unreachablePort(url: string): boolean {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/i.exec(url);
  return m !== null && Number(m[1]) > 65535;
}

const NO_DISPATCHER: UpstreamDispatcher = {
  dispatch() {
    throw new Error('unreachable server');
  },
  close: async () => {},
  destroy: async () => {},
};

export function buildLoadBalancer(cfg: LoadBalancerConfig, deps: LoadBalancerDeps): BuiltLoadBalancer {
  const ft = deps.transport?.forwardingTimeouts;
  const opts: ProxyOptions = {
    passHostHeader: cfg.passHostHeader ?? true,
    hostHeader: cfg.hostHeader,
    headersTimeout: ft?.responseHeaderTimeout !== undefined ? parseDuration(ft.responseHeaderTimeout) : 0,
    bodyTimeout: ft?.readIdleTimeout !== undefined ? parseDuration(ft.readIdleTimeout) : 300_000,
  };
  const servers: Server[] = cfg.servers.map((s) => {
    const own = {
      weight: s.weight ?? 1,
      priority: s.priority ?? 1,
      probeHost: s.hostHeader,
      proxyOptions: s.hostHeader !== undefined ? { ...opts, hostHeader: s.hostHeader } : null,
      current: 0,
      healthy: true,
      stickyValue: hash(s.url),
      inflight: 0,
    };
    if (unreachablePort(s.url)) return { ...own, url: s.url, basePath: '', authority: '', dispatcher: NO_DISPATCHER, unreachable: true };
    const u = new URL(s.url);
    const basePath = u.pathname === '/' || u.pathname === '' ? '' : u.pathname.replace(/\/$/, '');
    return {
      ...own,
      url: s.url,
      basePath,
      authority: u.host,
      dispatcher: deps.pools.get(s.url, deps.transport, deps.transportName),
      unreachable: false,
    };
  });
  // Front Door's origin group: only when the configuration uses one of its settings (Traefik's behaviour otherwise).
  const group = usesOriginGroup(cfg)
    ? new OriginGroup(servers, {
        service: deps.name,
        latencySensitivity: cfg.latencySensitivity ?? 0,
        allDown: cfg.allDown,
        log: deps.log,
      })
    : null;
  // A new rotation starts the smooth round robin afresh (at this worker's phase), so the weights hold from the change on.
  let restartRoundRobin = (): void => {};
  const regroup = (): void => {
    if (group?.update() === true) restartRoundRobin();
  };
  const setHealth = (t: HealthTarget, up: boolean): void => {
    regroup();
    deps.onServerStatus?.(deps.name, t.url, up);
  };
  if (cfg.healthCheck !== undefined && servers.length > 0) {
    // A server no probe can reach is down from the start (Traefik's probe would fail).
    for (const s of servers)
      if (s.unreachable) {
        s.healthy = false;
        s.downReason = `port of "${s.url}" is above 65535: no probe can reach it`;
      }
    regroup();
    const hc = new HealthChecker({
      service: deps.name,
      config: cfg.healthCheck,
      targets: servers.filter((s) => !s.unreachable),
      log: deps.log,
      onChange: setHealth,
      // A new latency measurement may move the band (health changes regroup in onChange).
      ...(group !== null ? { onProbe: regroup } : {}),
    });
    hc.start();
    deps.onClose(() => hc.close());
  }
  const passive =
    cfg.passiveHealthCheck !== undefined
      ? new PassiveHealth({
          service: deps.name,
          config: cfg.passiveHealthCheck,
          // With active checks, probes bring a server back (Traefik's rule); otherwise the window's end does.
          restore: cfg.healthCheck === undefined,
          log: deps.log,
          onChange: setHealth,
        })
      : null;
  if (passive !== null) deps.onClose(() => passive.close());
  const sticky = cfg.sticky?.cookie;
  const cookieName = sticky !== undefined ? (sticky.name ?? `_${createHash('sha1').update(deps.name).digest('hex').slice(0, 5)}`) : '';
  const cookieAttrs = sticky !== undefined ? stickyAttributes(sticky) : '';

  // Traefik: every server, skipping the unhealthy ones. Origin group: its rotation, all usable (failOpen keeps down ones).
  const checkHealth = group === null;
  /** Smooth weighted round robin: one step over the healthy servers. */
  const wrrStep = (): Server | null => {
    let best: Server | null = null;
    let total = 0;
    for (const s of group?.rotation ?? servers) {
      if ((checkHealth && !s.healthy) || s.weight <= 0) continue;
      s.current += s.weight;
      total += s.weight;
      if (best === null || s.current > best.current) best = s;
    }
    if (best !== null) best.current -= total;
    return best;
  };
  const phase = deps.phase ?? workerPhase();
  // Worker i of N starts i steps in (see worker-phase.ts).
  for (let i = 0; i < phase.index; i++) wrrStep();
  restartRoundRobin = () => {
    for (const s of servers) s.current = 0;
    for (let i = 0; i < phase.index; i++) wrrStep();
  };
  const seenConnections = phase.count > 1 ? new WeakSet<object>() : null;
  // Steps the other workers take after a connection's first request; skipped only if the next request opens a connection too.
  let pendingSkip = 0;
  const wrr = (ctx: RequestContext): Server | null => {
    if (group === null && servers.length === 1) return servers[0]!.healthy ? servers[0]! : null;
    const sock = ctx.req.socket;
    if (seenConnections !== null && sock !== null) {
      if (!seenConnections.has(sock)) {
        seenConnections.add(sock);
        for (; pendingSkip > 0; pendingSkip--) wrrStep();
        pendingSkip = phase.count - 1;
      } else pendingSkip = 0;
    }
    return wrrStep();
  };
  const p2c = (): Server | null => {
    const healthy = (group?.rotation ?? servers).filter((s) => (!checkHealth || s.healthy) && s.weight > 0);
    if (healthy.length <= 1) return healthy[0] ?? null;
    const n1 = Math.floor(Math.random() * healthy.length);
    let n2 = Math.floor(Math.random() * healthy.length);
    if (n2 === n1) n2 = (n2 + 1) % healthy.length;
    const a = healthy[n1]!;
    const b = healthy[n2]!;
    return b.inflight < a.inflight ? b : a;
  };
  // Traefik scores each server by its URL and the client's address (the peer's, not X-Forwarded-For).
  const hrw = (ctx: RequestContext): Server | null => {
    let best: Server | null = null;
    let bestScore = 0;
    for (const s of group?.rotation ?? servers) {
      if ((checkHealth && !s.healthy) || s.weight <= 0) continue;
      const score = hrwScore(ctx.remoteIp, s.url, s.weight);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  };
  const strategy = cfg.strategy ?? 'wrr';
  if (strategy === 'leasttime') throw new Error('load-balancer strategy "leasttime" is not supported yet: use wrr, p2c or hrw');
  const pick: (ctx: RequestContext) => Server | null = strategy === 'p2c' ? p2c : strategy === 'hrw' ? hrw : wrr;
  const countInflight = strategy === 'p2c';

  const fromCookie = (ctx: RequestContext): Server | null => {
    const raw = ctx.headers.cookie;
    if (raw === undefined) return null;
    const v = readCookie(raw, cookieName);
    if (v === null) return null;
    for (const s of servers) if (s.stickyValue === v && s.healthy) return s;
    return null;
  };

  const serviceName = deps.name;
  // failClosed: its own code when servers exist but all are down; no server at all stays Traefik's answer.
  const noServer = cfg.allDown === 'failClosed' && servers.some((s) => s.weight > 0) ? 'GH_ALL_SERVERS_DOWN' : 'GH_NO_HEALTHY_SERVER';
  const handler: Handler = (ctx) => {
    ctx.serviceName = serviceName;
    let server = sticky !== undefined ? fromCookie(ctx) : null;
    const needCookie = sticky !== undefined && server === null;
    if (server === null) server = pick(ctx);
    if (server === null) {
      answer(ctx, noServer);
      return;
    }
    if (needCookie) ctx.rw = new StickyCookieWriter(ctx.rw, `${cookieName}=${server.stickyValue}${cookieAttrs}`);
    if (server.unreachable) {
      ctx.serverUrl = server.url;
      answer(ctx, 'GH_UPSTREAM_FAILED');
      passive?.failed(server);
      return;
    }
    let done: ProxyDone | null = null;
    if (passive !== null || countInflight) {
      const s = server;
      if (countInflight) s.inflight++;
      done = (err) => {
        if (countInflight) s.inflight--;
        if (passive === null || ctx.clientGone) return;
        if (err !== null ? ctx.originStatus === 0 || ctx.originStatus >= 500 : ctx.originStatus >= 500) passive.failed(s);
        else passive.succeeded(s);
      };
    }
    proxyRequest(ctx, server, server.proxyOptions ?? opts, done);
  };
  const serverHealth = (): Record<string, ServerHealth> => {
    const inRotation = new Set<Server>(group?.rotation ?? servers.filter((s) => s.healthy && s.weight > 0));
    const out: Record<string, ServerHealth> = {};
    for (const s of servers)
      out[s.url] = {
        up: s.healthy,
        weight: s.weight,
        priority: s.priority,
        inRotation: inRotation.has(s),
        latencyMs: s.latencyMs === undefined || s.latencyMs === null ? null : Math.round(s.latencyMs * 100) / 100,
        ...(!s.healthy && s.downReason !== undefined && s.downReason !== null ? { reason: s.downReason } : {}),
        lastProbes: (s.probes ?? []).map((p) => ({ ...p, latencyMs: Math.round(p.latencyMs * 100) / 100 })),
      };
    return out;
  };
  return {
    handler,
    servers,
    healthy: () => servers.some((s) => s.healthy),
    reportsHealth: cfg.healthCheck !== undefined,
    serverHealth,
  };
}

/** Adds the sticky-session cookie to the response headers. */
class StickyCookieWriter extends ForwardingWriter {
  constructor(
    inner: ResponseWriter,
    private readonly cookie: string,
  ) {
    super(inner);
  }
  override writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const prev = headers['set-cookie'];
    headers['set-cookie'] = prev === undefined ? this.cookie : Array.isArray(prev) ? [...prev, this.cookie] : [String(prev), this.cookie];
    this.inner.writeHead(status, headers);
  }
}

function stickyAttributes(c: NonNullable<NonNullable<LoadBalancerConfig['sticky']>['cookie']>): string {
  let a = `; Path=${c.path ?? '/'}`;
  if (c.maxAge !== undefined && c.maxAge !== 0) a += `; Max-Age=${c.maxAge}`;
  if (c.httpOnly === true) a += '; HttpOnly';
  if (c.secure === true) a += '; Secure';
  if (c.sameSite !== undefined && c.sameSite !== '') a += `; SameSite=${c.sameSite[0]!.toUpperCase()}${c.sameSite.slice(1).toLowerCase()}`;
  return a;
}

function readCookie(header: string | string[], name: string): string | null {
  const all = Array.isArray(header) ? header.join('; ') : header;
  for (const part of all.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
