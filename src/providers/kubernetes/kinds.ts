/** The kinds the provider watches, with their API paths. */
export interface WatchedKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  /** Traefik and Gatehouse objects: filtered by labelSelector and ingressClass. */
  readonly crd: boolean;
}

const TRAEFIK = [
  ['IngressRoute', 'ingressroutes'],
  ['Middleware', 'middlewares'],
  ['TraefikService', 'traefikservices'],
  ['ServersTransport', 'serverstransports'],
  ['TLSOption', 'tlsoptions'],
  ['TLSStore', 'tlsstores'],
  ['IngressRouteTCP', 'ingressroutetcps'],
  ['MiddlewareTCP', 'middlewaretcps'],
] as const;
const GATEHOUSE = [
  ['Tenant', 'tenants'],
  ['Application', 'applications'],
  ['AlertRule', 'alertrules'],
] as const;

const crd =
  (group: string) =>
  ([kind, plural]: readonly [string, string]): WatchedKind => ({ group, version: 'v1alpha1', kind, plural, crd: true });

export const CRD_KINDS: readonly WatchedKind[] = [
  ...TRAEFIK.map(crd('traefik.io')),
  ...TRAEFIK.map(crd('traefik.containo.us')),
  ...GATEHOUSE.map(crd('gatehouse.dev')),
];
/**
 * ExternalDNS's `DNSEndpoint` (externaldns.k8s.io/v1alpha1): records the DNS publisher writes (docs/dns.md).
 * Watched when the cluster has the CRD (ExternalDNS installs it; Gatehouse does not ship it): a cluster
 * without it answers 404 and the provider goes on without the kind, probing again every minute.
 * Filtered by labelSelector and ingressClass like the Traefik and Gatehouse kinds.
 */
export const DNS_ENDPOINT: WatchedKind = {
  group: 'externaldns.k8s.io',
  version: 'v1alpha1',
  kind: 'DNSEndpoint',
  plural: 'dnsendpoints',
  crd: true,
};
/** Kinds whose CRD may be missing from a cluster without that being a problem (logged once, not a failed watch). */
export const OPTIONAL_KINDS: readonly WatchedKind[] = [DNS_ENDPOINT];
export const SERVICE: WatchedKind = { group: '', version: 'v1', kind: 'Service', plural: 'services', crd: false };
export const ENDPOINT_SLICE: WatchedKind = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  crd: false,
};
export const ENDPOINTS: WatchedKind = { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', crd: false };
export const SECRET: WatchedKind = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', crd: false };

export const apiVersionOf = (k: WatchedKind): string => (k.group === '' ? k.version : `${k.group}/${k.version}`);

/** `/api/v1/namespaces/ns/services`, `/apis/traefik.io/v1alpha1/ingressroutes`. */
export function collectionPath(k: WatchedKind, namespace: string | null): string {
  const root = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  return namespace === null ? `${root}/${k.plural}` : `${root}/namespaces/${encodeURIComponent(namespace)}/${k.plural}`;
}
