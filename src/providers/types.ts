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
   * All or nothing (the git provider's revisions): the watcher compiles this
   * message with the other providers' last good ones first, and refuses it
   * whole when it brings any configuration error that the configuration in
   * force does not have; the provider's last applied message keeps serving.
   * The verdict comes back through `Provider.onVerdict`.
   */
  readonly atomic?: boolean;
  /**
   * The sources refused now (each also in `issues`): since when, and the time
   * of the version served instead. Shown everywhere an operator looks.
   */
  readonly refused: readonly RefusedSource[];
}

export type ProviderState = 'starting' | 'ready' | 'degraded' | 'stopped';

/** A condition in Flux's model (`Ready`, `Reconciling`). */
export interface ProviderCondition {
  readonly type: 'Ready' | 'Reconciling';
  readonly status: 'True' | 'False' | 'Unknown';
  /** `ReconciliationSucceeded`, `FetchFailed`, `BuildFailed`, `ValidationFailed`, `Progressing`, … */
  readonly reason: string;
  readonly message: string;
  /** ISO 8601. */
  readonly lastTransitionTime: string;
}

/** One reconciliation, newest first in `ProviderStatus.history`. */
export interface ProviderReconciliation {
  readonly revision: string;
  /** ISO 8601. */
  readonly at: string;
  readonly result: 'applied' | 'refused' | 'failed' | 'unchanged';
  readonly reason: string;
  readonly message: string;
}

/** What the watcher decided about an atomic message. */
export interface ProviderVerdict {
  readonly revision: string;
  readonly applied: boolean;
  /** The configuration errors that refused it (empty when applied). */
  readonly issues: readonly ConfigIssue[];
}

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
  /** `file`, `git`, `kubernetescrd`, … (default: the name). */
  readonly type?: string;
  /** Where it reads from (a directory, a repository URL without credentials). */
  readonly url?: string;
  /** Flux's revision format where it applies (`main@sha1:<40 hex>`). */
  readonly lastAttemptedRevision?: string;
  readonly lastAppliedRevision?: string;
  readonly conditions?: readonly ProviderCondition[];
  /** ISO 8601: the last reconciliation (or webhook) handled. */
  readonly lastHandledAt?: string;
  /** The last reconciliations, newest first (at most 5). */
  readonly history?: readonly ProviderReconciliation[];
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
  /** The watcher's verdict on each `atomic` message (applied, or refused with its errors). */
  onVerdict?(verdict: ProviderVerdict): void;
  /** Stop watching; no message is emitted after it resolves. */
  close(): Promise<void>;
}
