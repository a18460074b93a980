/**
 * Kubernetes objects (parsed YAML documents) → a `kubernetescrd` configuration
 * fragment, with Traefik's kubernetescrd provider semantics: IngressRoute,
 * Middleware, TraefikService, ServersTransport, TLSOption and TLSStore of the
 * traefik.io and traefik.containo.us groups, resolved against core Services,
 * Endpoints, EndpointSlices and Secrets (v1 Secrets, and those akv2k8s's
 * AzureKeyVaultSecret objects write: azure-key-vault-secret.ts). `gatehouse.dev` kinds are passed
 * through as resources; cluster plumbing (Deployments, RBAC, CRDs, …) is
 * ignored. See docs/kubernetes-objects.md.
 */
import { emptyFragment, type ConfigFragment, type SourceDocument } from '../../../config/model.js';
import { convertIngressRoute } from './ingress-route.js';
import { convertIngressRouteTcp, convertMiddlewareTcp } from './ingress-route-tcp.js';
import { convertMiddleware } from './middleware.js';
import { PROVIDER } from './naming.js';
import { asString, ConvertContext, isRecord, type K8sObject, type Path } from './objects.js';
import { convertTraefikService } from './traefik-service.js';
import { AKV_GROUPS, convertAzureKeyVaultSecret, isAzureKeyVaultSecret } from './azure-key-vault-secret.js';
import { withApplicationSecrets } from './application-secrets.js';
import { convertServersTransport, convertTlsOption } from './transport.js';
import { convertTlsStore } from './tls.js';

export interface KubernetesConvertOptions {
  /** Allow references to middlewares, services, TLS options in another namespace (default false, as Traefik). */
  allowCrossNamespace?: boolean;
  /** Allow `type: ExternalName` Services as backends (default false, as Traefik). */
  allowExternalNameServices?: boolean;
  /**
   * A Service without ready endpoints: true keeps it with no servers (it answers 503, with a warning); false leaves
   * out the route (or TraefikService, errors middleware) using it, with an error — Traefik's
   * `--providers.kubernetescrd.allowemptyservices` (default false). Absent = true: objects read from files
   * (which rarely carry Endpoints) keep their routes; the live provider passes the flag.
   */
  allowEmptyServices?: boolean;
  /** Only read objects in these namespaces (empty or absent = all). */
  namespaces?: string[];
  /** Namespace of objects without metadata.namespace (default `default`; `kubectl -n` semantics). */
  defaultNamespace?: string;
}

const TRAEFIK_GROUPS = new Set(['traefik.io', 'traefik.containo.us']);
const GATEHOUSE_GROUP = 'gatehouse.dev';
const NOT_SUPPORTED_YET = new Set(['IngressRouteUDP', 'ServersTransportTCP']);
const MAX_LIST_DEPTH = 4;

/** True for a value with a string `apiVersion` and `kind` (a Kubernetes object). */
export function isKubernetesObject(value: unknown): boolean {
  return isRecord(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string';
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function collect(ctx: ConvertContext, doc: SourceDocument, value: unknown, base: Path, depth: number, out: K8sObject[]): void {
  if (!isKubernetesObject(value)) return;
  const raw = value as Record<string, unknown>;
  const apiVersion = raw.apiVersion as string;
  const kind = raw.kind as string;
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(raw.items))) {
    if (depth >= MAX_LIST_DEPTH || !Array.isArray(raw.items)) return;
    raw.items.forEach((item: unknown, i: number) => collect(ctx, doc, item, [...base, 'items', i], depth + 1, out));
    return;
  }
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const name = asString(meta.name) ?? asString(meta.generateName) ?? '';
  const namespace = asString(meta.namespace) ?? ctx.opts.defaultNamespace;
  const obj: K8sObject = {
    apiVersion,
    group: groupOf(apiVersion),
    kind,
    name,
    namespace,
    doc,
    base,
    raw,
    label: `${kind} ${namespace}/${name}`,
  };
  if (!isRelevant(obj)) return;
  if (name === '') {
    ctx.error(obj, ['metadata', 'name'], `${kind} without metadata.name is ignored: expected a name`);
    return;
  }
  if (ctx.opts.namespaces !== null && !ctx.opts.namespaces.has(namespace)) return;
  out.push(obj);
}

const EXTERNAL_DNS_GROUP = 'externaldns.k8s.io';

function isRelevant(obj: K8sObject): boolean {
  if (TRAEFIK_GROUPS.has(obj.group) || obj.group === GATEHOUSE_GROUP) return true;
  if (AKV_GROUPS.has(obj.group)) return obj.kind === 'AzureKeyVaultSecret';
  // ExternalDNS's own records (docs/dns.md): published by the DNS publisher, passed through as resources.
  if (obj.group === EXTERNAL_DNS_GROUP) return obj.kind === 'DNSEndpoint';
  if (obj.apiVersion === 'v1') return obj.kind === 'Service' || obj.kind === 'Endpoints' || obj.kind === 'Secret';
  return obj.group === 'discovery.k8s.io' && obj.kind === 'EndpointSlice';
}

/** Convert Kubernetes objects to the `kubernetescrd` fragment. Never throws on bad input: problems become issues. */
export function fromKubernetesObjects(docs: SourceDocument[], opts: KubernetesConvertOptions = {}): ConfigFragment {
  const fragment = emptyFragment(PROVIDER);
  const ctx = new ConvertContext(
    {
      allowCrossNamespace: opts.allowCrossNamespace === true,
      allowExternalNameServices: opts.allowExternalNameServices === true,
      allowEmptyServices: opts.allowEmptyServices !== false,
      namespaces: opts.namespaces !== undefined && opts.namespaces.length > 0 ? new Set(opts.namespaces) : null,
      defaultNamespace: opts.defaultNamespace !== undefined && opts.defaultNamespace !== '' ? opts.defaultNamespace : 'default',
    },
    fragment,
  );
  const objects: K8sObject[] = [];
  for (const doc of docs) collect(ctx, doc, doc.value, [], 0, objects);
  for (const obj of objects) ctx.index(obj);
  // Secrets written by akv2k8s objects, before anything that references a Secret.
  for (const obj of objects) if (isAzureKeyVaultSecret(obj)) convertAzureKeyVaultSecret(ctx, obj);

  for (const obj of objects) {
    if (obj.group === GATEHOUSE_GROUP || (obj.group === EXTERNAL_DNS_GROUP && obj.kind === 'DNSEndpoint')) {
      fragment.resources.push({
        kind: obj.kind,
        name: obj.name,
        namespace: obj.namespace,
        spec: withApplicationSecrets(ctx, obj, structuredClone(obj.raw.spec)),
        source: ctx.loc(obj, []),
      });
      continue;
    }
    if (!TRAEFIK_GROUPS.has(obj.group)) continue;
    switch (obj.kind) {
      case 'Middleware':
        convertMiddleware(ctx, obj);
        break;
      case 'TraefikService':
        convertTraefikService(ctx, obj);
        break;
      case 'ServersTransport':
        convertServersTransport(ctx, obj);
        break;
      case 'TLSOption':
        convertTlsOption(ctx, obj);
        break;
      case 'TLSStore':
        convertTlsStore(ctx, obj);
        break;
      case 'MiddlewareTCP':
        convertMiddlewareTcp(ctx, obj);
        break;
      case 'IngressRoute':
      case 'IngressRouteTCP':
        break; // after the services they may reference, below
      default:
        ctx.warn(
          obj,
          [],
          NOT_SUPPORTED_YET.has(obj.kind) ? `${obj.kind} is not supported yet: ignored` : `unknown Traefik kind ${obj.kind}: ignored`,
        );
    }
  }
  for (const obj of objects) if (TRAEFIK_GROUPS.has(obj.group) && obj.kind === 'IngressRoute') convertIngressRoute(ctx, obj);
  for (const obj of objects) if (TRAEFIK_GROUPS.has(obj.group) && obj.kind === 'IngressRouteTCP') convertIngressRouteTcp(ctx, obj);
  return fragment;
}
