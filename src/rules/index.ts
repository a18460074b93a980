/**
 * The router rule engine: Traefik v2 and v3 rule syntaxes parsed and compiled
 * once into a plain matching function. See docs/rules.md.
 */
import { parseRule } from './parser.js';
import { compileTree } from './compile.js';
import { makeResolver } from './names.js';
import { V2_MATCHERS } from './matchers-v2.js';
import { V3_MATCHERS } from './matchers-v3.js';
import type { RuleNode } from './ast.js';
import type { CompiledRule, MatcherTable, RuleSyntax } from './types.js';

export { RuleSyntaxError } from './errors.js';
export type { CompiledRule, RuleInput, RuleSyntax } from './types.js';
export type { RuleNode } from './ast.js';
export { printRule } from './ast.js';

const TABLES: Readonly<Record<RuleSyntax, MatcherTable>> = { v2: V2_MATCHERS, v3: V3_MATCHERS };
const RESOLVERS = { v2: makeResolver('v2', V2_MATCHERS), v3: makeResolver('v3', V3_MATCHERS) } as const;

/** Parse a rule into its tree (matcher names canonicalised); throws RuleSyntaxError. */
export function parse(rule: string, syntax: RuleSyntax = 'v2'): RuleNode {
  return parseRule(rule, RESOLVERS[syntax]);
}

/** Parse and compile a rule; throws RuleSyntaxError. */
export function compileRule(rule: string, syntax: RuleSyntax = 'v2'): CompiledRule {
  const table = TABLES[syntax];
  if (table === undefined) throw new TypeError(`unknown rule syntax ${String(syntax)}`);
  const compiled = compileTree(parseRule(rule, RESOLVERS[syntax]), table, rule);
  return Object.freeze({ match: compiled.match, hosts: compiled.hosts === null ? null : Object.freeze([...compiled.hosts]) });
}

/** Traefik's default router priority: the length of the rule (in bytes, as Go's len()). */
export function defaultPriority(rule: string): number {
  return Buffer.byteLength(rule, 'utf8');
}
