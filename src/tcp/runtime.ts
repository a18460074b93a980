/**
 * TCP routing on one entry point, built from the snapshot's `tcp` section:
 * which router a connection gets (Traefik's order between TCP routers and the
 * HTTPS routers on the same port), its middlewares (ipAllowList,
 * inFlightConn), its service (weighted, loadBalancer) and the proxy itself
 * (src/tcp/proxy.ts). Built once per snapshot in every serving process.
 */
import type { TcpConn } from './types.js';
import { compileIpRanges, type IpRanges } from '../net/ip.js';
import { compileTcpRule, type TcpRuleInput } from '../rules/index.js';
import type { Logger } from '../log.js';
import type { TcpRuntimeRouter, TcpSection } from './compile.js';
import { parseHostPort } from './compile.js';
import { proxyTcp, type TcpBackend } from './proxy.js';

export type { TcpConn } from './types.js';

/** Per middleware, per client IP: open connections (kept across snapshots by the serving side). */
export type InFlightCounters = Map<string, Map<string, number>>;

export interface TcpRuntimeOptions {
  readonly log: Logger;
  readonly counters: InFlightCounters;
  /** Idle time after which both sides are closed, ms (the entry point's idleTimeout); 0: none. */
  readonly idleTimeout: number;
  /** Time to connect to a backend, ms. */
  readonly dialTimeout?: number;
}

type Step = (conn: TcpConn, next: () => void) => void;

export interface TcpRoute {
  readonly router: string;
  readonly passthrough: boolean;
  /** Terminate TLS (the acceptor does the handshake, then serves the TLSSocket). */
  readonly terminate: boolean;
  serve(conn: TcpConn): void;
}

interface Entry {
  readonly r: TcpRuntimeRouter;
  readonly match: (c: TcpRuleInput) => boolean;
  readonly catchAll: boolean;
  readonly route: TcpRoute;
}

/** What to do with a TLS connection: a TCP route, or the HTTP(S) path as without TCP routers. */
export type TlsDecision = { kind: 'tcp'; route: TcpRoute } | { kind: 'http' };

const NO_ALPN: readonly string[] = [];

export class TcpEntryRuntime {
  private readonly plain: Entry[] = [];
  private readonly secure: Entry[] = [];
  private readonly httpsHosts: Set<string>;
  private readonly httpsCatchAll: boolean;
  /**
   * Traefik's early dispatch: only non-TLS TCP routers here (no TCP TLS router,
   * no HTTPS router), so a connection is routed at once, before the client
   * sends a byte (server-speaks-first protocols: SMTP, MySQL, …).
   */
  readonly early: boolean;

  constructor(
    readonly entryPoint: string,
    section: TcpSection,
    opts: TcpRuntimeOptions,
  ) {
    const services = new ServicePicker(section, opts);
    const routers = Object.values(section.routers)
      .filter((r) => r.status !== 'disabled' && r.entryPoints.includes(entryPoint))
      .sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const r of routers) {
      let rule;
      try {
        rule = compileTcpRule(r.config.rule, r.ruleSyntax);
      } catch {
        continue; // compile reported it
      }
      const steps = r.middlewares.map((m) => middleware(section, m, opts.counters)).filter((s): s is Step => s !== null);
      const service = r.service;
      const route: TcpRoute = {
        router: r.name,
        passthrough: r.tls?.passthrough === true,
        terminate: r.tls !== undefined && !r.tls.passthrough,
        serve: (conn) => run(steps, conn, () => services.serve(service, conn, r.name)),
      };
      (r.tls === undefined ? this.plain : this.secure).push({ r, match: rule.match, catchAll: rule.catchAll, route });
    }
    const https = section.https[entryPoint];
    this.httpsHosts = new Set(https?.hosts ?? []);
    this.httpsCatchAll = https?.catchAll ?? false;
    this.early = this.plain.length > 0 && this.secure.length === 0 && this.httpsHosts.size === 0 && !this.httpsCatchAll;
  }

  get size(): number {
    return this.plain.length + this.secure.length;
  }

  /** A connection without TLS (or one that sent nothing yet, with `early`): the first non-TLS router matching. */
  matchPlain(clientIp: string): TcpRoute | null {
    const input: TcpRuleInput = { serverName: '', clientIp, alpn: NO_ALPN };
    for (const e of this.plain) if (e.match(input)) return e.route;
    return null;
  }

  /**
   * A TLS ClientHello, in Traefik's order: an HTTPS router naming the SNI host,
   * then a TCP TLS router that is not a catch-all, then any HTTPS router, then a
   * TCP TLS catch-all (`HostSNI(\`*\`)`), then HTTPS (the 404 of the HTTP side).
   */
  matchTls(serverName: string, alpn: readonly string[], clientIp: string): TlsDecision {
    if (this.secure.length === 0) return { kind: 'http' };
    if (serverName !== '' && this.httpsHosts.has(serverName)) return { kind: 'http' };
    const input: TcpRuleInput = { serverName, clientIp, alpn };
    let catchAll: Entry | undefined;
    for (const e of this.secure) {
      if (!e.match(input)) continue;
      if (!e.catchAll) return { kind: 'tcp', route: e.route };
      catchAll ??= e;
    }
    if (this.httpsCatchAll || catchAll === undefined) return { kind: 'http' };
    return { kind: 'tcp', route: catchAll.route };
  }
}

function run(steps: readonly Step[], conn: TcpConn, last: () => void): void {
  let i = 0;
  const next = (): void => {
    const s = steps[i++];
    if (s === undefined) last();
    else s(conn, next);
  };
  next();
}

/** A refused connection: closed at once, nothing is written (Traefik closes it). */
function refuse(conn: TcpConn): void {
  conn.socket.destroy();
}

function middleware(section: TcpSection, name: string, counters: InFlightCounters): Step | null {
  const m = section.middlewares[name];
  if (m === undefined || m.status === 'disabled') return null;
  const allow = m.config.ipAllowList ?? m.config.ipWhiteList;
  if (allow !== undefined) {
    let ranges: IpRanges;
    try {
      ranges = compileIpRanges(allow.sourceRange);
    } catch {
      return (conn) => refuse(conn);
    }
    return (conn, next) => (ranges.contains(conn.clientIp) ? next() : refuse(conn));
  }
  const inflight = m.config.inFlightConn;
  if (inflight !== undefined) {
    let perIp = counters.get(name);
    if (perIp === undefined) {
      perIp = new Map();
      counters.set(name, perIp);
    }
    const table = perIp;
    const amount = inflight.amount;
    return (conn, next) => {
      const ip = conn.clientIp;
      const n = table.get(ip) ?? 0;
      if (n >= amount) {
        refuse(conn);
        return;
      }
      table.set(ip, n + 1);
      conn.socket.once('close', () => {
        const left = (table.get(ip) ?? 1) - 1;
        if (left <= 0) table.delete(ip);
        else table.set(ip, left);
      });
      next();
    };
  }
  return null;
}

/** Smooth weighted round robin (nginx's): deterministic, spreads picks evenly. */
class Wrr<T> {
  private readonly current: number[];
  private readonly total: number;
  constructor(private readonly items: ReadonlyArray<{ item: T; weight: number }>) {
    this.current = items.map(() => 0);
    this.total = items.reduce((s, x) => s + x.weight, 0);
  }
  pick(): T | undefined {
    if (this.total <= 0) return undefined;
    let best = -1;
    for (let i = 0; i < this.items.length; i++) {
      this.current[i]! += this.items[i]!.weight;
      if (best < 0 || this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.items[best]!.item;
  }
}

const MAX_WEIGHTED_DEPTH = 16;

class ServicePicker {
  private readonly lbs = new Map<string, { wrr: Wrr<TcpBackend>; proxyProtocol: 1 | 2 | null; terminationDelay: number | null }>();
  private readonly weighted = new Map<string, Wrr<string>>();

  constructor(
    section: TcpSection,
    private readonly opts: TcpRuntimeOptions,
  ) {
    for (const s of Object.values(section.services)) {
      if (s.status === 'disabled') continue;
      if (s.type === 'weighted') {
        this.weighted.set(s.name, new Wrr((s.children ?? []).map((c) => ({ item: c.name, weight: c.weight }))));
        continue;
      }
      const lb = s.config.loadBalancer;
      const backends: Array<{ item: TcpBackend; weight: number }> = [];
      for (const srv of lb?.servers ?? []) {
        const hp = parseHostPort(srv.address);
        if (hp !== null) backends.push({ item: { host: hp.host, port: hp.port, address: srv.address }, weight: 1 });
      }
      const v = lb?.proxyProtocol === undefined ? null : (lb.proxyProtocol.version ?? 2);
      const td = lb?.terminationDelay;
      this.lbs.set(s.name, { wrr: new Wrr(backends), proxyProtocol: v, terminationDelay: td === undefined || td < 0 ? null : td });
    }
  }

  serve(name: string, conn: TcpConn, router: string, depth = 0): void {
    const w = this.weighted.get(name);
    if (w !== undefined) {
      const child = depth < MAX_WEIGHTED_DEPTH ? w.pick() : undefined;
      if (child === undefined) refuse(conn);
      else this.serve(child, conn, router, depth + 1);
      return;
    }
    const lb = this.lbs.get(name);
    const backend = lb?.wrr.pick();
    if (lb === undefined || backend === undefined) {
      refuse(conn);
      return;
    }
    proxyTcp(conn, backend, {
      proxyProtocol: lb.proxyProtocol,
      idleTimeout: this.opts.idleTimeout,
      dialTimeout: this.opts.dialTimeout ?? 30_000,
      terminationDelay: lb.terminationDelay,
      onDialError: (err) =>
        this.opts.log.warn({ router, service: name, server: backend.address, err: err.message }, 'TCP backend unreachable'),
    });
  }
}
