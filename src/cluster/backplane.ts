/**
 * The backplane: everything the serving processes share through the process
 * that runs the providers. Two halves, two implementations:
 * - LocalBackplane (local.ts): one process; the primary half and the one
 *   serving half are the same object, every call is direct.
 * - ClusterPrimaryBackplane / ClusterWorkerBackplane (cluster-primary.ts,
 *   cluster-worker.ts): node:cluster, over the IPC channel.
 * Features are wired once against these interfaces (src/server/primary.ts and
 * serving.ts); nothing else branches on how many processes there are. A
 * Redis-backed store for many replicas plugs in here.
 */
import type { Snapshot } from '../config/runtime.js';
import type { MetricsStore } from '../observe/metrics.js';
import type { TapBus, TapEvent, TapFilter } from '../observe/tap.js';
import type { ReservingRateLimitStore } from '../middlewares/rate-limit/store.js';

/** Questions the serving processes ask the primary (views over every process's figures). */
export type RpcHandlers = Record<string, (args: unknown) => unknown>;

/** What a serving process (the one process, or a worker) gets. */
export interface ServingBackplane {
  /** Unique per serving process: '0' in one process, the worker id in a cluster. */
  readonly id: string;
  /** Every snapshot in order, starting with the current one. Returns an unsubscribe function. */
  onSnapshot(listener: (s: Snapshot) => void): () => void;
  /** Ask the primary; rejects after a timeout. */
  rpc(method: string, args?: unknown): Promise<unknown>;
  /** Rate-limit buckets shared by every serving process. */
  readonly rateLimitStore: ReservingRateLimitStore;
  /** Where this process records its exchanges; they reach the primary's aggregate. */
  readonly metrics: MetricsStore;
  /** Called right before this process's figures are handed to the aggregate (refresh gauges here). */
  onFlush(fn: () => void): void;
  /** This process's tap bus (its exchanges are published here). */
  readonly tapBus: TapBus;
  /** A tap over every serving process. The filter must be valid. Returns its close function. */
  openTap(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void;
  close(): void;
}

/** What the process that runs the providers gets. */
export interface PrimaryBackplane {
  /** Deliver a snapshot to every serving process (and to those that start later). */
  publish(snapshot: Snapshot): void;
  /** The last snapshot published. */
  readonly latest: Snapshot | null;
  /** Answer the serving processes' rpc calls. */
  serve(handlers: RpcHandlers): void;
  /** The aggregate of every serving process's metrics. */
  readonly metrics: MetricsStore;
  close(): void;
}
