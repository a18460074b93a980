/**
 * Runs the providers, turns what they deliver into fragments, compiles a
 * snapshot and hands it on. A provider that fails keeps its last good
 * fragment; a broken item only disables itself (see compile.ts). Changes are
 * throttled (Traefik's providersThrottleDuration).
 */
import type { Logger } from '../log.js';
import { formatIssue, type ConfigIssue } from '../errors.js';
import type { MiddlewareRegistry } from '../middlewares/registry.js';
import { compileConfig } from './compile.js';
import { internalFragment, type InternalRoutes } from './internal.js';
import type { ConfigFragment, SourceDocument } from './model.js';
import type { Snapshot } from './runtime.js';
import { FileProvider } from '../providers/file/index.js';
import { fromTraefikFileDocuments } from '../providers/formats/traefik-file.js';
import { compileIdentity } from '../identity/index.js';
import { compileAlertRules } from '../alerts/compile.js';
import { fromKubernetesObjects, type KubernetesConvertOptions } from '../providers/formats/kubernetes/convert.js';

export interface ConfigManagerOptions {
  file: { filename?: string; directory?: string; watch: boolean } | null;
  kubernetes: KubernetesConvertOptions;
  entryPoints: readonly string[];
  defaultEntryPoints: readonly string[];
  defaultRuleSyntax: 'v2' | 'v3';
  registry: MiddlewareRegistry;
  internalRoutes: InternalRoutes;
  internalServices: readonly string[];
  /** Extra fragments (tests, the demo). */
  extraFragments?: readonly ConfigFragment[];
  /** Extra issues to report in every snapshot (e.g. a provider that needs a cluster). */
  staticIssues?: readonly ConfigIssue[];
  throttleMs?: number;
  log: Logger;
}

export class ConfigManager {
  private revision = 0;
  private provider: FileProvider | null = null;
  private docs: SourceDocument[] = [];
  private providerIssues: ConfigIssue[] = [];
  private timer: NodeJS.Timeout | null = null;
  private current: Snapshot | null = null;
  reloads = 0;
  reloadFailures = 0;
  lastReloadSuccess = 0;

  constructor(private readonly opts: ConfigManagerOptions) {}

  get snapshot(): Snapshot | null {
    return this.current;
  }

  /** Load once; when `onChange` is given and the file provider watches, call it with every new snapshot. */
  async start(onChange?: (s: Snapshot) => void): Promise<Snapshot> {
    if (this.opts.file !== null) {
      this.provider = new FileProvider({ ...this.opts.file, log: this.opts.log });
      const first = await this.provider.load();
      this.docs = first.documents;
      this.providerIssues = first.issues;
      if (this.opts.file.watch && onChange !== undefined) {
        this.provider.watch((s) => {
          this.docs = s.documents;
          this.providerIssues = s.issues;
          if (this.timer !== null) clearTimeout(this.timer);
          this.timer = setTimeout(() => {
            this.timer = null;
            onChange(this.compile());
          }, this.opts.throttleMs ?? 0);
          this.timer.unref();
        });
      }
    }
    return this.compile();
  }

  /** Compile what the providers hold now. */
  compile(): Snapshot {
    const fragments: ConfigFragment[] = [
      fromTraefikFileDocuments(this.docs),
      fromKubernetesObjects(this.docs, this.opts.kubernetes),
      internalFragment(this.opts.internalRoutes),
      ...(this.opts.extraFragments ?? []),
    ];
    fragments[0]!.issues.push(...this.providerIssues, ...(this.opts.staticIssues ?? []));
    const snap = compileConfig({
      fragments,
      entryPoints: this.opts.entryPoints,
      defaultEntryPoints: this.opts.defaultEntryPoints,
      defaultRuleSyntax: this.opts.defaultRuleSyntax,
      registry: this.opts.registry,
      revision: ++this.revision,
      internalServices: this.opts.internalServices,
    });
    // Identity objects (Tenant, Application) are validated here so their errors show in check and the API.
    snap.issues.push(...compileIdentity(snap.resources, process.env).issues);
    snap.issues.push(...compileAlertRules(snap.resources).issues);
    this.reloads++;
    const errors = snap.issues.filter((i) => i.severity !== 'warning');
    if (errors.length > 0) this.reloadFailures++;
    else this.lastReloadSuccess = Date.now();
    for (const i of snap.issues) {
      if (i.severity === 'warning') this.opts.log.warn({ file: i.file }, formatIssue(i));
      else this.opts.log.error({ file: i.file }, formatIssue(i));
    }
    this.opts.log.info({ revision: snap.revision, routers: Object.keys(snap.routers).length, services: Object.keys(snap.services).length, middlewares: Object.keys(snap.middlewares).length, errors: errors.length }, 'configuration compiled');
    this.current = snap;
    return snap;
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    await this.provider?.close();
  }
}
