/**
 * Where this process sits among the cluster workers, for the round robin of
 * load balancers. With `--workers N` node:cluster hands connections to the
 * workers in turn (SCHED_RR), so request k of a client that opens a connection
 * per request reaches worker k mod N. If every worker started its round robin
 * at the same server and stepped by one, two workers and two servers would
 * answer A A B B: pairs of requests on the same backend. A worker at index i
 * instead starts i servers further, and when a connection's first request
 * follows another connection's first request it first skips the N-1 servers
 * the other workers took meanwhile: together the workers walk the one sequence
 * a single process walks (A B A B). Requests on a kept-alive connection stay
 * on the worker that has it and step by one, as with one process.
 *
 * The count comes from `GATEHOUSE_WORKERS` (set by the primary when it forks),
 * the index from the worker's id (1-based, in fork order; a respawned worker
 * takes the next id, which can share a phase with a live one: only the
 * alternation, never correctness, suffers).
 */
import cluster from 'node:cluster';

export interface WorkerPhase {
  /** 0-based index of this worker. */
  readonly index: number;
  /** Number of workers (1 outside a cluster). */
  readonly count: number;
}

export function workerPhase(env: NodeJS.ProcessEnv = process.env, id: number | undefined = cluster.worker?.id): WorkerPhase {
  const count = Number.parseInt(env.GATEHOUSE_WORKERS ?? '', 10);
  if (!Number.isInteger(count) || count < 2 || id === undefined) return { index: 0, count: 1 };
  return { index: (id - 1) % count, count };
}
