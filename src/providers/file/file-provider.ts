/**
 * Traefik's file provider behind the provider seam: the documents of one file
 * or directory (src/providers/file/file-source.ts: last good version per file,
 * watching) converted by every format into fragments `file` (Traefik's file
 * format) and `kubernetescrd` (Kubernetes objects read from files).
 */
import { F, type Logger } from '../../log.js';
import type { ConfigFragment } from '../../config/model.js';
import type { RefusedSource } from '../../config/runtime.js';
import { fragmentsFromDocuments, type FormatOptions } from '../formats/index.js';
import type { Provider, ProviderMessage, ProviderReconciliation, ProviderStatus } from '../types.js';
import { FileSource, type FileDocuments } from './file-source.js';

export interface FileProviderOptions extends FormatOptions {
  filename?: string;
  directory?: string;
  watch: boolean;
  log: Logger;
  /** Quiet period before a reload (ms), see FileSource. */
  debounceMs?: number;
}

export class FileProvider implements Provider {
  readonly name = 'file';
  readonly #source: FileSource;
  readonly #opts: FileProviderOptions;
  readonly #log: Logger;
  #revision = 0;
  #history: ProviderReconciliation[] = [];
  /** Routers (qualified names) each file defined in the last message. */
  #routersByFile = new Map<string, string[]>();
  #status: ProviderStatus = { name: 'file', state: 'starting', revision: '', lastUpdate: '', message: '' };

  constructor(opts: FileProviderOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ [F.provider]: 'file' });
    this.#source = new FileSource({
      ...(opts.filename !== undefined ? { filename: opts.filename } : {}),
      ...(opts.directory !== undefined ? { directory: opts.directory } : {}),
      watch: opts.watch,
      log: opts.log,
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    });
  }

  async start(emit: (msg: ProviderMessage) => void): Promise<void> {
    const send = (docs: FileDocuments): void => emit(this.#message(docs));
    send(await this.#source.load());
    this.#source.watch(send);
  }

  #message(docs: FileDocuments): ProviderMessage {
    const revision = String(++this.#revision);
    const broken = docs.issues.filter((i) => i.severity !== 'warning');
    const at = new Date().toISOString();
    const where = [...new Set(broken.map((i) => `${i.file ?? '(unknown)'}${i.line !== undefined ? `:${i.line}` : ''}`))];
    const message =
      broken.length === 0
        ? ''
        : `${where.length === 1 ? '1 file' : `${where.length} files`} refused (${where.join(', ')}); serving their last good version`;
    const ready = broken.length === 0;
    const reason = ready ? 'ReconciliationSucceeded' : 'BuildFailed';
    const prevReady = this.#status.conditions?.find((c) => c.type === 'Ready');
    this.#history = [
      {
        revision,
        at,
        result: ready ? ('applied' as const) : ('refused' as const),
        reason,
        message: ready
          ? 'applied'
          : broken.map((i) => `${i.file ?? ''}${i.line !== undefined ? `:${i.line}` : ''}: ${i.message}`).join('; '),
      },
      ...this.#history,
    ].slice(0, 5);
    this.#status = {
      name: this.name,
      state: ready ? 'ready' : 'degraded',
      revision,
      lastUpdate: at,
      message,
      type: 'file',
      url: this.#opts.directory ?? this.#opts.filename ?? '',
      lastAttemptedRevision: revision,
      lastAppliedRevision: revision,
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason,
          message: ready ? `applied revision ${revision}` : message,
          lastTransitionTime:
            prevReady !== undefined && prevReady.status === (ready ? 'True' : 'False') ? prevReady.lastTransitionTime : at,
        },
      ],
      lastHandledAt: at,
      history: this.#history,
    };
    const fragments = fragmentsFromDocuments(docs.documents, this.#opts);
    this.#warnRemovedRouters(fragments);
    const refused = docs.refused.map((r): RefusedSource => ({
      provider: this.name,
      file: r.issue.file ?? '(unknown)',
      ...(r.issue.line !== undefined ? { line: r.issue.line } : {}),
      ...(r.issue.column !== undefined ? { column: r.issue.column } : {}),
      ...(r.issue.field !== undefined ? { field: r.issue.field } : {}),
      code: r.issue.code ?? 'GH_CONFIG_PARSE',
      message: r.issue.message,
      since: new Date(r.since).toISOString(),
      lastGood: r.lastGood === null ? null : new Date(r.lastGood).toISOString(),
    }));
    return { provider: this.name, revision, fragments, issues: docs.issues, refused };
  }

  /**
   * A file that used to define routers and now defines none (emptied, or
   * removed) takes them out of service, as in Traefik: most outages by
   * configuration start that way, so it is said at warn level, with names.
   */
  #warnRemovedRouters(fragments: readonly ConfigFragment[]): void {
    const now = new Map<string, string[]>();
    for (const f of fragments)
      for (const [name, item] of Object.entries(f.routers)) {
        const file = item.source.file ?? '(unknown)';
        const list = now.get(file) ?? [];
        list.push(`${name}@${f.provider}`);
        now.set(file, list);
      }
    for (const [file, unsorted] of this.#routersByFile) {
      const before = [...unsorted].sort();
      if (now.has(file)) continue;
      this.#log.warn(
        { [F.file]: file, routers: before },
        `${file} no longer defines any router (emptied or removed): ${before.length} router(s) removed: ${before.join(', ')}`,
      );
    }
    this.#routersByFile = now;
  }

  status(): ProviderStatus {
    return this.#status;
  }

  async close(): Promise<void> {
    await this.#source.close();
    this.#status = { ...this.#status, state: 'stopped' };
  }
}
