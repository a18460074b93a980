/**
 * The file provider's source: one file or a directory read recursively, each file
 * kept at its last good version while it does not parse, watched with
 * fs.watch (each directory, so new sub-directories, deletes and rename-replaced
 * files are seen) and falling back to a 1 s poll when watching fails.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { SourceDocument } from '../../config/model.js';
import type { ConfigIssue } from '../../errors.js';
import { F, type Logger } from '../../log.js';
import { parseConfigText } from '../../config/parse-documents.js';
import { scanDirectory } from './scan.js';

export interface FileDocuments {
  documents: SourceDocument[];
  issues: ConfigIssue[];
  /** Files refused now (each also in `issues`), with since when and which version is served instead. */
  refused: RefusedFile[];
}

/** A file that is refused now. */
export interface RefusedFile {
  issue: ConfigIssue;
  /** Refused without interruption since (ms since the epoch). */
  since: number;
  /** When the version still served was read (ms since the epoch); null when nothing of this file is served. */
  lastGood: number | null;
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
  /** When `good` was read (ms since the epoch); null before any good version. */
  goodAt: number | null;
  error?: ConfigIssue;
  /** When `error` began (kept while the file stays refused, even as the error changes). */
  errorSince?: number;
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
  /** Files (`filename` mode) that could not be read, since when. */
  readonly #unreadableSince = new Map<string, number>();
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
    const now = Date.now();
    const unreadable: RefusedFile[] = [];
    const keep: string[] = [];
    let changed = false;
    let files: string[];
    if (this.#directory !== undefined) {
      const scan = await scanDirectory(this.#directory);
      files = scan.files;
      issues.push(...scan.issues.filter((i) => !scan.unreadable.some((u) => u.issue === i)));
      if (scan.dirs.length > 0) this.#dirs = scan.dirs;
      // A directory that cannot be listed keeps what was read under it: refused, never silently dropped.
      for (const { dir, issue } of scan.unreadable) {
        const under = [...this.#files.keys()].filter((f) => f === dir || f.startsWith(dir + sep));
        const kept = under.map((f) => this.#files.get(f)?.goodAt ?? null).filter((t): t is number => t !== null);
        const message =
          under.length > 0 ? `${issue.message} (keeping the last good version of ${under.length} file(s) under it)` : issue.message;
        issues.push({ ...issue, message });
        if (!this.#unreadableSince.has(dir)) {
          this.#unreadableSince.set(dir, now);
          changed = true;
        }
        unreadable.push({
          issue: { ...issue, message },
          since: this.#unreadableSince.get(dir) ?? now,
          lastGood: kept.length > 0 ? Math.min(...kept) : null,
        });
        keep.push(...under);
      }
      for (const d of [...this.#unreadableSince.keys()])
        if (!scan.unreadable.some((u) => u.dir === d)) {
          this.#unreadableSince.delete(d);
          changed = true;
        }
    } else {
      files = [this.#filename as string];
    }
    const present = new Set([...files, ...keep]);
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
          const error: ConfigIssue = {
            file,
            code: 'GH_CONFIG_PARSE',
            message: `file is larger than ${MAX_FILE_BYTES} bytes${(prev?.good.length ?? 0) > 0 ? ' (keeping the last good version of this file)' : ''}`,
          };
          if (prev?.error?.message !== error.message) changed = true;
          this.#files.set(file, {
            text: prev?.text ?? '',
            good: prev?.good ?? [],
            goodAt: prev?.goodAt ?? null,
            error,
            errorSince: prev?.errorSince ?? now,
          });
          continue;
        }
        text = await readFile(file, 'utf8');
        this.#unreadableSince.delete(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (prev !== undefined && code !== 'ENOENT') {
          // Unreadable (permissions, I/O), not removed: keep its last good version and say so.
          const error: ConfigIssue = {
            file,
            code: 'GH_CONFIG_PARSE',
            message: `cannot read file: ${code ?? (e as Error).message}${prev.good.length > 0 ? ' (keeping the last good version of this file)' : ''}`,
          };
          if (prev.error?.message !== error.message) changed = true;
          this.#files.set(file, { ...prev, error, errorSince: prev.errorSince ?? now });
          continue;
        }
        if (prev !== undefined) {
          this.#files.delete(file);
          changed = true;
        }
        if (this.#filename !== undefined) {
          const issue: ConfigIssue = {
            file,
            code: 'GH_CONFIG_PARSE',
            message: code === 'ENOENT' ? 'file not found' : `cannot read file: ${code ?? (e as Error).message}`,
          };
          issues.push(issue);
          if (!this.#unreadableSince.has(file)) this.#unreadableSince.set(file, now);
          unreadable.push({ issue, since: this.#unreadableSince.get(file) ?? now, lastGood: null });
        }
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
        this.#files.set(file, {
          text,
          good: kept,
          goodAt: kept.length > 0 ? (prev?.goodAt ?? null) : null,
          error,
          errorSince: prev?.errorSince ?? now,
        });
      } else {
        this.#files.set(file, { text, good: parsed.documents, goodAt: now });
      }
    }
    const documents: SourceDocument[] = [];
    const refused: RefusedFile[] = [...unreadable];
    const names = [...this.#files.keys()].sort();
    for (const f of names) {
      const st = this.#files.get(f) as FileState;
      documents.push(...st.good);
      if (st.error !== undefined) {
        issues.push(st.error);
        refused.push({ issue: st.error, since: st.errorSince ?? now, lastGood: st.good.length > 0 ? st.goodAt : null });
      }
    }
    // Issues are logged once, by the compiler (server/config-pipeline.ts), with everything else it found.
    return { snapshot: { documents, issues, refused }, changed };
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
