/**
 * Traefik's loadBalancer service: smooth weighted round robin over the healthy
 * servers, optional sticky sessions by cookie, active health checks.
 */
import { createHash } from 'node:crypto';
import type { LoadBalancerConfig, ServersTransportConfig } from '../config/schema.js';
import { answer } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { ForwardingWriter } from '../http/response-writer.js';
import { proxyRequest, type ProxyOptions, type ProxyTarget } from '../upstream/proxy.js';
import type { PoolSet } from '../upstream/pools.js';
import { parseDuration } from '../util/duration.js';
import { HealthChecker, type HealthTarget } from './health-check.js';
import type { Logger } from '../log.js';

export interface Server extends ProxyTarget, HealthTarget {
  readonly weight: number;
  /** Smooth-WRR running weight. */
  current: number;
  /** Sticky cookie value for this server. */
  readonly stickyValue: string;
}

export interface LoadBalancerDeps {
  name: string;
  pools: PoolSet;
  transport: ServersTransportConfig | undefined;
  transportName: string;
  log: Logger;
  onClose(fn: () => void): void;
  onServerStatus?: (service: string, url: string, up: boolean) => void;
}

export interface BuiltLoadBalancer {
  handler: Handler;
  servers: readonly Server[];
  /** True when at least one server is healthy (for weighted/failover parents). */
  healthy(): boolean;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export function buildLoadBalancer(cfg: LoadBalancerConfig, deps: LoadBalancerDeps): BuiltLoadBalancer {
  const servers: Server[] = cfg.servers.map((s) => {
    const u = new URL(s.url);
    const basePath = u.pathname === '/' || u.pathname === '' ? '' : u.pathname.replace(/\/$/, '');
    return {
      url: s.url,
      basePath,
      authority: u.host,
      dispatcher: deps.pools.get(s.url, deps.transport, deps.transportName),
      weight: s.weight ?? 1,
      current: 0,
      healthy: true,
      stickyValue: hash(s.url),
    };
  });
  const ft = deps.transport?.forwardingTimeouts;
  const opts: ProxyOptions = {
    passHostHeader: cfg.passHostHeader ?? true,
    hostHeader: cfg.hostHeader,
    headersTimeout: ft?.responseHeaderTimeout !== undefined ? parseDuration(ft.responseHeaderTimeout) : 0,
    bodyTimeout: ft?.readIdleTimeout !== undefined ? parseDuration(ft.readIdleTimeout) : 300_000,
  };
  if (cfg.healthCheck !== undefined && servers.length > 0) {
    const hc = new HealthChecker({
      service: deps.name,
      config: cfg.healthCheck,
      targets: servers,
      log: deps.log,
      onChange: (t, up) => deps.onServerStatus?.(deps.name, t.url, up),
    });
    hc.start();
    deps.onClose(() => hc.close());
  }
  const sticky = cfg.sticky?.cookie;
  const cookieName = sticky !== undefined ? (sticky.name ?? `_${createHash('sha1').update(deps.name).digest('hex').slice(0, 5)}`) : '';
  const cookieAttrs = sticky !== undefined ? stickyAttributes(sticky) : '';

  const pick = (): Server | null => {
    if (servers.length === 1) return servers[0]!.healthy ? servers[0]! : null;
    let best: Server | null = null;
    let total = 0;
    for (const s of servers) {
      if (!s.healthy || s.weight <= 0) continue;
      s.current += s.weight;
      total += s.weight;
      if (best === null || s.current > best.current) best = s;
    }
    if (best !== null) best.current -= total;
    return best;
  };

  const fromCookie = (ctx: RequestContext): Server | null => {
    const raw = ctx.headers.cookie;
    if (raw === undefined) return null;
    const v = readCookie(raw, cookieName);
    if (v === null) return null;
    for (const s of servers) if (s.stickyValue === v && s.healthy) return s;
    return null;
  };

  const serviceName = deps.name;
  const handler: Handler = (ctx) => {
    ctx.serviceName = serviceName;
    let server = sticky !== undefined ? fromCookie(ctx) : null;
    const needCookie = sticky !== undefined && server === null;
    if (server === null) server = pick();
    if (server === null) {
      answer(ctx, 'GH_NO_HEALTHY_SERVER');
      return;
    }
    if (needCookie) ctx.rw = new StickyCookieWriter(ctx.rw, `${cookieName}=${server.stickyValue}${cookieAttrs}`);
    proxyRequest(ctx, server, opts, null);
  };
  return { handler, servers, healthy: () => servers.some((s) => s.healthy) };
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
