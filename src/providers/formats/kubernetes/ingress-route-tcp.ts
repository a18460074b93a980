/**
 * IngressRouteTCP and MiddlewareTCP (traefik.io) → `tcp.routers`, `tcp.services`,
 * `tcp.middlewares` of the `kubernetescrd` fragment, named as Traefik's
 * kubernetescrd provider names them: one router per route,
 * `<ns>-<ingressroutetcp>-<hash of match>`, whose service is a weighted service
 * of the same name over one load balancer per Kubernetes Service
 * (`<router>-<service>-<port>`), each server an endpoint `ip:port` of the
 * Service (or its ClusterIP with `nativeLB`). MiddlewareTCP `<ns>-<name>`.
 * Checked further by the TCP compile step (src/tcp/compile.ts). docs/tcp.md.
 */
import type { Item } from '../../../config/model.js';
import { makeId, routeKey } from './naming.js';
import { asString, ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';
import { checkNamespace, nameAndService } from './services.js';
import { ingressRouteTls } from './tls.js';
import { recordExternalDns } from './external-dns.js';

const ROUTE_FIELDS = ['match', 'kind', 'priority', 'syntax', 'middlewares', 'services'];
const SERVICE_FIELDS = [
  'name',
  'namespace',
  'port',
  'weight',
  'proxyProtocol',
  'serversTransport',
  'terminationDelay',
  'tls',
  'nativeLB',
  'nodePortLB',
];
const TLS_FIELDS = ['secretName', 'options', 'certResolver', 'domains', 'passthrough', 'store'];

/** Add an item to a `tcp*` map of the fragment (emptyFragment creates them). */
function put(ctx: ConvertContext, section: 'tcpRouters' | 'tcpServices' | 'tcpMiddlewares', name: string, item: Item<unknown>): void {
  const map = ctx.fragment[section];
  if (map !== undefined) map[name] = item;
}

export function convertMiddlewareTcp(ctx: ConvertContext, obj: K8sObject): void {
  const spec = obj.raw.spec;
  if (!isRecord(spec)) {
    ctx.error(obj, ['spec'], 'MiddlewareTCP without spec: expected inFlightConn or ipAllowList');
    return;
  }
  const name = makeId(obj.namespace, obj.name);
  put(ctx, 'tcpMiddlewares', name, { value: structuredClone(spec), source: ctx.loc(obj, ['spec']) });
}

export function convertIngressRouteTcp(ctx: ConvertContext, obj: K8sObject): void {
  const spec = obj.raw.spec;
  if (!isRecord(spec)) {
    ctx.error(obj, ['spec'], 'IngressRouteTCP without spec: expected routes');
    return;
  }
  const routes = Array.isArray(spec.routes) ? spec.routes : [];
  if (routes.length === 0) {
    ctx.error(obj, ['spec', 'routes'], 'IngressRouteTCP without routes: expected at least one route');
    return;
  }
  const tlsSpec = isRecord(spec.tls) ? spec.tls : undefined;
  let tls: Record<string, unknown> | undefined;
  if (tlsSpec !== undefined) {
    ctx.unknownFields(obj, tlsSpec, ['spec', 'tls'], TLS_FIELDS);
    tls = {};
    if (tlsSpec.passthrough === true) tls.passthrough = true;
    const resolver = asString(tlsSpec.certResolver);
    if (resolver !== undefined && resolver !== '') tls.certResolver = resolver;
    if (Array.isArray(tlsSpec.domains)) tls.domains = structuredClone(tlsSpec.domains);
    if (isRecord(tlsSpec.options)) {
      const oname = asString(tlsSpec.options.name);
      if (oname !== undefined && oname !== '') {
        if (oname.includes('@')) tls.options = oname;
        else {
          const ns = asString(tlsSpec.options.namespace) ?? obj.namespace;
          checkNamespace(ctx, obj.namespace, ns, `TLSOption ${ns}/${oname}`, ['spec', 'tls', 'options', 'namespace']);
          tls.options = makeId(ns, oname);
        }
      }
    }
    ingressRouteTls(ctx, obj, tlsSpec);
  }
  const entryPoints = Array.isArray(spec.entryPoints) ? spec.entryPoints.filter((e): e is string => typeof e === 'string') : undefined;
  routes.forEach((route: unknown, i: number) => {
    const path: Path = ['spec', 'routes', i];
    if (!isRecord(route)) {
      ctx.error(obj, path, 'expected a route object { match, services }');
      return;
    }
    ctx.unknownFields(obj, route, path, ROUTE_FIELDS);
    const match = asString(route.match) ?? '';
    if (match === '') {
      ctx.error(obj, [...path, 'match'], 'route without match: expected a rule such as HostSNI(`*`)');
      return;
    }
    const key = routeKey(obj.namespace, obj.name, match);
    try {
      const middlewares = (Array.isArray(route.middlewares) ? route.middlewares : []).map((m: unknown, j: number) => {
        const mp: Path = [...path, 'middlewares', j];
        if (!isRecord(m)) throw new ConvertFailure(mp, 'expected a middleware reference { name, namespace }');
        const mname = asString(m.name) ?? '';
        if (mname === '') throw new ConvertFailure([...mp, 'name'], 'middleware name is required');
        if (mname.includes('@')) return mname;
        const ns = asString(m.namespace) ?? obj.namespace;
        checkNamespace(ctx, obj.namespace, ns, `MiddlewareTCP ${ns}/${mname}`, [...mp, 'namespace']);
        return makeId(ns, mname);
      });
      const services = Array.isArray(route.services) ? route.services : [];
      if (services.length === 0) throw new ConvertFailure([...path, 'services'], 'route without services: expected at least one Service');
      const children: Array<{ name: string; weight: number }> = [];
      services.forEach((s: unknown, j: number) => {
        const sp: Path = [...path, 'services', j];
        if (!isRecord(s)) throw new ConvertFailure(sp, 'expected a service reference { name, port }');
        ctx.unknownFields(obj, s, sp, SERVICE_FIELDS);
        const ref: Record<string, unknown> = { name: s.name, port: s.port };
        if (s.namespace !== undefined) ref.namespace = s.namespace;
        if (s.nativeLB !== undefined) ref.nativeLB = s.nativeLB;
        if (s.nodePortLB !== undefined) ref.nodePortLB = s.nodePortLB;
        const named = nameAndService(ctx, obj, obj.namespace, ref, sp);
        const servers = (named.service?.loadBalancer?.servers ?? []).map((srv) => ({
          address: srv.url.replace(/^[a-z0-9+.-]+:\/\//i, ''),
        }));
        const lb: Record<string, unknown> = { servers };
        if (isRecord(s.proxyProtocol)) lb.proxyProtocol = structuredClone(s.proxyProtocol);
        if (typeof s.terminationDelay === 'number') lb.terminationDelay = s.terminationDelay;
        if (s.tls === true) ctx.warn(obj, [...sp, 'tls'], 'tls: true (TLS to the backend) is not supported yet for TCP: ignored');
        const childName = `${key}-${asString(s.name) ?? ''}-${String(s.port ?? '')}`;
        put(ctx, 'tcpServices', childName, { value: { loadBalancer: lb }, source: ctx.loc(obj, sp) });
        children.push({ name: childName, weight: typeof s.weight === 'number' ? s.weight : 1 });
      });
      put(ctx, 'tcpServices', key, { value: { weighted: { services: children } }, source: ctx.loc(obj, [...path, 'services']) });
      const router: Record<string, unknown> = { rule: match, service: key };
      if (entryPoints !== undefined && entryPoints.length > 0) router.entryPoints = entryPoints;
      if (typeof route.priority === 'number' && route.priority !== 0) router.priority = route.priority;
      if (route.syntax === 'v2' || route.syntax === 'v3') router.ruleSyntax = route.syntax;
      if (middlewares.length > 0) router.middlewares = middlewares;
      if (tls !== undefined) router.tls = tls;
      put(ctx, 'tcpRouters', key, { value: router, source: ctx.loc(obj, path) });
      recordExternalDns(ctx, 'tcpRouters', key, obj);
    } catch (e) {
      if (!(e instanceof ConvertFailure)) throw e;
      ctx.error(obj, e.path, `route "${match}": ${e.message}`, e.code);
    }
  });
}
