/**
 * The ExternalDNS annotations and labels of an IngressRoute or IngressRouteTCP
 * (`external-dns.kubernetes.io/target`, `/exclude`, also under the older
 * `external-dns.alpha.kubernetes.io/` prefix), kept per router beside the
 * fragment's routers (`fragment.externalDns`) for the DNS publisher
 * (docs/dns.md). Only those keys are copied: other annotations stay out of the
 * snapshot (kubectl's last-applied-configuration holds the whole object,
 * Secrets included, and the snapshot is shown in the API).
 */
import type { ExternalDnsMetadata } from '../../../config/model.js';
import { EXTERNAL_DNS_PREFIXES } from '../../../dns/desired.js';
import { isRecord, type ConvertContext, type K8sObject } from './objects.js';

/** The string entries of `map` whose keys start with an ExternalDNS prefix; undefined when there is none. */
function pick(map: unknown): Record<string, string> | undefined {
  if (!isRecord(map)) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' || !EXTERNAL_DNS_PREFIXES.some((p) => k.startsWith(p))) continue;
    // A plain object is safe: every key kept starts with an ExternalDNS prefix (never `__proto__`).
    out ??= {};
    out[k] = v;
  }
  return out;
}

/** The ExternalDNS annotations and labels of an object (only those keys); undefined when it has none. */
export function externalDnsMetadata(obj: K8sObject): ExternalDnsMetadata | undefined {
  const meta = isRecord(obj.raw.metadata) ? obj.raw.metadata : {};
  const annotations = pick(meta.annotations);
  const labels = pick(meta.labels);
  if (annotations === undefined && labels === undefined) return undefined;
  return { ...(annotations !== undefined ? { annotations } : {}), ...(labels !== undefined ? { labels } : {}) };
}

/** Record the object's ExternalDNS metadata for the router `key` (provider-local name) of `section`. */
export function recordExternalDns(ctx: ConvertContext, section: 'routers' | 'tcpRouters', key: string, obj: K8sObject): void {
  const meta = externalDnsMetadata(obj);
  const frag = ctx.fragment;
  if (meta === undefined) {
    // A route of the same name written before (a replaced route) does not lend its metadata.
    if (frag.externalDns !== undefined) delete frag.externalDns[section][key];
    return;
  }
  frag.externalDns ??= {
    routers: Object.create(null) as Record<string, ExternalDnsMetadata>,
    tcpRouters: Object.create(null) as Record<string, ExternalDnsMetadata>,
  };
  frag.externalDns[section][key] = meta;
}
