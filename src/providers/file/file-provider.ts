/**
 * Traefik's file provider behind the provider seam: the documents of one file
 * or directory (src/providers/file/file-source.ts: last good version per file,
 * watching) converted by every format into fragments `file` (Traefik's file
 * format) and `kubernetescrd` (Kubernetes objects read from files).
 */
import type { Logger } from '../../log.js';
import { fragmentsFromDocuments, type FormatOptions } from '../formats/index.js';
import type { Provider, ProviderMessage, ProviderStatus } from '../types.js';
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
  #revision = 0;
  #status: ProviderStatus = { name: 'file', state: 'starting', revision: '', lastUpdate: '', message: '' };

  constructor(opts: FileProviderOptions) {
    this.#opts = opts;
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
    this.#status = {
      name: this.name,
      state: broken.length > 0 ? 'degraded' : 'ready',
      revision,
      lastUpdate: new Date().toISOString(),
      message: broken.length > 0 ? `${broken.length} file(s) refused; serving their last good version` : '',
    };
    return { provider: this.name, revision, fragments: fragmentsFromDocuments(docs.documents, this.#opts), issues: docs.issues };
  }

  status(): ProviderStatus {
    return this.#status;
  }

  async close(): Promise<void> {
    await this.#source.close();
    this.#status = { ...this.#status, state: 'stopped' };
  }
}
