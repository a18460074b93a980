/**
 * IngressRoute → routers (one per route, named `<ns>-<ingressroute>-<hash>`)
 * and the services they use, as Traefik's kubernetescrd provider builds them.
 * A route that cannot be built is left out with an error issue (Traefik skips
 * it too); the other routes of the IngressRoute are kept.
 */
import type { RouterConfig } from '../../../config/schema.js';
import { makeId, PROVIDER_SUFFIX, routeKey } from './naming.js';
import { asString, ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';
import { checkNamespace, nameAndService } from './services.js';
import { addService, buildWeighted } from './traefik-service.js';
import { ingressRouteTls } from './tls.js';
import { recordExternalDns } from './external-dns.js';

/** A `{ name, namespace }` middleware reference → the provider-local name (or a cross-provider name as is). */
export function middlewareRef(ctx: ConvertContext, parentNamespace: string, ref: unknown, path: Path): string {
  if (!isRecord(ref)) throw new ConvertFailure(path, 'expected a middleware reference { name, namespace }');
  const name = asString(ref.name);
  if (name === undefined || name === '') throw new ConvertFailure([...path, 'name'], 'middleware name is required');
  if (name.includes('@')) {
    if (name.endsWith(PROVIDER_SUFFIX) && !ctx.opts.allowCrossNamespace) {
      throw new ConvertFailure(
        [...path, 'name'],
        `invalid reference to middleware ${name}: with allowCrossNamespace disabled, use the name and namespace fields instead of <namespace>-<name>@kubernetescrd`,
      );
    }
    return name;
  }
  const namespace = asString(ref.namespace) ?? parentNamespace;
  checkNamespace(ctx, parentNamespace, namespace, `middleware ${namespace}/${name}`, [...path, 'namespace']);
  return makeId(namespace, name);
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

function routerTls(ctx: ConvertContext, obj: K8sObject, tls: Record<string, unknown>): NonNullable<RouterConfig['tls']> {
  const out: NonNullable<RouterConfig['tls']> = {};
  const resolver = asString(tls.certResolver);
  if (resolver !== undefined && resolver !== '') out.certResolver = resolver;
  if (Array.isArray(tls.domains)) out.domains = tls.domains.filter(isRecord) as NonNullable<RouterConfig['tls']>['domains'];
  if (isRecord(tls.options)) {
    const name = asString(tls.options.name);
    if (name !== undefined && name !== '') {
      if (name.includes('@')) out.options = name;
      else {
        const ns = asString(tls.options.namespace) ?? obj.namespace;
        checkNamespace(ctx, obj.namespace, ns, `TLSOption ${ns}/${name}`, ['spec', 'tls', 'options', 'namespace']);
        out.options = makeId(ns, name);
      }
    }
  }
  return out;
}

/** Fields of Traefik's IngressRoute CRD (traefik.io/v1alpha1), for "did you mean" warnings. */
const INGRESS_ROUTE_FIELDS = ['ingressClassName', 'entryPoints', 'routes', 'tls', 'parentRefs'];
const ROUTE_FIELDS = ['match', 'kind', 'priority', 'syntax', 'services', 'middlewares', 'observability'];

export function convertIngressRoute(ctx: ConvertContext, obj: K8sObject): void {
  const spec = ctx.get(obj, ['spec']);
  if (isRecord(spec)) ctx.unknownFields(obj, spec, ['spec'], INGRESS_ROUTE_FIELDS);
  if (isRecord(spec) && spec.parentRefs !== undefined) {
    ctx.error(
      obj,
      ['spec', 'parentRefs'],
      'IngressRoute not converted: parentRefs (Traefik v3.6 multi-layer routing) is not supported yet: give each route its own services',
    );
    return;
  }
  if (!isRecord(spec) || !Array.isArray(spec.routes)) {
    ctx.error(obj, ['spec', 'routes'], 'expected spec.routes: a list of { match, services, … }');
    return;
  }
  const entryPoints = stringList(spec.entryPoints);
  if (spec.entryPoints !== undefined && entryPoints === undefined) {
    ctx.error(obj, ['spec', 'entryPoints'], 'IngressRoute not converted: expected spec.entryPoints to be a list of entry point names');
    return;
  }
  const tlsSpec = isRecord(spec.tls) ? spec.tls : undefined;
  if (tlsSpec !== undefined) ingressRouteTls(ctx, obj, tlsSpec);
  const seen = new Map<string, number>();
  spec.routes.forEach((route: unknown, i: number) => {
    const base: Path = ['spec', 'routes', i];
    try {
      convertRoute(ctx, obj, route, base, entryPoints, tlsSpec, seen, i);
    } catch (e) {
      if (!(e instanceof ConvertFailure)) throw e;
      ctx.error(obj, e.path, `route ${i} not created: ${e.message}`, e.code);
    }
  });
}

function convertRoute(
  ctx: ConvertContext,
  obj: K8sObject,
  route: unknown,
  base: Path,
  entryPoints: string[] | undefined,
  tlsSpec: Record<string, unknown> | undefined,
  seen: Map<string, number>,
  index: number,
): void {
  if (!isRecord(route)) throw new ConvertFailure(base, 'expected a route object { match, kind: Rule, services }');
  ctx.unknownFields(obj, route, base, ROUTE_FIELDS);
  if (route.kind !== undefined && route.kind !== 'Rule') {
    throw new ConvertFailure([...base, 'kind'], `unsupported match kind ${JSON.stringify(route.kind)}: only "Rule" is supported`);
  }
  const match = asString(route.match);
  if (match === undefined || match.trim() === '')
    throw new ConvertFailure([...base, 'match'], 'empty match rule: expected e.g. Host(`example.com`)');
  const key = routeKey(obj.namespace, obj.name, match);

  const router: RouterConfig = { rule: match, service: key };
  if (entryPoints !== undefined) router.entryPoints = entryPoints;
  const middlewares = Array.isArray(route.middlewares)
    ? route.middlewares.map((m, j) => middlewareRef(ctx, obj.namespace, m, [...base, 'middlewares', j]))
    : [];
  if (middlewares.length > 0) router.middlewares = middlewares;
  if (route.priority !== undefined && route.priority !== 0) {
    if (typeof route.priority !== 'number' || !Number.isInteger(route.priority))
      throw new ConvertFailure([...base, 'priority'], 'priority must be an integer');
    router.priority = route.priority;
  }
  if (route.syntax !== undefined) {
    if (route.syntax !== 'v2' && route.syntax !== 'v3')
      throw new ConvertFailure([...base, 'syntax'], `syntax must be v2 or v3, got ${JSON.stringify(route.syntax)}`);
    router.ruleSyntax = route.syntax;
  }
  if (tlsSpec !== undefined) router.tls = routerTls(ctx, obj, tlsSpec);

  // Services last: nothing is added to the fragment unless the whole route converts.
  const services = Array.isArray(route.services) ? route.services : [];
  if (services.length === 0)
    throw new ConvertFailure(
      [...base, 'services'],
      'a route needs at least one service (a route without one is a parent in Traefik v3.6 multi-layer routing, which is not supported yet)',
    );
  if (services.length > 1) {
    addService(ctx, obj, [...base, 'services'], key, buildWeighted(ctx, obj, obj.namespace, services, [...base, 'services'], undefined));
  } else {
    const named = nameAndService(ctx, obj, obj.namespace, services[0], [...base, 'services', 0]);
    if (named.service !== undefined) addService(ctx, obj, [...base, 'services', 0], key, named.service);
    else router.service = named.name;
  }

  const previous = seen.get(key);
  if (previous !== undefined) {
    ctx.warn(
      obj,
      [...base, 'match'],
      `routes ${previous} and ${index} have the same match, so the same router name "${key}": route ${index} replaces route ${previous} (as Traefik)`,
    );
  }
  seen.set(key, index);
  ctx.fragment.routers[key] = { value: router, source: ctx.loc(obj, [...base, 'match']) };
  recordExternalDns(ctx, 'routers', key, obj);
}
