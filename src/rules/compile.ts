/** Compile a parsed rule into one matching function plus its host index entry. */
import type { RuleNode } from './ast.js';
import { RuleSyntaxError } from './errors.js';
import type { CompiledRule, MatcherTable } from './types.js';

export function compileTree(node: RuleNode, table: MatcherTable, rule: string): CompiledRule {
  switch (node.kind) {
    case 'matcher': {
      const spec = table[node.name];
      if (spec === undefined) throw new RuleSyntaxError(rule, node.pos, `unknown matcher "${node.name}"`);
      const n = node.args.length;
      const [min, max] = spec.arity;
      if (n < min || n > max || (spec.pairs === true && n % 2 !== 0)) {
        const want =
          spec.pairs === true
            ? 'key, value pairs'
            : min === max
              ? `${min} argument${min > 1 ? 's' : ''}`
              : max > 1000
                ? `at least ${min} argument`
                : `${min} or ${max} arguments`;
        const hint = n > max && max === 1 ? ' (combine several with ||)' : '';
        throw new RuleSyntaxError(
          rule,
          node.pos,
          `wrong number of arguments for ${node.name}: expected ${want} as in ${spec.usage}, got ${n}${hint}`,
        );
      }
      node.args.forEach((a, i) => {
        if (a === '') throw new RuleSyntaxError(rule, node.argPos[i] as number, `empty argument for ${node.name}`);
      });
      return spec.build(node.args, (i, message) => {
        throw new RuleSyntaxError(rule, node.argPos[i] ?? node.pos, message);
      });
    }
    case 'not': {
      const inner = compileTree(node.operand, table, rule).match;
      return { match: (r) => !inner(r), hosts: null };
    }
    case 'and': {
      const l = compileTree(node.left, table, rule);
      const r = compileTree(node.right, table, rule);
      const a = l.match;
      const b = r.match;
      let hosts: readonly string[] | null;
      if (l.hosts === null) hosts = r.hosts;
      else if (r.hosts === null) hosts = l.hosts;
      else hosts = l.hosts.filter((h) => (r.hosts as readonly string[]).includes(h));
      return { match: (q) => a(q) && b(q), hosts };
    }
    case 'or': {
      const l = compileTree(node.left, table, rule);
      const r = compileTree(node.right, table, rule);
      const a = l.match;
      const b = r.match;
      const hosts = l.hosts === null || r.hosts === null ? null : [...new Set([...l.hosts, ...r.hosts])];
      return { match: (q) => a(q) || b(q), hosts };
    }
  }
}
