/**
 * Kubernetes service references (Traefik's LoadBalancerSpec: name, namespace,
 * kind, port, scheme, …) → a name and, for a Kubernetes Service, a
 * loadBalancer service whose servers come from the Service's
 * EndpointSlices/Endpoints, its ClusterIP (nativeLB) or its externalName.
 */
import type { HealthCheckConfig, LoadBalancerConfig, ServerConfig, ServiceConfig } from '../../../config/schema.js';
import { fullServiceName, makeId, PROVIDER_SUFFIX } from './naming.js';
import { asString, ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';

export interface NamedService {
  /** The name routers and parent services use. */
  readonly name: string;
  /** The generated service (absent for a TraefikService / cross-provider reference). */
  readonly service?: ServiceConfig;
}

interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number | string | undefined;
}

const STRATEGIES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  RoundRobin: 'wrr',
  wrr: 'wrr',
  p2c: 'p2c',
  hrw: 'hrw',
});
const HEALTH_CHECK_KEYS = [
  'scheme',
  'mode',
  'path',
  'method',
  'status',
  'port',
  'interval',
  'unhealthyInterval',
  'timeout',
  'hostname',
  'followRedirects',
  'headers',
] as const;
const COOKIE_KEYS = ['name', 'secure', 'httpOnly', 'sameSite', 'maxAge', 'path'] as const;

function portValue(v: unknown): number | string | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v !== '') return /^\d+$/.test(v) ? Number(v) : v;
  return undefined;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Traefik's parseServiceProtocol: explicit scheme, else https for port 443 or a port name starting with "https". */
export function schemeFor(scheme: unknown, portName: string, port: number): string {
  if (scheme === undefined || scheme === '') return port === 443 || portName.startsWith('https') ? 'https' : 'http';
  if (scheme === 'http' || scheme === 'https' || scheme === 'h2c') return scheme;
  throw new ConvertFailure(['scheme'], `invalid scheme ${JSON.stringify(scheme)}: expected http, https or h2c`);
}

/** Check that `namespace` may be referenced from `parent`. */
export function checkNamespace(ctx: ConvertContext, parent: string, namespace: string, what: string, path: Path): void {
  if (namespace !== parent && !ctx.opts.allowCrossNamespace) {
    throw new ConvertFailure(
      path,
      `${what} is in namespace ${namespace}, not in ${parent}: cross-namespace references are refused unless allowCrossNamespace is enabled`,
    );
  }
}

/** A `serversTransport` reference: `<ns>-<name>`, or a cross-provider name kept as is. */
export function serversTransportName(ctx: ConvertContext, parent: string, name: string, path: Path): string {
  if (name.endsWith(PROVIDER_SUFFIX) && !ctx.opts.allowCrossNamespace) {
    throw new ConvertFailure(
      path,
      `invalid reference to serversTransport ${name}: the <namespace>-<name>@kubernetescrd form is refused unless allowCrossNamespace is enabled`,
    );
  }
  return name.includes('@') ? name : makeId(parent, name);
}

/**
 * Resolve one service reference found at `path` of `owner` (an IngressRoute
 * route service, a TraefikService entry, an errors middleware service).
 * Throws ConvertFailure when the reference cannot be honoured.
 */
/** Fields of Traefik's LoadBalancerSpec (a service reference in an IngressRoute or TraefikService), for "did you mean" warnings. */
const LOAD_BALANCER_SPEC_FIELDS = [
  'name',
  'kind',
  'namespace',
  'middlewares',
  'sticky',
  'port',
  'scheme',
  'strategy',
  'passHostHeader',
  'responseForwarding',
  'serversTransport',
  'weight',
  'nativeLB',
  'nodePortLB',
  'healthCheck',
  'passiveHealthCheck',
  // In a TraefikService mirroring, the mirrored service and its mirrors.
  'mirrors',
  'mirrorBody',
  'maxBodySize',
  'percent',
];

export function nameAndService(ctx: ConvertContext, owner: K8sObject, parentNamespace: string, spec: unknown, path: Path): NamedService {
  if (!isRecord(spec)) throw new ConvertFailure(path, 'expected a service reference object { name, port, … }');
  ctx.unknownFields(owner, spec, path, LOAD_BALANCER_SPEC_FIELDS);
  const name = asString(spec.name);
  if (name === undefined || name === '') throw new ConvertFailure([...path, 'name'], 'service name is required');
  const kind = spec.kind ?? 'Service';
  const namespace = asString(spec.namespace) ?? parentNamespace;
  if (name.endsWith(PROVIDER_SUFFIX) && !ctx.opts.allowCrossNamespace) {
    throw new ConvertFailure(
      [...path, 'name'],
      `invalid reference to service ${name}: the <namespace>-<name>@kubernetescrd form is refused unless allowCrossNamespace is enabled`,
    );
  }
  if (!name.includes('@') || name.endsWith(PROVIDER_SUFFIX))
    checkNamespace(ctx, parentNamespace, namespace, `service ${namespace}/${name}`, [...path, 'namespace']);
  if (kind === 'TraefikService') return { name: fullServiceName(namespace, name, undefined) };
  if (kind !== 'Service' && kind !== '')
    throw new ConvertFailure([...path, 'kind'], `unsupported service kind ${JSON.stringify(kind)}: expected Service or TraefikService`);
  if (name.includes('@') && !name.endsWith(PROVIDER_SUFFIX)) {
    throw new ConvertFailure([...path, 'name'], `service ${name} is a cross-provider reference: expected kind: TraefikService`);
  }
  const port = portValue(spec.port);
  const lb = buildLoadBalancer(ctx, owner, parentNamespace, namespace, spec, path);
  return { name: fullServiceName(namespace, name, port), service: { loadBalancer: lb } };
}

function buildLoadBalancer(
  ctx: ConvertContext,
  owner: K8sObject,
  parent: string,
  namespace: string,
  spec: Record<string, unknown>,
  path: Path,
): LoadBalancerConfig {
  let strategy: LoadBalancerConfig['strategy'];
  if (spec.strategy !== undefined && spec.strategy !== '') {
    strategy = (typeof spec.strategy === 'string' ? STRATEGIES[spec.strategy] : undefined) as LoadBalancerConfig['strategy'];
    if (strategy === undefined)
      throw new ConvertFailure(
        [...path, 'strategy'],
        `load-balancer strategy ${JSON.stringify(spec.strategy)} is not supported: expected wrr, p2c, hrw or RoundRobin`,
      );
  }
  const { servers, externalName } = loadServers(ctx, owner, namespace, spec, path);
  const lb: LoadBalancerConfig = { servers, passHostHeader: typeof spec.passHostHeader === 'boolean' ? spec.passHostHeader : true };
  if (strategy !== undefined) lb.strategy = strategy;
  if (isRecord(spec.healthCheck)) {
    if (!externalName)
      throw new ConvertFailure(
        [...path, 'healthCheck'],
        'healthCheck is allowed only for ExternalName services (Kubernetes readiness decides which endpoints are ready)',
      );
    const hc: Record<string, unknown> = {};
    for (const k of HEALTH_CHECK_KEYS) if (spec.healthCheck[k] !== undefined) hc[k] = spec.healthCheck[k];
    lb.healthCheck = hc as HealthCheckConfig;
  }
  if (
    isRecord(spec.responseForwarding) &&
    (typeof spec.responseForwarding.flushInterval === 'string' || typeof spec.responseForwarding.flushInterval === 'number')
  ) {
    lb.responseForwarding = { flushInterval: spec.responseForwarding.flushInterval };
  }
  const sticky = stickyOf(spec.sticky);
  if (sticky !== undefined) lb.sticky = sticky;
  const st = asString(spec.serversTransport);
  if (st !== undefined && st !== '') lb.serversTransport = serversTransportName(ctx, parent, st, [...path, 'serversTransport']);
  return lb;
}

/** `sticky.cookie` with the keys Gatehouse knows. */
export function stickyOf(value: unknown): LoadBalancerConfig['sticky'] {
  if (!isRecord(value) || !isRecord(value.cookie)) return undefined;
  const cookie: Record<string, unknown> = {};
  for (const k of COOKIE_KEYS) if (value.cookie[k] !== undefined) cookie[k] = value.cookie[k];
  return { cookie };
}

function servicePorts(svc: K8sObject): ServicePort[] {
  const ports = isRecord(svc.raw.spec) && Array.isArray(svc.raw.spec.ports) ? svc.raw.spec.ports : [];
  const out: ServicePort[] = [];
  for (const p of ports) {
    if (!isRecord(p) || typeof p.port !== 'number') continue;
    out.push({ name: asString(p.name) ?? '', port: p.port, targetPort: portValue(p.targetPort) });
  }
  return out;
}

function loadServers(
  ctx: ConvertContext,
  owner: K8sObject,
  namespace: string,
  spec: Record<string, unknown>,
  path: Path,
): { servers: ServerConfig[]; externalName: boolean } {
  const name = (spec.name as string).endsWith(PROVIDER_SUFFIX)
    ? (spec.name as string).slice(0, -PROVIDER_SUFFIX.length)
    : (spec.name as string);
  const svc = ctx.service(namespace, name);
  if (svc === undefined)
    throw new ConvertFailure(
      [...path, 'name'],
      `Kubernetes Service ${namespace}/${name} not found: expected a v1 Service with that name in namespace ${namespace}`,
    );
  const svcSpec = isRecord(svc.raw.spec) ? svc.raw.spec : {};
  const type = asString(svcSpec.type) ?? 'ClusterIP';
  const wanted = portValue(spec.port);
  if (wanted === undefined)
    throw new ConvertFailure([...path, 'port'], `port is required: expected a port number or name of Service ${namespace}/${name}`);
  const ports = servicePorts(svc);
  let svcPort = ports.find((p) => (typeof wanted === 'number' ? p.port === wanted : p.name === wanted));
  if (svcPort === undefined) {
    if (type !== 'ExternalName' || typeof wanted === 'string') {
      const known = ports.map((p) => (p.name !== '' ? `${p.port} (${p.name})` : String(p.port))).join(', ');
      throw new ConvertFailure(
        [...path, 'port'],
        `Service ${namespace}/${name} has no port ${wanted}: expected one of ${known === '' ? '(none)' : known}`,
      );
    }
    svcPort = { name: '', port: wanted, targetPort: wanted };
  }
  let scheme: string;
  try {
    scheme = schemeFor(spec.scheme, svcPort.name, svcPort.port);
  } catch (e) {
    throw new ConvertFailure([...path, 'scheme'], (e as Error).message);
  }

  if (type === 'ExternalName') {
    if (!ctx.opts.allowExternalNameServices) {
      throw new ConvertFailure(
        [...path, 'name'],
        `Service ${namespace}/${name} is of type ExternalName: ExternalName services are refused unless allowExternalNameServices is enabled`,
      );
    }
    const external = asString(svcSpec.externalName);
    if (external === undefined || external === '')
      throw new ConvertFailure([...path, 'name'], `ExternalName Service ${namespace}/${name} has no spec.externalName`);
    return { servers: [{ url: `${scheme}://${hostPort(external, svcPort.port)}` }], externalName: true };
  }
  if (spec.nativeLB === true) {
    const ip = asString(svcSpec.clusterIP);
    if (ip === undefined || ip === '' || ip === 'None') {
      throw new ConvertFailure(
        [...path, 'nativeLB'],
        `nativeLB needs a ClusterIP: Service ${namespace}/${name} ${ip === 'None' ? 'is headless' : 'has no spec.clusterIP'}`,
      );
    }
    return { servers: [{ url: `${scheme}://${hostPort(ip, svcPort.port)}` }], externalName: false };
  }
  if (spec.nodePortLB === true)
    throw new ConvertFailure([...path, 'nodePortLB'], 'nodePortLB is not supported: Gatehouse does not read Node objects');

  const addresses = endpointAddresses(ctx, namespace, name, svcPort);
  // Traefik's allowEmptyServices=false: no servers → the service is not built, so neither is what uses it.
  if ((addresses === null || addresses.length === 0) && !ctx.opts.allowEmptyServices)
    throw new ConvertFailure([...path, 'name'], noEndpointsMessage(namespace, name), 'GH_CONFIG_REFERENCE');
  if (addresses === null) {
    ctx.warn(owner, path, `Service ${namespace}/${name} has no Endpoints or EndpointSlice: the service has no servers and answers 503`);
    return { servers: [], externalName: false };
  }
  if (addresses.length === 0) {
    ctx.warn(
      owner,
      path,
      `Service ${namespace}/${name} has no ready endpoint on port ${svcPort.name !== '' ? svcPort.name : svcPort.port}: the service has no servers and answers 503`,
    );
  }
  return { servers: addresses.map((a) => ({ url: `${scheme}://${a}` })), externalName: false };
}

const NO_ENDPOINTS_HINT = 'has no endpoints; set --providers.kubernetescrd.allowemptyservices=true to serve 503 instead';

/** The error of a Service without ready endpoints when empty services are not allowed. */
export function noEndpointsMessage(namespace: string, name: string): string {
  return `service ${namespace}/${name} ${NO_ENDPOINTS_HINT}`;
}

/** True for an issue message made by noEndpointsMessage (the object status gives it its own reason). */
export function isNoEndpointsMessage(message: string): boolean {
  return message.includes(NO_ENDPOINTS_HINT);
}

/** Does endpoint port (name, number) serve Service port `sp`? By name (Traefik), else by targetPort. */
function portMatches(sp: ServicePort, name: string, port: number): boolean {
  if (name === sp.name) return true;
  const target = sp.targetPort ?? sp.port;
  return typeof target === 'number' ? name === '' && port === target : name === target;
}

/** Ready `host:port` addresses (deduplicated), or null when the Service has neither EndpointSlices nor Endpoints. */
function endpointAddresses(ctx: ConvertContext, namespace: string, name: string, sp: ServicePort): string[] | null {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (ip: string, port: number): void => {
    const hp = hostPort(ip, port);
    if (!seen.has(hp)) {
      seen.add(hp);
      out.push(hp);
    }
  };
  const slices = ctx.slicesOf(namespace, name);
  if (slices.length > 0) {
    for (const slice of slices) {
      const ports = Array.isArray(slice.raw.ports) ? slice.raw.ports : [];
      const match = ports.find((p) => isRecord(p) && typeof p.port === 'number' && portMatches(sp, asString(p.name) ?? '', p.port));
      if (!isRecord(match)) continue;
      const endpoints = Array.isArray(slice.raw.endpoints) ? slice.raw.endpoints : [];
      for (const ep of endpoints) {
        if (!isRecord(ep) || !Array.isArray(ep.addresses)) continue;
        const ready = isRecord(ep.conditions) ? ep.conditions.ready : undefined;
        if (ready === false) continue;
        for (const a of ep.addresses) if (typeof a === 'string') add(a, match.port as number);
      }
    }
    return out;
  }
  const eps = ctx.endpointsOf(namespace, name);
  if (eps === undefined) return null;
  const subsets = Array.isArray(eps.raw.subsets) ? eps.raw.subsets : [];
  for (const subset of subsets) {
    if (!isRecord(subset)) continue;
    const ports = Array.isArray(subset.ports) ? subset.ports : [];
    const match = ports.find((p) => isRecord(p) && typeof p.port === 'number' && portMatches(sp, asString(p.name) ?? '', p.port));
    if (!isRecord(match)) continue;
    const addrs = Array.isArray(subset.addresses) ? subset.addresses : [];
    for (const a of addrs) if (isRecord(a) && typeof a.ip === 'string') add(a.ip, match.port as number);
  }
  return out;
}
