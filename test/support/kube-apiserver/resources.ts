/**
 * The API resources the stand-in serves (discovery and routing), as the
 * Kubernetes API describes them: group, version, kind, plural, scope, and
 * whether the `/status` subresource exists.
 */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly status: boolean;
  /** A CustomResourceDefinition (strategic merge patch refused, items keep apiVersion/kind in lists). */
  readonly custom: boolean;
  readonly shortNames?: readonly string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const RESOURCE_VERBS: readonly string[] = VERBS;

function core(kind: string, plural: string, namespaced = true, status = false, shortNames?: string[]): ResourceType {
  return { group: '', version: 'v1', kind, plural, singular: kind.toLowerCase(), namespaced, status, custom: false, shortNames };
}

const TRAEFIK_KINDS: ReadonlyArray<[string, string]> = [
  ['IngressRoute', 'ingressroutes'],
  ['Middleware', 'middlewares'],
  ['TraefikService', 'traefikservices'],
  ['ServersTransport', 'serverstransports'],
  ['TLSOption', 'tlsoptions'],
  ['TLSStore', 'tlsstores'],
  ['IngressRouteTCP', 'ingressroutetcps'],
  ['MiddlewareTCP', 'middlewaretcps'],
];
const GATEHOUSE_KINDS: ReadonlyArray<[string, string]> = [
  ['Tenant', 'tenants'],
  ['Application', 'applications'],
  ['AlertRule', 'alertrules'],
  ['AzureKeyVaultSecret', 'azurekeyvaultsecrets'],
];

function custom(group: string, [kind, plural]: [string, string]): ResourceType {
  return { group, version: 'v1alpha1', kind, plural, singular: kind.toLowerCase(), namespaced: true, status: true, custom: true };
}

export const RESOURCES: readonly ResourceType[] = [
  core('Namespace', 'namespaces', false, true, ['ns']),
  core('Service', 'services', true, true, ['svc']),
  core('Endpoints', 'endpoints', true, false, ['ep']),
  core('Secret', 'secrets'),
  core('Event', 'events', true, false, ['ev']),
  core('ConfigMap', 'configmaps', true, false, ['cm']),
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    singular: 'endpointslice',
    namespaced: true,
    status: false,
    custom: false,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    status: false,
    custom: false,
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    singular: 'validatingwebhookconfiguration',
    namespaced: false,
    status: false,
    custom: false,
  },
  ...TRAEFIK_KINDS.map((k) => custom('traefik.io', k)),
  ...TRAEFIK_KINDS.map((k) => custom('traefik.containo.us', k)),
  ...GATEHOUSE_KINDS.map((k) => custom('gatehouse.dev', k)),
  // ExternalDNS's CRD (kubernetes-sigs/external-dns config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml):
  // namespaced, with the status subresource. `KubeApiServer.start({ withoutGroups: ['externaldns.k8s.io'] })`
  // is a cluster without it.
  custom('externaldns.k8s.io', ['DNSEndpoint', 'dnsendpoints']),
];

export const apiVersionOf = (r: ResourceType): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);

/** Resources of one group/version (`''`/`v1` for the core group). */
export function resourcesOf(group: string, version: string, table: readonly ResourceType[] = RESOURCES): ResourceType[] {
  return table.filter((r) => r.group === group && r.version === version);
}

export function findResource(
  group: string,
  version: string,
  plural: string,
  table: readonly ResourceType[] = RESOURCES,
): ResourceType | undefined {
  return table.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** Groups other than core, each with its versions (preferred first). */
export function groups(table: readonly ResourceType[] = RESOURCES): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of table) {
    if (r.group === '') continue;
    const v = out.get(r.group) ?? [];
    if (!v.includes(r.version)) v.push(r.version);
    out.set(r.group, v);
  }
  return out;
}

/** The APIResourceList of a group/version (`/api/v1`, `/apis/<g>/<v>`). */
export function apiResourceList(group: string, version: string, table: readonly ResourceType[] = RESOURCES): Record<string, unknown> {
  const resources: Array<Record<string, unknown>> = [];
  for (const r of resourcesOf(group, version, table)) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames !== undefined ? { shortNames: r.shortNames } : {}),
      ...(r.custom ? { categories: ['all'] } : {}),
    });
    if (r.status)
      resources.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
