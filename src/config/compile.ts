/**
 * The configuration compiler: merges provider fragments, qualifies names
 * (`name@provider`), validates every router, middleware and service, resolves
 * references, and records Traefik-style runtime status. A broken item is
 * disabled with its errors (and everything that depends on it), the rest is
 * kept. Pure: no I/O, no handlers built.
 */
import { Value } from '@sinclair/typebox/value';
import type { ConfigIssue, SourceLocation } from '../errors.js';
import type { ConfigFragment, Resource } from './model.js';
import type { RuntimeMiddleware, RuntimeRouter, RuntimeService, RuntimeServersTransport, ServiceKind, Snapshot } from './runtime.js';
import { RouterSchema, ServiceSchema, ServersTransportSchema } from './schema.js';
import type { MiddlewareRegistry } from '../middlewares/registry.js';
import { compileRule, defaultPriority, RuleSyntaxError } from '../rules/index.js';
import { didYouMean } from '../util/closest.js';

/** Internal services always present (`api@internal` and friends). */
export const INTERNAL_SERVICES = ['api@internal', 'dashboard@internal', 'ping@internal', 'identity@internal', 'prometheus@internal', 'noop@internal'] as const;

export interface CompileOptions {
  fragments: readonly ConfigFragment[];
  /** Names of the configured entry points. */
  entryPoints: readonly string[];
  /** Entry points a router without `entryPoints` attaches to. */
  defaultEntryPoints: readonly string[];
  defaultRuleSyntax: 'v2' | 'v3';
  registry: MiddlewareRegistry;
  revision: number;
  /** Internal services that are enabled (others answer 404 / are refused). */
  internalServices?: readonly string[];
}

export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

function providerOf(qualified: string): string {
  const at = qualified.lastIndexOf('@');
  return at < 0 ? '' : qualified.slice(at + 1);
}

function schemaErrors(schema: Parameters<typeof Value.Errors>[0], value: unknown): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const e of Value.Errors(schema, value)) {
    out.push({ path: e.path.split('/').filter((p) => p !== '').join('.'), message: e.message.replace(/^Expected/, 'expected') });
    if (out.length >= 10) break;
  }
  return out;
}

export function compileConfig(opts: CompileOptions): Snapshot {
  const issues: ConfigIssue[] = [];
  const routers: Record<string, RuntimeRouter> = Object.create(null);
  const middlewares: Record<string, RuntimeMiddleware> = Object.create(null);
  const services: Record<string, RuntimeService> = Object.create(null);
  const transports: Record<string, RuntimeServersTransport> = Object.create(null);
  const resources: Resource[] = [];
  const enabledInternal = new Set(opts.internalServices ?? INTERNAL_SERVICES);
  const entryPointSet = new Set(opts.entryPoints);

  const fail = (item: { status: string; errors: string[] }, issue: ConfigIssue): void => {
    item.status = 'disabled';
    item.errors.push(issue.message);
    issues.push(issue);
  };

  for (const frag of opts.fragments) {
    for (const i of frag.issues) issues.push(i);
    resources.push(...frag.resources);
  }

  // 1. Services and transports.
  for (const frag of opts.fragments) {
    const p = frag.provider;
    for (const [local, item] of Object.entries(frag.serversTransports)) {
      const name = qualify(local, p);
      const rt: RuntimeServersTransport = { name, provider: p, status: 'enabled', errors: [], source: item.source, config: item.value };
      for (const e of schemaErrors(ServersTransportSchema, item.value)) fail(rt, { ...item.source, object: `serversTransport "${name}"`, field: e.path || undefined, message: e.message });
      transports[name] = rt;
    }
    for (const [local, item] of Object.entries(frag.services)) {
      const name = qualify(local, p);
      const cfg = item.value;
      const kinds = (['loadBalancer', 'weighted', 'mirroring', 'failover'] as const).filter((k) => (cfg as Record<string, unknown>)[k] !== undefined);
      const type: ServiceKind = kinds.length === 1 ? (kinds[0]!.toLowerCase() as ServiceKind) : 'loadbalancer';
      const rs: RuntimeService = { name, provider: p, type, status: 'enabled', errors: [], source: item.source, config: cfg, usedBy: [] };
      services[name] = rs;
      const where = { ...item.source, object: `service "${name}"` };
      if (kinds.length !== 1) {
        fail(rs, { ...where, message: kinds.length === 0 ? 'expected exactly one of loadBalancer, weighted, mirroring, failover' : `expected exactly one of loadBalancer, weighted, mirroring, failover, got ${kinds.join(' and ')}` });
        continue;
      }
      for (const e of schemaErrors(ServiceSchema, cfg)) fail(rs, { ...where, field: e.path || undefined, message: e.message });
      if (rs.status === 'disabled') continue;
      if (cfg.loadBalancer !== undefined) {
        cfg.loadBalancer.servers.forEach((s, i) => {
          let u: URL | undefined;
          try {
            u = new URL(s.url);
          } catch {
            fail(rs, { ...where, field: `loadBalancer.servers[${i}].url`, message: `invalid URL "${s.url}": expected e.g. http://10.0.0.1:8080` });
            return;
          }
          if (!['http:', 'https:', 'h2c:'].includes(u.protocol)) fail(rs, { ...where, field: `loadBalancer.servers[${i}].url`, message: `unsupported scheme "${u.protocol.slice(0, -1)}": expected http, https or h2c` });
        });
        if (cfg.loadBalancer.servers.length === 0) {
          rs.status = 'warning';
          rs.errors.push('no servers: requests answer 503');
        }
      }
    }
  }
  for (const name of enabledInternal) {
    services[name] = { name, provider: 'internal', type: 'internal', status: 'enabled', errors: [], source: {}, config: {}, usedBy: [] };
  }

  // Service references (weighted/mirroring/failover children, serversTransport).
  const resolveService = (ref: string, from: string): string => qualify(ref, providerOf(from));
  const childRefs = (rs: RuntimeService): Array<{ field: string; ref: string }> => {
    const c = rs.config;
    if (c.weighted !== undefined) return c.weighted.services.map((s, i) => ({ field: `weighted.services[${i}].name`, ref: s.name }));
    if (c.mirroring !== undefined) return [{ field: 'mirroring.service', ref: c.mirroring.service }, ...(c.mirroring.mirrors ?? []).map((m, i) => ({ field: `mirroring.mirrors[${i}].name`, ref: m.name }))];
    if (c.failover !== undefined) return [{ field: 'failover.service', ref: c.failover.service }, { field: 'failover.fallback', ref: c.failover.fallback }];
    return [];
  };
  // Resolve in dependency order with cycle detection.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const rs = services[name];
    if (rs === undefined || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      fail(rs, { ...rs.source, object: `service "${name}"`, message: `service reference cycle: ${[...path, name].join(' → ')}` });
      return;
    }
    state.set(name, 'visiting');
    const where = { ...rs.source, object: `service "${name}"` };
    for (const { field, ref } of childRefs(rs)) {
      const q = resolveService(ref, name);
      const child = services[q];
      if (child === undefined) {
        fail(rs, { ...where, field, message: `the service "${q}" does not exist${didYouMean(q, Object.keys(services))}` });
        continue;
      }
      visit(q, [...path, name]);
      child.usedBy.push(name);
      if (child.status === 'disabled') fail(rs, { ...where, field, message: `the service "${q}" is disabled` });
    }
    const st = rs.config.loadBalancer?.serversTransport;
    if (st !== undefined) {
      const q = qualify(st, providerOf(name));
      if (transports[q] === undefined) fail(rs, { ...where, field: 'loadBalancer.serversTransport', message: `the serversTransport "${q}" does not exist${didYouMean(q, Object.keys(transports))}` });
      else if (transports[q].status === 'disabled') fail(rs, { ...where, field: 'loadBalancer.serversTransport', message: `the serversTransport "${q}" is disabled` });
    }
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) visit(name, []);

  // 2. Middlewares (options validated against each middleware's schema).
  for (const frag of opts.fragments) {
    const p = frag.provider;
    for (const [local, item] of Object.entries(frag.middlewares)) {
      const name = qualify(local, p);
      const keys = item.value !== null && typeof item.value === 'object' ? Object.keys(item.value) : [];
      const rm: RuntimeMiddleware = { name, provider: p, type: keys[0] ?? '', status: 'enabled', errors: [], source: item.source, config: item.value, usedBy: [] };
      middlewares[name] = rm;
      const where = { ...item.source, object: `middleware "${name}"` };
      if (keys.length !== 1) {
        fail(rm, { ...where, message: `expected exactly one middleware type, got ${keys.length === 0 ? 'none' : keys.join(', ')}` });
        continue;
      }
      const def = opts.registry.get(keys[0]!);
      if (def === undefined) {
        fail(rm, { ...where, field: keys[0], message: `unknown middleware type "${keys[0]}"${didYouMean(keys[0]!, opts.registry.types())}` });
        continue;
      }
      rm.type = def.type;
      for (const e of opts.registry.validate(def, item.value[keys[0]!])) fail(rm, { ...where, field: e.path === '' ? keys[0] : `${keys[0]}.${e.path}`, message: e.message });
    }
  }
  // chain references
  for (const rm of Object.values(middlewares)) {
    if (rm.type !== 'chain' || rm.status === 'disabled') continue;
    const list = ((rm.config[Object.keys(rm.config)[0]!] as { middlewares?: unknown }).middlewares ?? []) as string[];
    for (const ref of list) {
      const q = qualify(ref, providerOf(rm.name));
      if (middlewares[q] === undefined) fail(rm, { ...rm.source, object: `middleware "${rm.name}"`, field: 'chain.middlewares', message: `the middleware "${q}" does not exist${didYouMean(q, Object.keys(middlewares))}` });
      else middlewares[q].usedBy.push(rm.name);
    }
  }

  // 3. Routers.
  for (const frag of opts.fragments) {
    const p = frag.provider;
    for (const [local, item] of Object.entries(frag.routers)) {
      const name = qualify(local, p);
      const cfg = item.value;
      const syntax = cfg?.ruleSyntax ?? opts.defaultRuleSyntax;
      const rr: RuntimeRouter = {
        name, provider: p, status: 'enabled', errors: [], source: item.source, config: cfg,
        entryPoints: [], priority: 0, middlewares: [], service: '', ruleSyntax: syntax,
      };
      routers[name] = rr;
      const where: SourceLocation = { ...item.source, object: `router "${name}"` };
      const errs = schemaErrors(RouterSchema, cfg);
      for (const e of errs) fail(rr, { ...where, field: e.path || undefined, message: e.message });
      if (errs.length > 0) continue;
      rr.priority = cfg.priority !== undefined && cfg.priority !== 0 ? cfg.priority : defaultPriority(cfg.rule);
      try {
        compileRule(cfg.rule, syntax);
      } catch (err) {
        const msg = err instanceof RuleSyntaxError || err instanceof Error ? err.message : String(err);
        fail(rr, { ...where, field: 'rule', message: `invalid rule: ${msg}` });
      }
      const eps = cfg.entryPoints !== undefined && cfg.entryPoints.length > 0 ? cfg.entryPoints : opts.defaultEntryPoints;
      for (const ep of eps) {
        if (!entryPointSet.has(ep)) fail(rr, { ...where, field: 'entryPoints', message: `entry point "${ep}" does not exist${didYouMean(ep, opts.entryPoints)}` });
      }
      rr.entryPoints = eps.filter((e) => entryPointSet.has(e));
      for (const ref of cfg.middlewares ?? []) {
        const q = qualify(ref, p);
        rr.middlewares.push(q);
        const m = middlewares[q];
        if (m === undefined) fail(rr, { ...where, field: 'middlewares', message: `the middleware "${q}" does not exist${didYouMean(q, Object.keys(middlewares))}` });
        else {
          m.usedBy.push(name);
          if (m.status === 'disabled') fail(rr, { ...where, field: 'middlewares', message: `the middleware "${q}" is disabled: ${m.errors[0] ?? ''}` });
        }
      }
      const sq = qualify(cfg.service, p);
      rr.service = sq;
      const s = services[sq];
      if (s === undefined) fail(rr, { ...where, field: 'service', message: `the service "${sq}" does not exist${didYouMean(sq, Object.keys(services))}` });
      else {
        s.usedBy.push(name);
        if (s.status === 'disabled') fail(rr, { ...where, field: 'service', message: `the service "${sq}" is disabled: ${s.errors[0] ?? ''}` });
      }
    }
  }

  return {
    revision: opts.revision,
    createdAt: new Date().toISOString(),
    routers, middlewares, services, serversTransports: transports, resources, issues,
  };
}
