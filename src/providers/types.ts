/**
 * The provider seam (Traefik's `pkg/provider.Provider`): a provider watches one
 * source of dynamic configuration (files, git, the Kubernetes API, …) and
 * emits what it holds as configuration fragments, already converted by the
 * formats of `src/providers/formats/`. The configuration watcher
 * (`src/server/config-watcher.ts`) keeps the last message of each provider,
 * merges, compiles once and hands the snapshot to its listeners.
 */
import type { ConfigFragment } from '../config/model.js';
import type { ConfigIssue } from '../errors.js';
import type { RefusedSource } from '../config/runtime.js';

/** Everything one provider holds now. Each message replaces the provider's previous one. */
export interface ProviderMessage {
  /** The provider that sent it (its `name`). */
  readonly provider: string;
  /**
   * What the provider calls this version: a counter for files, a commit for
   * git, a resourceVersion for the Kubernetes API. Shown to operators.
   */
  readonly revision: string;
  /**
   * Fragments, each with the provider name its items are qualified with
   * (`name@file`, `name@kubernetescrd`, …). A document the provider refused
   * is represented by its last good version, never dropped silently.
   */
  readonly fragments: readonly ConfigFragment[];
  /** Problems of the source itself (a file that does not parse, an unreadable directory). */
  readonly issues: readonly ConfigIssue[];
  /**
   * The sources refused now (each also in `issues`): since when, and the time
   * of the version served instead. Shown everywhere an operator looks.
   */
  readonly refused: readonly RefusedSource[];
}

export type ProviderState = 'starting' | 'ready' | 'degraded' | 'stopped';

export interface ProviderStatus {
  readonly name: string;
  /** `ready`: the last read succeeded; `degraded`: serving the last good version of something it could not read. */
  readonly state: ProviderState;
  /** Revision of the last message. */
  readonly revision: string;
  /** When the last message was sent (ISO 8601), '' before the first. */
  readonly lastUpdate: string;
  /** Why the provider is degraded ('' when it is not). */
  readonly message: string;
}

export interface Provider {
  /** Unique among the active providers: `file`, `git`, `kubernetescrd`, … */
  readonly name: string;
  /**
   * Start watching. Resolves once the first message has been emitted: a
   * provider that cannot read its source still emits (no fragments, issues
   * saying why), so the gateway starts and reports it.
   */
  start(emit: (msg: ProviderMessage) => void): Promise<void>;
  status(): ProviderStatus;
  /** Stop watching; no message is emitted after it resolves. */
  close(): Promise<void>;
}
