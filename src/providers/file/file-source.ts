/**
 * The file provider's source: one file or a directory read recursively, each file
 * kept at its last good version while it does not parse, watched with
 * fs.watch (each directory, so new sub-directories, deletes and rename-replaced
 * files are seen) and falling back to a 1 s poll when watching fails.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SourceDocument } from '../../config/model.js';
import type { ConfigIssue } from '../../errors.js';
import { F, type Logger } from '../../log.js';
import { parseConfigText } from '../../config/parse-documents.js';
import { scanDirectory } from './scan.js';

export interface FileDocuments {
  documents: SourceDocument[];
  issues: ConfigIssue[];
}

export interface FileSourceOptions {
  filename?: string;
  directory?: string;
  watch: boolean;
  log: Logger;
  /** Quiet period before a reload (ms). Default 200. */
  debounceMs?: number;
  /** Longest a burst of events can delay a reload (ms). Default 800. */
  maxDelayMs?: number;
  /** Poll interval when fs.watch is unavailable (ms). Default 1000. */
  pollMs?: number;
}

/** Files larger than this are refused (the previous version is kept). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

interface FileState {
  text: string;
  good: SourceDocument[];
  error?: ConfigIssue;
}

export class FileSource {
  readonly #filename: string | undefined;
  readonly #directory: string | undefined;
  readonly #watchEnabled: boolean;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  readonly #pollMs: number;
  readonly #files = new Map<string, FileState>();
  #dirs: string[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #onChange: ((s: FileDocuments) => void) | undefined;
  readonly #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: FileSourceOptions) {
    if ((opts.filename === undefined) === (opts.directory === undefined)) {
      throw new TypeError('FileSource: set exactly one of filename and directory');
    }
    this.#filename = opts.filename === undefined ? undefined : resolve(opts.filename);
    this.#directory = opts.directory === undefined ? undefined : resolve(opts.directory);
    this.#watchEnabled = opts.watch;
    this.#log = opts.log.child({ [F.provider]: 'file' });
    this.#debounceMs = opts.debounceMs ?? 200;
    this.#maxDelayMs = opts.maxDelayMs ?? 800;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#dirs = [this.#directory ?? dirname(this.#filename as string)];
  }

  /** Reads everything now and returns the current snapshot. */
  load(): Promise<FileDocuments> {
    return this.#serialize().then((r) => r.snapshot);
  }

  /** Calls `onChange` after each change on disk (debounced). No-op unless constructed with `watch: true`. */
  watch(onChange: (s: FileDocuments) => void): void {
    if (!this.#watchEnabled || this.#closed) return;
    this.#onChange = onChange;
    this.#syncWatchers();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#onChange = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    await this.#queue.catch(() => undefined);
  }

  #serialize(): Promise<{ snapshot: FileDocuments; changed: boolean }> {
    const p = this.#queue.then(() => this.#read());
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #read(): Promise<{ snapshot: FileDocuments; changed: boolean }> {
    const issues: ConfigIssue[] = [];
    let files: string[];
    if (this.#directory !== undefined) {
      const scan = await scanDirectory(this.#directory);
      files = scan.files;
      issues.push(...scan.issues);
      if (scan.dirs.length > 0) this.#dirs = scan.dirs;
    } else {
      files = [this.#filename as string];
    }
    let changed = false;
    const present = new Set(files);
    for (const f of [...this.#files.keys()]) {
      if (!present.has(f)) {
        this.#files.delete(f);
        changed = true;
      }
    }
    for (const file of files) {
      const prev = this.#files.get(file);
      let text: string;
      try {
        const st = await stat(file);
        if (st.size > MAX_FILE_BYTES) {
          const error: ConfigIssue = { file, code: 'GH_CONFIG_PARSE', message: `file is larger than ${MAX_FILE_BYTES} bytes` };
          if (prev?.error?.message !== error.message) changed = true;
          this.#files.set(file, { text: prev?.text ?? '', good: prev?.good ?? [], error });
          continue;
        }
        text = await readFile(file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (prev !== undefined) {
          this.#files.delete(file);
          changed = true;
        }
        if (this.#filename !== undefined)
          issues.push({
            file,
            code: 'GH_CONFIG_PARSE',
            message: code === 'ENOENT' ? 'file not found' : `cannot read file: ${code ?? (e as Error).message}`,
          });
        continue;
      }
      if (prev !== undefined && prev.text === text) continue;
      changed = true;
      const parsed = parseConfigText(file, text);
      if (parsed.error !== undefined) {
        const kept = prev?.good ?? [];
        const error =
          kept.length > 0
            ? { ...parsed.error, message: `${parsed.error.message} (keeping the last good version of this file)` }
            : parsed.error;
        this.#files.set(file, { text, good: kept, error });
      } else {
        this.#files.set(file, { text, good: parsed.documents });
      }
    }
    const documents: SourceDocument[] = [];
    const names = [...this.#files.keys()].sort();
    for (const f of names) {
      const st = this.#files.get(f) as FileState;
      documents.push(...st.good);
      if (st.error !== undefined) issues.push(st.error);
    }
    if (changed) for (const i of issues) this.#log.warn({ [F.file]: i.file, line: i.line }, i.message);
    return { snapshot: { documents, issues }, changed };
  }

  #schedule = (): void => {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#timer === undefined) this.#burstStart = now;
    else clearTimeout(this.#timer);
    const delay = Math.max(0, Math.min(this.#debounceMs, this.#burstStart + this.#maxDelayMs - now));
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  };

  #fire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#serialize().then(
      ({ snapshot, changed }) => {
        if (this.#closed) return;
        this.#syncWatchers();
        if (changed) this.#onChange?.(snapshot);
      },
      (e: unknown) => this.#log.error({ err: e }, 'file provider reload failed'),
    );
  };

  /** Watches exactly the directories of the last scan; polls while any cannot be watched. */
  #syncWatchers(): void {
    if (this.#closed || this.#onChange === undefined) return;
    const want = new Set(this.#dirs);
    for (const [dir, w] of this.#watchers) {
      if (!want.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    let failed = false;
    for (const dir of want) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = fsWatch(dir, { persistent: false }, this.#schedule);
        w.on('error', () => {
          w.close();
          if (this.#watchers.get(dir) === w) this.#watchers.delete(dir);
          this.#startPolling();
          this.#schedule();
        });
        this.#watchers.set(dir, w);
      } catch {
        failed = true;
      }
    }
    if (failed) this.#startPolling();
    else this.#stopPolling();
  }

  #startPolling(): void {
    if (this.#poll !== undefined || this.#closed) return;
    this.#log.debug('fs.watch unavailable: polling every %d ms', this.#pollMs);
    this.#poll = setInterval(this.#schedule, this.#pollMs);
    this.#poll.unref();
  }

  #stopPolling(): void {
    if (this.#poll === undefined) return;
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
