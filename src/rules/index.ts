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
export { compileTcpRule, canonicalServerName, type CompiledTcpRule, type TcpRuleInput } from './matchers-tcp.js';

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
  const tree = parseRule(rule, RESOLVERS[syntax]);
  const compiled = compileTree(tree, table, rule);
  const hosts = compiled.hosts === null ? null : Object.freeze([...compiled.hosts]);
  const allow = syntax === 'v2' ? methodsOf(tree) : [];
  if (allow.length === 0) return Object.freeze({ match: compiled.match, hosts });
  const relaxedTree = withoutMethods(tree);
  const relaxed = relaxedTree === null ? () => true : compileTree(relaxedTree, table, rule).match;
  return Object.freeze({ match: compiled.match, hosts, methods: Object.freeze({ relaxed, allow: Object.freeze(allow) }) });
}

/** The methods named by Method matchers outside a negation, upper-case, first seen first. */
function methodsOf(node: RuleNode, out: string[] = []): string[] {
  if (node.kind === 'matcher') {
    if (node.name === 'Method') for (const m of node.args) if (!out.includes(m.toUpperCase())) out.push(m.toUpperCase());
  } else if (node.kind !== 'not') {
    methodsOf(node.left, out);
    methodsOf(node.right, out);
  }
  return out;
}

/** The tree with Method matchers outside a negation taken as true (null: the whole rule is then true). */
function withoutMethods(node: RuleNode): RuleNode | null {
  switch (node.kind) {
    case 'matcher':
      return node.name === 'Method' ? null : node;
    case 'not':
      return node;
    case 'and': {
      const l = withoutMethods(node.left);
      const r = withoutMethods(node.right);
      return l === null ? r : r === null ? l : { ...node, left: l, right: r };
    }
    case 'or': {
      const l = withoutMethods(node.left);
      const r = withoutMethods(node.right);
      return l === null || r === null ? null : { ...node, left: l, right: r };
    }
  }
}

/** Traefik's default router priority: the length of the rule (in bytes, as Go's len()). */
export function defaultPriority(rule: string): number {
  return Buffer.byteLength(rule, 'utf8');
}
