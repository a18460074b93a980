import type { RequestContext } from '../http/exchange.js';

export type RuleSyntax = 'v2' | 'v3';

/**
 * The request fields rules read. ctx.host is already lower-case, port and
 * trailing dot removed; ctx.path is the raw path (no query); ctx.query the raw
 * query without '?'; ctx.remoteIp the peer address.
 */
export type RuleInput = Pick<RequestContext, 'method' | 'host' | 'path' | 'query' | 'headers' | 'remoteIp'>;

export type Matcher = (req: RuleInput) => boolean;

export interface CompiledRule {
  readonly match: Matcher;
  /**
   * Lower-case exact host names such that the rule can only match a request
   * whose host is one of them; null when the rule does not pin the host. An
   * empty list means the rule can match no host at all (e.g. `Host(a) && Host(b)`).
   */
  readonly hosts: readonly string[] | null;
  /**
   * v2 syntax only, when the rule has `Method(...)` outside a negation:
   * `relaxed` is the rule with those Method matchers taken as true, `allow`
   * the methods they name. A request that fails `match` but passes `relaxed`
   * failed only on its method: gorilla/mux (Traefik v2) answers 405.
   */
  readonly methods?: { readonly relaxed: Matcher; readonly allow: readonly string[] };
}

/** Reports a problem with one argument (index into args); never returns. */
export type ArgFail = (index: number, message: string) => never;

export interface MatcherSpec {
  /** Allowed argument counts: [min, max]. */
  readonly arity: readonly [number, number];
  /** How the matcher is written, for error messages. */
  readonly usage: string;
  /** Arguments must come in pairs (v2 Headers / HeadersRegexp). */
  readonly pairs?: boolean;
  readonly build: (args: readonly string[], fail: ArgFail) => CompiledRule;
}

export type MatcherTable = Readonly<Record<string, MatcherSpec>>;
