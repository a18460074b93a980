/**
 * The git provider (docs/gitops.md): polls a repository, renders the watched
 * paths and overlays of each new commit, and emits the revision whole
 * (`atomic`): the configuration watcher applies it or refuses it, and says
 * which through `onVerdict`. A revision that cannot be fetched, rendered or
 * parsed is never emitted: the last applied one keeps serving, and the
 * status (Flux's model: revisions, conditions, history) says why.
 */
import { join } from 'node:path';
import { F, type Logger } from '../../log.js';
import { formatIssue, type ConfigIssue } from '../../errors.js';
import type { SourceDocument } from '../../config/model.js';
import { fragmentsFromDocuments, type FormatOptions } from '../formats/index.js';
import type { Provider, ProviderCondition, ProviderMessage, ProviderReconciliation, ProviderStatus, ProviderVerdict } from '../types.js';
import { buildRevision, isWatched } from './build.js';
import { BuildError, findKustomize, type Kustomizer } from './kustomize.js';
import type { GitProviderConfig } from './options.js';
import { GitFetchError, GitRepository, type ResolvedRef } from './repo.js';
import { CommandError, redactText } from './run.js';
import { loadRevision, saveRevision, selectionKey, type SavedRevision } from './state.js';

export interface GitProviderOptions extends FormatOptions {
  git: GitProviderConfig;
  dataDir: string;
  /** Poll the remote every interval (serve) or read it once (check). */
  watch: boolean;
  log: Logger;
}

interface Candidate {
  sha: string;
  revision: string;
  watched: string[];
  documents: SourceDocument[];
}

type Reason = 'ReconciliationSucceeded' | 'FetchFailed' | 'BuildFailed' | 'ValidationFailed' | 'Progressing';

const HISTORY = 5;

export class GitProvider implements Provider {
  readonly name = 'git';
  readonly #o: GitProviderOptions;
  readonly #log: Logger;
  readonly #repo: GitRepository;
  readonly #key: string;
  readonly #statePath: string;
  #emit: ((m: ProviderMessage) => void) | null = null;
  #applied: (Candidate & { appliedAt: string }) | null = null;
  /** Emitted, waiting for the watcher's verdict (by revision). */
  readonly #pending = new Map<string, Candidate>();
  #lastAttempted: { sha: string; revision: string } | null = null;
  #kustomizer: Kustomizer | null | undefined;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #restoredWaiting: { revision: string; done: () => void; promise: Promise<void> } | null = null;
  // Status
  #state: ProviderStatus['state'] = 'starting';
  #revision = '';
  #lastUpdate = '';
  #message = '';
  #ready: ProviderCondition = cond('Ready', 'Unknown', 'Progressing', 'not reconciled yet');
  #reconciling: ProviderCondition | null = null;
  #lastHandledAt = '';
  #history: ProviderReconciliation[] = [];

  constructor(o: GitProviderOptions) {
    this.#o = o;
    this.#log = o.log.child({ [F.provider]: 'git' });
    this.#repo = new GitRepository(o.git, o.dataDir);
    this.#key = selectionKey(o.git);
    this.#statePath = join(this.#repo.home, 'last-good.json');
  }

  async start(emit: (msg: ProviderMessage) => void): Promise<void> {
    this.#emit = emit;
    const saved = this.#o.watch ? await loadRevision(this.#statePath, this.#key) : null;
    if (saved !== null) {
      // Serve the last good revision at once; the remote is asked in the background.
      this.#applied = { ...saved };
      let done = (): void => undefined;
      const promise = new Promise<void>((r) => (done = r));
      this.#restoredWaiting = { revision: saved.revision, done, promise };
      this.#send(saved, 'restored');
      this.#message = `serving the last good revision ${saved.revision} kept in the data directory; asking the remote`;
      this.#schedule(0);
      return;
    }
    await this.#reconcile();
    if (this.#lastUpdate === '') {
      // Nothing could be built: the gateway starts and says why.
      const issues = this.#readyIssues ?? [
        { file: '(provider git)', code: 'GH_PROVIDER_UNAVAILABLE' as const, message: this.#ready.message },
      ];
      this.#revision = this.#lastAttempted?.revision ?? 'unavailable';
      this.#lastUpdate = new Date().toISOString();
      emit({ provider: this.name, revision: this.#revision, fragments: [], issues, refused: [], atomic: true });
    }
    this.#schedule(this.#o.git.intervalMs);
  }

  /** The failure last shown to the watcher (see #showFailure), null when none. */
  #failureShown: string | null = null;

  /** The issues behind Ready=False (for the first message when nothing could be built). */
  #readyIssues: ConfigIssue[] | null = null;

  /** Reconcile now (the webhook's entry point); coalesced with one in progress. */
  reconcileNow(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    return this.#reconcile();
  }

  #schedule(ms: number): void {
    if (!this.#o.watch || this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.reconcileNow().finally(() => this.#schedule(this.#o.git.intervalMs));
    }, ms);
    this.#timer.unref();
  }

  #reconcile(): Promise<void> {
    const p = (async () => {
      do {
        this.#again = false;
        await this.#reconcileOnce();
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#running = null;
    });
    this.#running = p;
    return p;
  }

  /** Keeping the last applied revision (pin + data directory), in progress. */
  #persisting: Promise<void> = Promise.resolve();

  async #reconcileOnce(): Promise<void> {
    await this.#persisting;
    if (this.#closed) return;
    const now = (): string => new Date().toISOString();
    this.#reconciling = cond('Reconciling', 'True', 'Progressing', 'fetching');
    try {
      let ref: ResolvedRef;
      try {
        ref = await this.#repo.resolve();
      } catch (e) {
        return this.#fail('FetchFailed', this.#lastAttempted?.revision ?? '', [issueOf(e, 'GH_PROVIDER_UNAVAILABLE')]);
      }
      if (this.#closed) return;
      this.#lastHandledAt = now();
      if (this.#lastAttempted?.sha === ref.sha && this.#lastAttempted.revision === ref.revision) return;
      try {
        await this.#repo.checkout(ref);
      } catch (e) {
        return this.#fail('FetchFailed', ref.revision, [issueOf(e, 'GH_PROVIDER_UNAVAILABLE')]);
      }
      if (this.#closed) return;
      this.#lastAttempted = { sha: ref.sha, revision: ref.revision };
      const base = this.#applied;
      if (base !== null && base.sha === ref.sha) {
        this.#restoredSeen(ref.revision);
        return;
      }
      if (base !== null) {
        const changed = await this.#repo.changedFiles(base.sha, ref.sha).catch(() => null);
        if (changed !== null && !changed.some((f) => isWatched(base.watched, f))) {
          this.#record(
            ref.revision,
            'unchanged',
            'ReconciliationSucceeded',
            `no change under the watched paths (${changed.length} file(s) changed elsewhere)`,
          );
          this.#restoredSeen(ref.revision);
          return;
        }
      }
      this.#reconciling = cond('Reconciling', 'True', 'Progressing', `building ${ref.revision}`);
      let built;
      try {
        built = await buildRevision({
          cfg: this.#o.git,
          root: this.#repo.dir,
          scratch: join(this.#repo.home, 'render'),
          kustomizer: () => this.#findKustomizer(),
        });
      } catch (e) {
        return this.#fail('BuildFailed', ref.revision, e instanceof BuildError ? e.issues : [issueOf(e, 'GH_CONFIG_PARSE')]);
      }
      if (this.#closed) return;
      for (const w of built.warnings) this.#log.warn({ revision: ref.revision }, formatIssue(w));
      const candidate: Candidate = { sha: ref.sha, revision: ref.revision, watched: built.watched, documents: built.documents };
      // Right after a restart, the revision from the data directory is judged first.
      if (this.#restoredWaiting !== null) await Promise.race([this.#restoredWaiting.promise, delay(2000)]);
      this.#restoredWaiting = null;
      this.#send(candidate, 'new');
    } finally {
      this.#reconciling = null;
    }
  }

  #restoredSeen(revision: string): void {
    this.#clearFailure();
    if (this.#message.startsWith('serving the last good revision')) this.#message = '';
    if (this.#ready.reason === 'FetchFailed' && this.#applied?.revision === revision)
      this.#ready = cond('Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${revision}`, this.#ready);
    if (this.#state === 'degraded' && this.#ready.status === 'True') this.#state = 'ready';
  }

  async #findKustomizer(): Promise<Kustomizer | null> {
    if (this.#kustomizer === undefined || this.#kustomizer === null) this.#kustomizer = await findKustomize();
    return this.#kustomizer;
  }

  #send(c: Candidate, why: 'new' | 'restored'): void {
    if (this.#closed || this.#emit === null) return;
    const fragments = fragmentsFromDocuments(c.documents, { kubernetes: this.#o.kubernetes, fileFragment: 'git' });
    this.#failureShown = null;
    this.#pending.set(c.revision, c);
    while (this.#pending.size > 8) this.#pending.delete(this.#pending.keys().next().value as string);
    this.#revision = c.revision;
    this.#lastUpdate = new Date().toISOString();
    if (why === 'new') {
      this.#state = 'ready';
      this.#message = '';
      this.#ready = cond('Ready', 'Unknown', 'Progressing', `revision ${c.revision} built; waiting for validation`, this.#ready);
    }
    this.#emit({ provider: this.name, revision: c.revision, fragments, issues: [], refused: [], atomic: true });
  }

  onVerdict(v: ProviderVerdict): void {
    const c = this.#pending.get(v.revision);
    if (c === undefined) return;
    this.#pending.delete(v.revision);
    const restored = this.#restoredWaiting?.revision === v.revision;
    if (restored) this.#restoredWaiting?.done();
    if (v.applied) {
      const appliedAt = new Date().toISOString();
      this.#applied = { ...c, appliedAt };
      this.#readyIssues = null;
      this.#ready = cond('Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${c.revision}`, this.#ready);
      if (!this.#message.startsWith('serving the last good revision')) {
        this.#state = 'ready';
        this.#message = '';
      }
      this.#record(c.revision, 'applied', 'ReconciliationSucceeded', restored ? 'restored from the data directory' : 'applied');
      // The next reconcile waits for this (the pinned commit is what it diffs against).
      if (this.#o.watch && !restored) this.#persisting = this.#persist(c, appliedAt);
    } else {
      this.#fail('ValidationFailed', c.revision, [...v.issues]);
    }
  }

  async #persist(c: Candidate, appliedAt: string): Promise<void> {
    try {
      await this.#repo.pin(c.sha);
      const saved: SavedRevision = { sha: c.sha, revision: c.revision, watched: c.watched, appliedAt, documents: c.documents };
      await saveRevision(this.#statePath, this.#key, saved);
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'could not keep the last good revision in the data directory');
    }
  }

  #fail(reason: Reason, revision: string, issues: ConfigIssue[]): void {
    const text = issues.map(formatIssue).join('; ') || 'unknown error';
    const kept = this.#applied !== null ? `; the last good revision ${this.#applied.revision} keeps serving` : '; nothing of it serves';
    const message = `${revision !== '' ? `revision ${revision}: ` : ''}${text}`;
    this.#readyIssues = issues;
    this.#ready = cond('Ready', 'False', reason, message, this.#ready);
    this.#state = 'degraded';
    this.#message = `${reason}: ${message}${kept}`;
    this.#lastHandledAt = new Date().toISOString();
    this.#record(revision, reason === 'FetchFailed' ? 'failed' : 'refused', reason, message);
    this.#log.error({ revision, reason }, `git provider: ${this.#message}`);
    if (reason !== 'ValidationFailed') this.#showFailure(reason, revision, issues);
  }

  /**
   * A fetch or build failure after the first message also shows where the
   * operator looks (/api/overview, the dashboard banner, check, the reload
   * metrics): an atomic message that holds only the failure, which the
   * watcher refuses, so the last applied revision keeps serving.
   */
  #showFailure(reason: Reason, revision: string, issues: ConfigIssue[]): void {
    if (this.#closed || this.#emit === null || this.#lastUpdate === '') return;
    const shown = issues.map((i) => ({ ...i, message: `${reason}: ${i.message}` }));
    const key = `${reason}|${revision}|${shown.map(formatIssue).join('\n')}`;
    if (key === this.#failureShown) return;
    this.#failureShown = key;
    const failed = `${revision !== '' ? revision : 'unavailable'} (${reason})`;
    this.#emit({ provider: this.name, revision: failed, fragments: [], issues: shown, refused: [], atomic: true });
  }

  /** Once the source answers again with the applied revision, it is sent again: the shown failure clears. */
  #clearFailure(): void {
    if (this.#failureShown === null || this.#applied === null) return;
    this.#failureShown = null;
    this.#send(this.#applied, 'new');
  }

  #record(revision: string, result: ProviderReconciliation['result'], reason: string, message: string): void {
    const at = new Date().toISOString();
    this.#lastHandledAt = at;
    const last = this.#history[0];
    // The same failure on every poll is one entry.
    if (last !== undefined && last.revision === revision && last.result === result && last.message === message) {
      this.#history[0] = { ...last, at };
      return;
    }
    this.#history = [{ revision, at, result, reason, message }, ...this.#history].slice(0, HISTORY);
  }

  status(): ProviderStatus {
    return {
      name: this.name,
      state: this.#state,
      revision: this.#revision,
      lastUpdate: this.#lastUpdate,
      message: this.#message,
      type: 'git',
      url: this.#repo.displayUrl,
      lastAttemptedRevision: this.#lastAttempted?.revision ?? '',
      lastAppliedRevision: this.#applied?.revision ?? '',
      conditions: this.#reconciling !== null ? [this.#ready, this.#reconciling] : [this.#ready],
      lastHandledAt: this.#lastHandledAt,
      history: [...this.#history],
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#restoredWaiting?.done();
    await this.#running?.catch(() => undefined);
    this.#state = 'stopped';
  }
}

function cond(
  type: ProviderCondition['type'],
  status: ProviderCondition['status'],
  reason: string,
  message: string,
  prev?: ProviderCondition,
): ProviderCondition {
  const same = prev !== undefined && prev.status === status && prev.reason === reason;
  return { type, status, reason, message, lastTransitionTime: same ? prev.lastTransitionTime : new Date().toISOString() };
}

function issueOf(e: unknown, code: 'GH_PROVIDER_UNAVAILABLE' | 'GH_CONFIG_PARSE'): ConfigIssue {
  const message = e instanceof GitFetchError || e instanceof CommandError || e instanceof Error ? e.message : String(e);
  return { file: '(provider git)', code, message: redactText(message) };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
