/**
 * Front Door's origin-group routing for a loadBalancer's servers
 * (docs/failover.md). Which servers take traffic is decided in order:
 *
 * 1. health: servers up (active probes, passive check) with a weight above 0;
 * 2. priority: those of the lowest `priority` number (1 to 5, default 1);
 * 3. latency: those whose measured probe latency is within
 *    `latencySensitivity` ms of the fastest of them (a server not measured
 *    yet is in the band);
 * 4. weight: the load balancer's strategy (wrr, p2c, hrw) over what is left.
 *
 * When no server is up, `allDown: failOpen` puts the servers of the best
 * priority back as if healthy; otherwise the rotation is empty (503).
 *
 * The rotation is computed when health or a measurement changes, not per
 * request: the request path reads one array.
 */
import type { Logger } from '../log.js';
import type { HealthTarget } from './health-check.js';

export interface GroupMember extends HealthTarget {
  readonly weight: number;
  readonly priority: number;
}

export type AllDownMode = 'failOpen' | 'failClosed';

export interface OriginGroupOptions {
  service: string;
  /** ms; 0: only the fastest (and those measured exactly as fast). */
  latencySensitivity: number;
  allDown: AllDownMode | undefined;
  log: Logger;
}

/** Whether a loadBalancer uses origin-group routing: a server has `priority`, or `latencySensitivity` or `allDown` is set. */
export function usesOriginGroup(cfg: {
  servers: ReadonlyArray<{ priority?: number | undefined }>;
  latencySensitivity?: number | undefined;
  allDown?: string | undefined;
}): boolean {
  return cfg.latencySensitivity !== undefined || cfg.allDown !== undefined || cfg.servers.some((s) => s.priority !== undefined);
}

export class OriginGroup<T extends GroupMember> {
  /** The servers that take traffic now; empty when none can. */
  rotation: readonly T[] = [];
  /** True while every server is down and `failOpen` sends to them anyway. */
  failingOpen = false;
  /** Priority of the servers in rotation (0: none in rotation). */
  private priorityNow = 0;
  private started = false;

  constructor(
    private readonly members: readonly T[],
    private readonly o: OriginGroupOptions,
  ) {
    this.update();
  }

  /** Recompute the rotation; true when its members changed. */
  update(): boolean {
    const wasFailingOpen = this.failingOpen;
    const next = this.compute();
    const changed = next.length !== this.rotation.length || next.some((m, i) => this.rotation[i] !== m);
    this.rotation = next;
    const priority = next.length === 0 ? 0 : next[0]!.priority;
    if (this.started && (priority !== this.priorityNow || wasFailingOpen !== this.failingOpen))
      this.o.log.warn(
        {
          service: this.o.service,
          priority: priority === 0 ? null : priority,
          failOpen: this.failingOpen,
          servers: next.map((m) => m.url),
        },
        next.length === 0
          ? 'origin group: every server is down, requests answer 503'
          : this.failingOpen
            ? `origin group: every server is down, failing open to priority ${priority}`
            : `origin group: traffic goes to priority ${priority}`,
      );
    this.priorityNow = priority;
    this.started = true;
    return changed;
  }

  private compute(): T[] {
    const usable = this.members.filter((m) => m.weight > 0);
    const healthy = usable.filter((m) => m.healthy);
    if (healthy.length === 0) {
      this.failingOpen = this.o.allDown === 'failOpen' && usable.length > 0;
      return this.failingOpen ? bestPriority(usable) : [];
    }
    this.failingOpen = false;
    const best = bestPriority(healthy);
    let fastest = Infinity;
    for (const m of best) if (m.latencyMs !== undefined && m.latencyMs !== null && m.latencyMs < fastest) fastest = m.latencyMs;
    if (fastest === Infinity) return best;
    const limit = fastest + this.o.latencySensitivity;
    return best.filter((m) => m.latencyMs === undefined || m.latencyMs === null || m.latencyMs <= limit);
  }
}

function bestPriority<T extends GroupMember>(list: readonly T[]): T[] {
  let p = Infinity;
  for (const m of list) if (m.priority < p) p = m.priority;
  return list.filter((m) => m.priority === p);
}
