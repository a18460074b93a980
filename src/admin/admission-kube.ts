/**
 * The core objects the admission webhook's translation resolves an object
 * against (its namespace's Services, EndpointSlices and Endpoints, and the
 * Secrets it names), read from the provider's API server at review time with
 * the provider's own credentials. `@kubernetes/client-node` is loaded on the
 * first review only (as the provider loads it: src/providers/kubernetes/index.ts).
 */
import type { KubernetesProviderConfig } from '../providers/kubernetes/index.js';
import { apiVersionOf, ENDPOINT_SLICE, ENDPOINTS, SERVICE } from '../providers/kubernetes/kinds.js';

export interface CoreObjectReader {
  /** The API server's address (as the provider names its documents). */
  readonly server: string;
  read(namespace: string, secrets: readonly string[]): Promise<unknown[]>;
}

export async function kubernetesCoreObjects(config: KubernetesProviderConfig): Promise<CoreObjectReader> {
  const { kubeConfigFor } = await import('../providers/kubernetes/kubernetes-provider.js');
  const { KubernetesObjectApi } = await import('@kubernetes/client-node');
  const kc = kubeConfigFor(config);
  const api = kc.makeApiClient(KubernetesObjectApi);
  const server = kc.getCurrentCluster()?.server ?? config.endpoint ?? '';
  return {
    server,
    async read(namespace, secrets) {
      const out: unknown[] = [];
      for (const k of [SERVICE, ENDPOINT_SLICE, ENDPOINTS]) {
        const apiVersion = apiVersionOf(k);
        try {
          const list = await api.list(apiVersion, k.kind, namespace);
          for (const item of list.items) out.push({ ...item, apiVersion, kind: k.kind });
        } catch {
          // A kind the cluster does not serve (Endpoints where only slices exist): nothing to resolve against.
        }
      }
      for (const key of secrets) {
        const slash = key.indexOf('/');
        const ns = key.slice(0, slash);
        if (ns !== namespace) continue; // only the object's own namespace
        try {
          const s = await api.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: key.slice(slash + 1), namespace: ns } });
          out.push({ ...s, apiVersion: 'v1', kind: 'Secret' });
        } catch {
          // Absent: the translation reports the unresolved reference.
        }
      }
      return out;
    },
  };
}
