/**
 * What `serve` needs, normalised from the static configuration (flags, env,
 * file). Plain data: the primary sends it to every worker.
 */
import type { EntryPointSpec } from './gateway.js';
import type { KubernetesConvertOptions } from '../providers/kubernetes/convert.js';

export interface ServeOptions {
  entryPoints: EntryPointSpec[];
  /** Entry points a router without entryPoints attaches to. */
  defaultEntryPoints: string[];
  file: { filename?: string; directory?: string; watch: boolean } | null;
  /** `--providers.kubernetescrd` was given (needs a cluster). */
  kubernetesCrd: boolean;
  kubernetes: KubernetesConvertOptions;
  api: { enabled: boolean; insecure: boolean; dashboard: boolean };
  ping: { entryPoint: string } | null;
  metrics: { entryPoint: string; addRoutersLabels: boolean; addEntryPointsLabels: boolean; addServicesLabels: boolean; buckets: number[] } | null;
  /** Per-request golden metrics on/off, and the header naming the caller when no verified token does (lower-case). */
  observability: { metrics: boolean; callerHeader: string | null };
  accessLog: { format: 'common' | 'json'; filePath: string | null; bufferingSize: number } | null;
  logLevel: string;
  identity: { enabled: boolean; insecure: boolean; issuerBaseUrl: string | null };
  workers: number;
  dataDir: string;
  defaultRuleSyntax: 'v2' | 'v3';
  throttleMs: number;
  maxHeaderSize: number;
}
