/**
 * `--providers.kubernetescrd.*` (Traefik's flags) → the live provider's
 * configuration, and where the API server is: the flags (endpoint, token,
 * CA file), in-cluster (`KUBERNETES_SERVICE_HOST` and the service-account
 * files), or `KUBECONFIG`. No API server located → null: the objects are read
 * from files only (the file provider), as before.
 */
import { resolve } from 'node:path';

export interface KubernetesProviderConfig {
  /** `flags` (endpoint given), `in-cluster`, or `kubeconfig` (the file named by KUBECONFIG). */
  source: 'flags' | 'in-cluster' | 'kubeconfig';
  endpoint?: string;
  /** Bearer token (never logged or shown). */
  token?: string;
  certAuthFilePath?: string;
  kubeconfigPath?: string;
  /** Namespaces to watch (empty = all). */
  namespaces: string[];
  /** Only Traefik/Gatehouse objects matching this label selector. */
  labelSelector?: string;
  /** Only objects whose `kubernetes.io/ingress.class` annotation is this. */
  ingressClass?: string;
  allowCrossNamespace: boolean;
  allowExternalNameServices: boolean;
  allowEmptyServices: boolean;
  /** Least time between two messages (Traefik's throttleDuration). */
  throttleMs: number;
  /** Namespace of the `gatehouse-status` Lease (flag, else POD_NAMESPACE, else `default`). */
  leaseNamespace?: string;
}

export interface KubernetesCrdStatic {
  endpoint?: string;
  token?: string;
  certAuthFilePath?: string;
  namespaces?: readonly string[];
  labelSelector?: string;
  ingressClass?: string;
  allowCrossNamespace?: boolean;
  allowExternalNameServices?: boolean;
  allowEmptyServices?: boolean;
  throttleDuration?: number;
  leaseNamespace?: string;
}

export function kubernetesOptionsFromStatic(
  k: KubernetesCrdStatic | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): KubernetesProviderConfig | null {
  if (k === undefined) return null;
  const nonEmpty = (s: string | undefined): string | undefined => (s !== undefined && s.trim() !== '' ? s.trim() : undefined);
  const endpoint = nonEmpty(k.endpoint);
  const kubeconfig = nonEmpty(env.KUBECONFIG);
  const source =
    endpoint !== undefined
      ? 'flags'
      : nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined
        ? 'in-cluster'
        : kubeconfig !== undefined
          ? 'kubeconfig'
          : null;
  if (source === null) return null;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
    throw new Error(`providers.kubernetesCRD.endpoint: "${endpoint}" is not a URL: expected https://host:port`);
  const ca = nonEmpty(k.certAuthFilePath);
  const token = nonEmpty(k.token);
  const labelSelector = nonEmpty(k.labelSelector);
  const ingressClass = nonEmpty(k.ingressClass);
  return {
    source,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(ca !== undefined ? { certAuthFilePath: resolve(cwd, ca) } : {}),
    ...(source === 'kubeconfig' && kubeconfig !== undefined ? { kubeconfigPath: resolve(cwd, kubeconfig) } : {}),
    namespaces: [...(k.namespaces ?? [])]
      .flatMap((n) => n.split(','))
      .map((n) => n.trim())
      .filter((n) => n !== ''),
    ...(labelSelector !== undefined ? { labelSelector } : {}),
    ...(ingressClass !== undefined ? { ingressClass } : {}),
    allowCrossNamespace: k.allowCrossNamespace ?? false,
    allowExternalNameServices: k.allowExternalNameServices ?? false,
    allowEmptyServices: k.allowEmptyServices ?? false,
    throttleMs: k.throttleDuration ?? 2000,
    leaseNamespace: nonEmpty(k.leaseNamespace) ?? nonEmpty(env.POD_NAMESPACE) ?? 'default',
  };
}
