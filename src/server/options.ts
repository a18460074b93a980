/**
 * What `serve` needs, normalised from the static configuration (flags, env,
 * file). Plain data: the primary sends it to every worker.
 */
import type { EntryPointSpec } from './gateway.js';
import type { KubernetesConvertOptions } from '../providers/formats/kubernetes/convert.js';
import type { AccessLogFields } from '../observe/access-log.js';
import type { SecretsOptions } from '../secrets/options.js';
import type { GitProviderConfig } from '../providers/git/options.js';
import type { KubernetesProviderConfig } from '../providers/kubernetes/options.js';
import type { RedisOptions } from '../middlewares/rate-limit/redis-options.js';
import type { EntryPointTls } from '../tls/compile.js';
import type { AcmeResolverConfig } from '../tls/acme/config.js';
import type { DnsOptions } from '../dns/options.js';

export interface ServeOptions {
  entryPoints: EntryPointSpec[];
  /** Entry points a router without entryPoints attaches to. */
  defaultEntryPoints: string[];
  file: { filename?: string; directory?: string; watch: boolean } | null;
  /** `--providers.git.*` (docs/gitops.md), checked. */
  git: GitProviderConfig | null;
  /** `--providers.kubernetescrd` was given (needs a cluster). */
  kubernetesCrd: boolean;
  /** The live kubernetescrd provider (docs/kubernetes.md): null when no API server is located. */
  kubernetesApi: KubernetesProviderConfig | null;
  kubernetes: KubernetesConvertOptions;
  api: { enabled: boolean; insecure: boolean; dashboard: boolean };
  ping: { entryPoint: string } | null;
  metrics: {
    entryPoint: string;
    addRoutersLabels: boolean;
    addEntryPointsLabels: boolean;
    addServicesLabels: boolean;
    buckets: number[];
  } | null;
  /** Per-request golden metrics on/off, and the header naming the caller when no verified token does (lower-case). */
  observability: { metrics: boolean; callerHeader: string | null };
  accessLog: { format: 'common' | 'json'; filePath: string | null; bufferingSize: number; fields: AccessLogFields } | null;
  logLevel: string;
  /** Log file (default stderr). */
  logFile: string | null;
  /** Middlewares (qualified names) run before every router of an entry point (`entryPoints.<name>.http.middlewares`). */
  entryPointMiddlewares: Record<string, string[]>;
  /** `entryPoints.<name>.http.redirections.entryPoint`: every request on `from` is redirected. */
  redirections: Array<{ from: string; scheme: string; port: number; permanent: boolean; priority: number }>;
  /** `entryPoints.<name>.http.tls`: every router on that entry point speaks TLS (docs/tls.md). */
  entryPointTls: Record<string, EntryPointTls>;
  /** Names of the configured certificate resolvers (`certificatesResolvers.<name>`). */
  certificateResolvers: string[];
  /** `--dns.*`: the DNS record publisher (docs/dns.md); null without --dns.provider. */
  dns: DnsOptions | null;
  /** `certificatesResolvers.<name>.acme.*`, checked (docs/tls.md). */
  acme: AcmeResolverConfig[];
  /** Default transport of services that name none (`serversTransport.*`). */
  defaultTransport: { insecureSkipVerify: boolean; rootCAs: string[]; maxIdleConnsPerHost: number };
  /** Status of /ping while shutting down. */
  pingTerminatingStatus: number;
  identity: { enabled: boolean; insecure: boolean; issuerBaseUrl: string | null };
  /** `--secrets.*`: Azure Key Vault access and refresh (docs/secrets.md). */
  secrets: SecretsOptions;
  /** `--redis.*`: limits shared by every replica (docs/redis.md); null without `--redis.endpoints`. */
  redis: RedisOptions | null;
  workers: number;
  dataDir: string;
  defaultRuleSyntax: 'v2' | 'v3';
  throttleMs: number;
  maxHeaderSize: number;
}
