/**
 * The `tcp` section of the snapshot (`snapshot.sections.tcp`): every
 * provider's TCP routers, services and middlewares, checked and resolved once
 * where the configuration is compiled, with Traefik's runtime status per item
 * (an error disables only the item it names, and what depends on it). The
 * serving side (src/server/tcp-serving.ts) builds one TcpEntryRuntime per
 * entry point from it. Plain JSON: no secret is involved.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue, SourceLocation } from '../errors.js';
import type { ConfigFragment, ExternalDnsMetadata, Item } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import { describeSchemaError, dottedPath } from '../config/compile/validate.js';
import { canonicalFields } from '../config/field-case.js';
import { compileIpRanges, IpRangeError } from '../net/ip.js';
import { compileRule, compileTcpRule, defaultPriority, RuleSyntaxError } from '../rules/index.js';
import {
  TcpMiddlewareSchema,
  TcpRouterSchema,
  TcpServiceSchema,
  type TcpMiddlewareConfig,
  type TcpRouterConfig,
  type TcpServiceConfig,
} from './schema.js';

export const TCP_SECTION = 'tcp';

export type TcpItemStatus = 'enabled' | 'disabled' | 'warning';

interface TcpItem {
  name: string;
  provider: string;
  status: TcpItemStatus;
  /** Errors (disable the item) and warnings, as Traefik's `error` list. */
  errors: string[];
  source: SourceLocation;
}

export interface TcpRuntimeRouter extends TcpItem {
  config: TcpRouterConfig;
  /** Entry points it is attached to (defaults resolved, unknown ones left out). */
  entryPoints: string[];
  priority: number;
  ruleSyntax: 'v2' | 'v3';
  /** Qualified middleware and service names. */
  middlewares: string[];
  service: string;
  /** TLS: terminate (with `options`, qualified) or pass through; absent: plain TCP. */
  tls?: { passthrough: boolean; options: string };
  /** The ExternalDNS annotations and labels of its Kubernetes object (only those keys), for the DNS publisher. */
  externalDns?: ExternalDnsMetadata;
}

export interface TcpRuntimeService extends TcpItem {
  type: 'loadbalancer' | 'weighted';
  config: TcpServiceConfig;
  usedBy: string[];
  /** weighted: qualified child names with their weights. */
  children?: Array<{ name: string; weight: number }>;
}

export interface TcpRuntimeMiddleware extends TcpItem {
  type: 'inflightconn' | 'ipallowlist';
  config: TcpMiddlewareConfig;
  usedBy: string[];
}

/** HTTP routers that speak TLS on an entry point: the host names their rules pin, and whether one pins none. */
export interface HttpsRoutes {
  hosts: string[];
  catchAll: boolean;
}

export interface TcpSection {
  routers: Record<string, TcpRuntimeRouter>;
  services: Record<string, TcpRuntimeService>;
  middlewares: Record<string, TcpRuntimeMiddleware>;
  /** Per entry point with TCP routers: its HTTPS routes (Traefik tries them around the TCP TLS routers). */
  https: Record<string, HttpsRoutes>;
}

/** What compileTcp reads of the compiled TLS section (src/tls/compile.ts TlsSection fits). */
export interface TcpTlsView {
  readonly options: Readonly<Record<string, unknown>>;
  readonly routers: Readonly<Record<string, unknown>>;
  readonly entryPointTls: Readonly<Record<string, unknown>>;
  /**
   * SNI host → TLS options of the section: the HostSNI hosts of terminating TCP routers are added
   * (where no HTTPS router set one), so their handshakes use the router's `tls.options`.
   */
  readonly hostOptions?: Record<string, string>;
}

export interface TcpCompileInput {
  readonly fragments: readonly ConfigFragment[];
  /** The HTTP snapshot (its routers give the HTTPS routes per entry point). */
  readonly snapshot: Snapshot;
  readonly entryPoints: readonly string[];
  /** Entry points a router without `entryPoints` attaches to. */
  readonly defaultEntryPoints: readonly string[];
  readonly defaultRuleSyntax?: 'v2' | 'v3';
  readonly tls?: TcpTlsView;
}

export interface TcpCompileOutput {
  readonly section: TcpSection;
  readonly issues: ConfigIssue[];
}

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function check(schema: TSchema): ReturnType<typeof TypeCompiler.Compile> {
  let c = checks.get(schema);
  if (c === undefined) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c;
}

const qualify = (name: string, provider: string): string => (name.includes('@') ? name : `${name}@${provider}`);

/** Where a section lives in the snapshot; the empty one when absent. */
export function tcpSectionOf(s: Snapshot | null | undefined): TcpSection | undefined {
  return s?.sections?.[TCP_SECTION] as TcpSection | undefined;
}

export function emptyTcpSection(): TcpSection {
  return { routers: {}, services: {}, middlewares: {}, https: {} };
}

export function compileTcp(input: TcpCompileInput): TcpCompileOutput {
  const issues: ConfigIssue[] = [];
  const section = emptyTcpSection();
  const fail = (item: TcpItem, message: string, field?: string): void => {
    item.errors.push(message);
    item.status = 'disabled';
    issues.push({
      ...item.source,
      code: 'GH_CONFIG_INVALID',
      ...(field !== undefined ? { field: `${item.source.field ?? ''}.${field}` } : {}),
      message,
    });
  };
  const warn = (item: TcpItem, message: string, field?: string): void => {
    item.errors.push(message);
    if (item.status === 'enabled') item.status = 'warning';
    issues.push({
      ...item.source,
      severity: 'warning',
      code: 'GH_CONFIG_INVALID',
      ...(field !== undefined ? { field: `${item.source.field ?? ''}.${field}` } : {}),
      message,
    });
  };
  /** Schema check; the value spelled as the schema does when the fragment matches fields case-insensitively. */
  const validated = <T>(frag: ConfigFragment, schema: TSchema, item: Item<unknown>, base: TcpItem): T | null => {
    const value = frag.fieldCase === 'insensitive' ? canonicalFields(schema, item.value) : item.value;
    const c = check(schema);
    if (c.Check(value)) return value as T;
    const first = [...c.Errors(value)][0];
    fail(base, first === undefined ? 'invalid' : `${dottedPath(first.path)}: ${describeSchemaError(first)}`);
    return null;
  };

  // Pass 1: collect every item, qualified, checked on its own.
  const routerItems: Array<{ r: TcpRuntimeRouter; frag: ConfigFragment }> = [];
  for (const frag of input.fragments) {
    const p = frag.provider;
    for (const [local, item] of Object.entries(frag.tcpMiddlewares ?? {})) {
      const m: TcpRuntimeMiddleware = {
        name: qualify(local, p),
        provider: p,
        status: 'enabled',
        errors: [],
        source: item.source,
        type: 'ipallowlist',
        config: {},
        usedBy: [],
      };
      section.middlewares[m.name] = m;
      const cfg = validated<TcpMiddlewareConfig>(frag, TcpMiddlewareSchema, item, m);
      if (cfg === null) continue;
      m.config = cfg;
      const kinds = Object.keys(cfg);
      if (kinds.length !== 1) {
        fail(
          m,
          `expected exactly one middleware type (inFlightConn or ipAllowList), got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
        );
        continue;
      }
      if (cfg.inFlightConn !== undefined) m.type = 'inflightconn';
      const allow = cfg.ipAllowList ?? cfg.ipWhiteList;
      if (allow !== undefined) {
        try {
          compileIpRanges(allow.sourceRange);
        } catch (err) {
          if (!(err instanceof IpRangeError)) throw err;
          fail(m, `ipAllowList.sourceRange[${err.index}]: ${err.message}`, `ipAllowList.sourceRange.${err.index}`);
        }
        if (cfg.ipWhiteList !== undefined) warn(m, 'ipWhiteList is deprecated (Traefik v3): use ipAllowList');
        const depth = cfg.ipAllowList?.ipStrategy?.depth;
        if (depth !== undefined && depth > 0)
          warn(m, "ipAllowList.ipStrategy.depth has no meaning for TCP (no X-Forwarded-For): the connection's client IP is used");
      }
    }
    for (const [local, item] of Object.entries(frag.tcpServices ?? {})) {
      const s: TcpRuntimeService = {
        name: qualify(local, p),
        provider: p,
        status: 'enabled',
        errors: [],
        source: item.source,
        type: 'loadbalancer',
        config: {},
        usedBy: [],
      };
      section.services[s.name] = s;
      const cfg = validated<TcpServiceConfig>(frag, TcpServiceSchema, item, s);
      if (cfg === null) continue;
      s.config = cfg;
      if ((cfg.loadBalancer === undefined) === (cfg.weighted === undefined)) {
        fail(s, 'expected exactly one of loadBalancer, weighted');
        continue;
      }
      if (cfg.weighted !== undefined) {
        s.type = 'weighted';
        s.children = cfg.weighted.services.map((c) => ({ name: qualify(c.name, p), weight: c.weight ?? 1 }));
        continue;
      }
      const lb = cfg.loadBalancer!;
      (lb.servers ?? []).forEach((srv, i) => {
        if (parseHostPort(srv.address) === null)
          fail(s, `loadBalancer.servers[${i}].address: "${srv.address}" is not host:port`, `loadBalancer.servers.${i}.address`);
        if (srv.tls === true)
          fail(s, `loadBalancer.servers[${i}].tls: TLS to TCP backends is not supported yet`, `loadBalancer.servers.${i}.tls`);
      });
      if ((lb.servers ?? []).length === 0) warn(s, 'loadBalancer has no servers: connections are closed');
      if (lb.serversTransport !== undefined) warn(s, 'loadBalancer.serversTransport (TCP) is not supported yet: ignored');
    }
    for (const [local, item] of Object.entries(frag.tcpRouters ?? {})) {
      const r: TcpRuntimeRouter = {
        name: qualify(local, p),
        provider: p,
        status: 'enabled',
        errors: [],
        source: item.source,
        config: { rule: '', service: '' },
        entryPoints: [],
        priority: 0,
        ruleSyntax: input.defaultRuleSyntax ?? 'v3',
        middlewares: [],
        service: '',
      };
      const dns = frag.externalDns?.tcpRouters[local];
      if (dns !== undefined) r.externalDns = dns;
      section.routers[r.name] = r;
      const cfg = validated<TcpRouterConfig>(frag, TcpRouterSchema, item, r);
      if (cfg === null) continue;
      r.config = cfg;
      r.ruleSyntax = cfg.ruleSyntax ?? r.ruleSyntax;
      r.priority = cfg.priority !== undefined && cfg.priority !== 0 ? cfg.priority : defaultPriority(cfg.rule);
      r.middlewares = (cfg.middlewares ?? []).map((m) => qualify(m, p));
      r.service = qualify(cfg.service, p);
      if (cfg.tls !== undefined) {
        const written = cfg.tls.options ?? 'default';
        r.tls = {
          passthrough: cfg.tls.passthrough === true,
          options: written === 'default' || written.includes('@') ? written : `${written}@${p}`,
        };
      }
      routerItems.push({ r, frag });
    }
  }

  // Pass 2: references, rules, entry points.
  for (const s of Object.values(section.services)) {
    for (const c of s.children ?? []) {
      const child = section.services[c.name];
      if (child === undefined) fail(s, `weighted: the service "${c.name}" does not exist`);
      else if (!child.usedBy.includes(s.name)) child.usedBy.push(s.name);
    }
  }
  // A weighted service is disabled when a child is (or when they loop).
  const state = new Map<string, 'visiting' | 'done'>();
  const settle = (s: TcpRuntimeService): void => {
    if (state.get(s.name) === 'done') return;
    state.set(s.name, 'visiting');
    for (const c of s.children ?? []) {
      const child = section.services[c.name];
      if (child === undefined) continue;
      if (state.get(child.name) === 'visiting') {
        if (s.status !== 'disabled') fail(s, `weighted: the service "${child.name}" refers back to "${s.name}" (a loop)`);
        continue;
      }
      settle(child);
      if (child.status === 'disabled' && s.status !== 'disabled') fail(s, `weighted: the service "${child.name}" is disabled`);
    }
    state.set(s.name, 'done');
  };
  for (const s of Object.values(section.services)) settle(s);

  const known = new Set(input.entryPoints);
  const terminatedHosts = new Map<string, readonly string[]>();
  for (const { r } of routerItems) {
    const cfg = r.config;
    const eps = cfg.entryPoints === undefined || cfg.entryPoints.length === 0 ? [...input.defaultEntryPoints] : cfg.entryPoints;
    for (const ep of eps) {
      if (known.has(ep)) r.entryPoints.push(ep);
      else warn(r, `entry point "${ep}" does not exist`, 'entryPoints');
    }
    if (r.entryPoints.length === 0 && r.status !== 'disabled') fail(r, 'no valid entry point for this router');
    try {
      const rule = compileTcpRule(cfg.rule, r.ruleSyntax);
      terminatedHosts.set(r.name, rule.hosts);
      if (r.tls === undefined && rule.hosts.length > 0)
        fail(
          r,
          `invalid rule "${cfg.rule}": it has a HostSNI matcher for a host name, but the router has no TLS (a non-TLS router can only use HostSNI(\`*\`))`,
          'rule',
        );
    } catch (err) {
      if (!(err instanceof RuleSyntaxError)) throw err;
      fail(r, `invalid rule: ${err.message}`, 'rule');
    }
    const svc = section.services[r.service];
    if (svc === undefined) fail(r, `the service "${r.service}" does not exist`, 'service');
    else {
      svc.usedBy.push(r.name);
      if (svc.status === 'disabled') fail(r, `the service "${r.service}" is disabled`, 'service');
    }
    for (const m of r.middlewares) {
      const mw = section.middlewares[m];
      if (mw === undefined) fail(r, `the middleware "${m}" does not exist`, 'middlewares');
      else {
        mw.usedBy.push(r.name);
        if (mw.status === 'disabled') fail(r, `the middleware "${m}" is disabled`, 'middlewares');
      }
    }
    if (r.tls !== undefined && !r.tls.passthrough && input.tls !== undefined && input.tls.options[r.tls.options] === undefined)
      fail(r, `unknown TLS options: ${r.tls.options}`, 'tls.options');
    if (r.tls?.passthrough === true && r.config.tls?.options !== undefined)
      warn(r, 'tls.options has no effect with passthrough (the backend does the handshake)', 'tls.options');
  }
  for (const item of [...Object.values(section.services), ...Object.values(section.middlewares)]) item.usedBy.sort();
  // The TLS options of terminating TCP routers, by their HostSNI hosts (an HTTPS router's choice wins).
  const hostOptions = input.tls?.hostOptions;
  if (hostOptions !== undefined)
    for (const { r } of routerItems) {
      if (r.status === 'disabled' || r.tls === undefined || r.tls.passthrough) continue;
      for (const h of terminatedHosts.get(r.name) ?? []) hostOptions[h] ??= r.tls.options;
    }

  // HTTPS routes on the entry points that have TCP routers.
  const tcpEps = new Set(routerItems.flatMap(({ r }) => (r.status === 'disabled' ? [] : r.entryPoints)));
  for (const ep of tcpEps) section.https[ep] = { hosts: [], catchAll: false };
  if (input.tls !== undefined) {
    for (const hr of Object.values(input.snapshot.routers)) {
      if (hr.status === 'disabled' || input.tls.routers[hr.name] === undefined) continue;
      for (const ep of hr.entryPoints) {
        const h = section.https[ep];
        if (h === undefined) continue;
        if (hr.config.tls === undefined && input.tls.entryPointTls[ep] === undefined) continue;
        let hosts: readonly string[] | null = null;
        try {
          hosts = compileRule(hr.config.rule, hr.ruleSyntax).hosts;
        } catch {
          continue;
        }
        if (hosts === null) h.catchAll = true;
        else for (const x of hosts) if (!h.hosts.includes(x)) h.hosts.push(x);
      }
    }
  }
  return { section, issues };
}

/** `host:port` (`[v6]:port`) → parts; null when it is not one. */
export function parseHostPort(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}
