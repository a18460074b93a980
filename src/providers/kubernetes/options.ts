/**
 * `--providers.kubernetescrd.*` (Traefik's flags) → the live provider's
 * configuration, and where the API server is: the flags (endpoint, token,
 * CA file), in-cluster (`KUBERNETES_SERVICE_HOST` and the service-account
 * files), or `KUBECONFIG`. No API server located → null: the objects are read
 * from files only (the file provider), as before.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, join, resolve } from 'node:path';

/** Where a pod's service-account token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/**
 * TESTS ONLY: another directory holding `token`, `ca.crt`, `namespace` in place of
 * SERVICE_ACCOUNT_DIR (so tests need not write to /var/run). Not a flag; never set it in a deployment.
 */
export const SERVICE_ACCOUNT_DIR_ENV = 'GATEHOUSE_SERVICEACCOUNT_DIR';

export interface KubernetesProviderConfig {
  /** `flags` (endpoint given), `in-cluster`, or `kubeconfig` (the file named by KUBECONFIG). */
  source: 'flags' | 'in-cluster' | 'kubeconfig';
  endpoint?: string;
  /** Bearer token (never logged or shown). */
  token?: string;
  /** File holding the bearer token (the service-account token), read again when it changes (token-file.ts). */
  tokenFile?: string;
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
  // KUBECONFIG may be a list (kubectl merges it); the first file is read.
  const kubeconfig = nonEmpty(env.KUBECONFIG?.split(delimiter).find((p) => p.trim() !== ''));
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
  const saDir = nonEmpty(env[SERVICE_ACCOUNT_DIR_ENV]) ?? SERVICE_ACCOUNT_DIR;
  let ca = nonEmpty(k.certAuthFilePath);
  const token = nonEmpty(k.token);
  let tokenFile: string | undefined;
  let server = endpoint;
  let saNamespace: string | undefined;
  if (source === 'in-cluster') {
    // As client-go's InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the service-account files.
    const host = nonEmpty(env.KUBERNETES_SERVICE_HOST)!;
    const port = nonEmpty(env.KUBERNETES_SERVICE_PORT) ?? '443';
    if (!/^\d{1,5}$/.test(port)) throw new Error(`KUBERNETES_SERVICE_PORT: "${port}" is not a port number`);
    server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    ca ??= join(saDir, 'ca.crt');
    try {
      saNamespace = nonEmpty(readFileSync(join(saDir, 'namespace'), 'utf8').slice(0, 253));
    } catch {
      saNamespace = undefined;
    }
  }
  // Without a token flag, the service-account token when mounted (in-cluster it is the only credential).
  if (token === undefined && source !== 'kubeconfig' && (source === 'in-cluster' || existsSync(join(saDir, 'token'))))
    tokenFile = join(saDir, 'token');
  const labelSelector = nonEmpty(k.labelSelector);
  const ingressClass = nonEmpty(k.ingressClass);
  return {
    source,
    ...(server !== undefined ? { endpoint: server } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
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
    leaseNamespace: nonEmpty(k.leaseNamespace) ?? nonEmpty(env.POD_NAMESPACE) ?? saNamespace ?? 'default',
  };
}
