/**
 * Every message between the primary and its cluster workers, as one
 * discriminated union per direction (all tagged `gh`, so other users of the
 * IPC channel are ignored). Each family is handled in one place:
 * lifecycle (src/server/serve.ts, worker-main.ts), snapshots and metrics
 * (backplane halves), rpc (rpc.ts), taps (tap-relay.ts), rate limits
 * (src/middlewares/rate-limit/store-primary.ts and store-worker.ts).
 */
import type { Snapshot } from '../config/runtime.js';
import type { MetricsDelta } from '../observe/metrics.js';
import type { TapEvent, TapFilter } from '../observe/tap.js';
import type { RlAnswer, RlRequest } from '../middlewares/rate-limit/store.js';

/** One open tap as the primary broadcasts it. */
export interface TapSpec {
  id: string;
  filter: TapFilter;
  maxRps: number;
  headers: boolean;
}

export type Addresses = Record<string, { host: string; port: number }>;

/** Primary → worker. `O` is the serving options (plain data). */
export type PrimaryMessage<O = unknown> =
  | { gh: 'init'; options: O; snapshot: Snapshot; addresses: Addresses }
  /** A connection the primary accepted on entry point `ep` (the socket travels as the message's handle). */
  | { gh: 'conn'; ep: string }
  | { gh: 'snapshot'; snapshot: Snapshot }
  /** Shutdown, phase 1: /ping answers 503; keep serving (the primary waits requestAcceptGraceTimeout, then stops accepting). */
  | { gh: 'shutdown' }
  /** Shutdown, phase 2: the primary accepts no more; finish what was accepted (drain), then exit. */
  | { gh: 'drain' }
  | { gh: 'a'; id: number; ok: boolean; value: unknown; error?: string }
  | { gh: 'tap-filters'; taps: TapSpec[] }
  | { gh: 'tap-ev'; id: string; e: TapEvent }
  | RlAnswer;

/** Worker → primary. */
export type WorkerMessage =
  | { gh: 'hello' }
  | { gh: 'ready'; addresses: Addresses }
  /** The worker cannot serve (an entry point cannot listen, …): the primary stops starting. */
  | { gh: 'failed'; code: string; message: string }
  | { gh: 'stopped' }
  | { gh: 'q'; id: number; what: string; args: unknown }
  | { gh: 'metrics'; delta: MetricsDelta }
  | { gh: 'tap-open'; tap: TapSpec }
  | { gh: 'tap-close'; id: string }
  | { gh: 'tap-ev'; id: string; e: TapEvent }
  | RlRequest;

/** A message of ours (anything else on the channel belongs to someone else). */
export function isOurs(m: unknown): m is { gh: string } {
  return typeof m === 'object' && m !== null && typeof (m as { gh?: unknown }).gh === 'string';
}
