/**
 * The configuration watcher (Traefik's `ConfigurationWatcher`): runs every
 * provider, keeps the last message of each, and after a change (throttled:
 * a burst of changes compiles once) merges every provider's fragments,
 * compiles one snapshot and hands it to each listener in order. A provider
 * that breaks keeps its last good message; a listener that throws is logged
 * and does not stop the others.
 */
import type { ConfigFragment } from '../config/model.js';
import type { RefusedSource, Snapshot } from '../config/runtime.js';
import { formatIssue, type ConfigIssue } from '../errors.js';
import type { Logger } from '../log.js';
import type { Provider, ProviderMessage, ProviderStatus, ProviderVerdict } from '../providers/types.js';

/** Compile the merged fragments of every provider (plus the provider issues) into revision `revision`. */
export type CompileFn = (input: {
  fragments: ConfigFragment[];
  issues: ConfigIssue[];
  refused: RefusedSource[];
  revision: number;
  /** A trial compile (an atomic message's verdict): nothing is logged, nothing is kept. */
  trial?: boolean;
}) => Snapshot;

export type SnapshotListener = (snapshot: Snapshot) => void;

export interface ConfigWatcherOptions {
  providers: readonly Provider[];
  compile: CompileFn;
  /** Quiet period after a provider message before compiling (Traefik's providersThrottleDuration). */
  throttleMs: number;
  log: Logger;
}

export class ConfigWatcher {
  readonly #opts: ConfigWatcherOptions;
  readonly #last = new Map<string, ProviderMessage>();
  readonly #failed = new Map<string, { issue: ConfigIssue; since: string }>();
  /** Atomic messages waiting for their verdict (at the next compile). */
  readonly #pending = new Map<string, ProviderMessage>();
  /** Atomic messages refused, per provider, until a later one is applied. */
  readonly #rejected = new Map<string, { revision: string; issues: ConfigIssue[]; since: string }>();
  /** When each provider's message in force was applied (ISO 8601). */
  readonly #appliedAt = new Map<string, string>();
  readonly #listeners: SnapshotListener[] = [];
  #revision = 0;
  #current: Snapshot | null = null;
  #timer: NodeJS.Timeout | null = null;
  #started = false;
  #closed = false;

  constructor(opts: ConfigWatcherOptions) {
    const names = new Set<string>();
    for (const p of opts.providers) {
      if (names.has(p.name)) throw new Error(`two providers are named "${p.name}"`);
      names.add(p.name);
    }
    this.#opts = opts;
  }

  /** The last compiled snapshot (null before start). */
  get snapshot(): Snapshot | null {
    return this.#current;
  }

  /** Listeners run in the order they were added, for every snapshot including the first. */
  addListener(fn: SnapshotListener): void {
    this.#listeners.push(fn);
  }

  /** The running provider with this name (the git webhook asks the git provider to reconcile). */
  provider(name: string): Provider | undefined {
    return this.#opts.providers.find((p) => p.name === name);
  }

  providerStatuses(): ProviderStatus[] {
    return this.#opts.providers.map((p) => p.status());
  }

  /** Start every provider, compile the first snapshot from their first messages, and tell the listeners. */
  async start(): Promise<Snapshot> {
    if (this.#started) throw new Error('ConfigWatcher.start called twice');
    this.#started = true;
    await Promise.all(this.#opts.providers.map((p) => this.#startProvider(p)));
    return this.#compileNow();
  }

  async #startProvider(p: Provider): Promise<void> {
    try {
      await p.start((msg) => this.#onMessage(msg));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#opts.log.error({ provider: p.name, err: message }, 'provider failed to start');
      this.#failed.set(p.name, {
        issue: {
          file: `(provider ${p.name})`,
          code: 'GH_PROVIDER_UNAVAILABLE',
          message: `the ${p.name} provider failed to start: ${message}`,
        },
        since: new Date().toISOString(),
      });
    }
  }

  #onMessage(msg: ProviderMessage): void {
    if (this.#closed) return;
    if (msg.atomic === true) this.#pending.set(msg.provider, msg);
    else {
      this.#last.set(msg.provider, msg);
      this.#appliedAt.set(msg.provider, new Date().toISOString());
    }
    this.#failed.delete(msg.provider);
    // Before start() compiles the first snapshot, messages are only recorded.
    if (this.#current === null) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#compileNow();
    }, this.#opts.throttleMs);
    this.#timer.unref();
  }

  /**
   * Compile again with the messages in hand (after the throttle), for inputs no
   * provider watches: certificate files read by the compile step (src/tls/file-watch.ts).
   */
  recompile(): void {
    if (this.#closed || this.#current === null) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#compileNow();
    }, this.#opts.throttleMs);
    this.#timer.unref();
  }

  #compileNow(): Snapshot {
    for (const [name, candidate] of this.#pending) this.#judge(name, candidate);
    this.#pending.clear();
    const fragments: ConfigFragment[] = [];
    const issues: ConfigIssue[] = [...this.#failed.values()].map((f) => f.issue);
    const refused: RefusedSource[] = [...this.#failed].map(([provider, f]) => ({
      provider,
      file: f.issue.file ?? `(provider ${provider})`,
      code: f.issue.code ?? 'GH_PROVIDER_UNAVAILABLE',
      message: f.issue.message,
      since: f.since,
      lastGood: null,
    }));
    for (const p of this.#opts.providers) {
      const m = this.#last.get(p.name);
      if (m !== undefined) {
        fragments.push(...m.fragments);
        issues.push(...m.issues);
        refused.push(...m.refused);
      }
      const r = this.#rejected.get(p.name);
      if (r !== undefined) {
        const first = r.issues[0];
        const more = r.issues.length > 1 ? ` (and ${r.issues.length - 1} more)` : '';
        const lead = `revision ${r.revision} of the ${p.name} provider refused; ${m !== undefined ? 'the last good revision keeps serving' : 'nothing of it serves'}`;
        issues.push(...r.issues.map((i) => ({ ...i, message: `${lead}: ${i.message}` })));
        refused.push({
          provider: p.name,
          file: first?.file ?? `(provider ${p.name})`,
          ...(first?.line !== undefined ? { line: first.line } : {}),
          ...(first?.field !== undefined ? { field: first.field } : {}),
          code: first?.code ?? 'GH_CONFIG_INVALID',
          message: `${lead}: ${first !== undefined ? formatIssue(first) : 'no detail'}${more}`,
          since: r.since,
          lastGood: m !== undefined ? (this.#appliedAt.get(p.name) ?? null) : null,
        });
      }
    }
    const snap = this.#opts.compile({ fragments, issues, refused, revision: ++this.#revision });
    this.#current = snap;
    for (const fn of this.#listeners) {
      try {
        fn(snap);
      } catch (err) {
        this.#opts.log.error({ err, revision: snap.revision }, 'a configuration listener failed');
      }
    }
    return snap;
  }

  /**
   * An atomic message is applied only when it brings no configuration error
   * that the configuration without it does not have (source problems of the
   * message itself count too); otherwise the provider's last applied message
   * stays in force. The provider hears the verdict.
   */
  #judge(name: string, candidate: ProviderMessage): void {
    const errorsOf = (msgs: Map<string, ProviderMessage>): ConfigIssue[] => {
      const fragments: ConfigFragment[] = [];
      const issues: ConfigIssue[] = [];
      for (const p of this.#opts.providers) {
        const m = msgs.get(p.name);
        if (m === undefined) continue;
        fragments.push(...m.fragments);
        issues.push(...m.issues);
      }
      const snap = this.#opts.compile({ fragments, issues, refused: [], revision: this.#revision + 1, trial: true });
      return snap.issues.filter((i) => i.severity !== 'warning');
    };
    const before = new Set(errorsOf(this.#last).map(formatIssue));
    const withIt = new Map(this.#last);
    withIt.set(name, candidate);
    const fresh = errorsOf(withIt).filter((i) => !before.has(formatIssue(i)));
    const verdict: ProviderVerdict = { revision: candidate.revision, applied: fresh.length === 0, issues: fresh };
    if (verdict.applied) {
      this.#last.set(name, candidate);
      this.#appliedAt.set(name, new Date().toISOString());
      this.#rejected.delete(name);
    } else {
      const prev = this.#rejected.get(name);
      this.#rejected.set(name, { revision: candidate.revision, issues: fresh, since: prev?.since ?? new Date().toISOString() });
      this.#opts.log.warn(
        { provider: name, revision: candidate.revision, errors: fresh.length },
        `revision ${candidate.revision} of the ${name} provider refused: ${fresh.map(formatIssue).join('; ')}`,
      );
    }
    const p = this.#opts.providers.find((x) => x.name === name);
    try {
      p?.onVerdict?.(verdict);
    } catch (err) {
      this.#opts.log.error({ err, provider: name }, 'a provider failed to take its verdict');
    }
  }

  /**
   * A trial compile of the configuration in force with `provider`'s fragments
   * replaced by `edit(fragments)` (the admission webhook's verdict): nothing is
   * logged, kept or served.
   */
  trial(provider: string, edit: (fragments: readonly ConfigFragment[]) => ConfigFragment[]): Snapshot {
    const fragments: ConfigFragment[] = [];
    const issues: ConfigIssue[] = [];
    for (const p of this.#opts.providers) {
      const m = this.#last.get(p.name);
      if (p.name !== provider && m === undefined) continue;
      fragments.push(...(p.name === provider ? edit(m?.fragments ?? []) : (m?.fragments ?? [])));
      issues.push(...(m?.issues ?? []));
    }
    if (!this.#opts.providers.some((p) => p.name === provider)) fragments.push(...edit([]));
    return this.#opts.compile({ fragments, issues, refused: [], revision: this.#revision, trial: true });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.all(this.#opts.providers.map((p) => p.close().catch(() => undefined)));
  }
}
