/**
 * The router table of one entry point: routers sorted by priority (highest
 * first; ties broken by name, so the order is deterministic), indexed by exact
 * host so a request only tests the routers that can match its host plus those
 * that do not pin a host.
 */
import type { CompiledRule } from '../rules/index.js';
import type { RequestContext } from '../http/exchange.js';
import type { Handler } from '../http/handler.js';

export interface RouteEntry {
  readonly name: string;
  readonly priority: number;
  readonly rule: CompiledRule;
  readonly handler: Handler;
}

export class RouterTable {
  private readonly byHost: Map<string, readonly RouteEntry[]> = new Map();
  private readonly generic: readonly RouteEntry[];
  readonly size: number;

  constructor(entries: readonly RouteEntry[]) {
    const sorted = [...entries].sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.size = sorted.length;
    this.generic = sorted.filter((e) => e.rule.hosts === null);
    const hosts = new Set<string>();
    for (const e of sorted) for (const h of e.rule.hosts ?? []) hosts.add(h);
    for (const h of hosts)
      this.byHost.set(
        h,
        sorted.filter((e) => e.rule.hosts === null || e.rule.hosts.includes(h)),
      );
  }

  /** Candidate routers for a host, in match order. */
  candidates(host: string): readonly RouteEntry[] {
    return this.byHost.get(host) ?? this.generic;
  }

  /**
   * `methodNotAllowed`: called instead of `notFound` when some router (v2 rule
   * syntax) matched everything but its `Method(...)`, with the methods those
   * routers allow (gorilla/mux's 405 in Traefik v2).
   */
  handler(notFound: Handler, methodNotAllowed?: (ctx: RequestContext, allow: readonly string[]) => void): Handler {
    const any405 = methodNotAllowed !== undefined && [...this.generic, ...[...this.byHost.values()].flat()].some((e) => e.rule.methods);
    return (ctx) => {
      const list = this.byHost.get(ctx.host) ?? this.generic;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.rule.match(ctx)) {
          e.handler(ctx);
          return;
        }
      }
      if (any405) {
        let allow: string[] | null = null;
        for (const e of list) {
          const m = e.rule.methods;
          if (m === undefined || !m.relaxed(ctx)) continue;
          allow ??= [];
          for (const x of m.allow) if (!allow.includes(x)) allow.push(x);
        }
        if (allow !== null) {
          methodNotAllowed!(ctx, allow);
          return;
        }
      }
      notFound(ctx);
    };
  }
}
