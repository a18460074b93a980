/**
 * The parsed form of a router rule. Parentheses leave no node: the tree shape
 * carries the grouping. Positions are 0-based offsets into the rule text.
 */
export type RuleNode = MatcherNode | NotNode | BinaryNode;

export interface MatcherNode {
  readonly kind: 'matcher';
  /** Canonical matcher name (`Host`, `PathPrefix`, ...), whatever case was written. */
  readonly name: string;
  readonly args: readonly string[];
  /** Offset of the matcher name. */
  readonly pos: number;
  /** Offset of each argument's opening quote. */
  readonly argPos: readonly number[];
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: RuleNode;
  readonly pos: number;
}

export interface BinaryNode {
  readonly kind: 'and' | 'or';
  readonly left: RuleNode;
  readonly right: RuleNode;
  readonly pos: number;
}

/** Quote a string as a rule argument: backticks when possible, else a Go double-quoted literal. */
export function quoteArg(value: string): string {
  if (!value.includes('`') && !value.includes('\r')) return `\`${value}\``;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += value[i];
  }
  return `${out}"`;
}

const PREC = { or: 1, and: 2, not: 3, matcher: 4 } as const;

/** Print a tree back to rule text; `parseRule(printRule(t))` gives a tree equal to `t` (positions aside). */
export function printRule(node: RuleNode): string {
  switch (node.kind) {
    case 'matcher':
      return `${node.name}(${node.args.map(quoteArg).join(', ')})`;
    case 'not':
      return `!${wrap(node.operand, PREC.not)}`;
    case 'and':
    case 'or': {
      const p = PREC[node.kind];
      // Operators are left-associative: a right child of the same precedence needs parentheses.
      const op = node.kind === 'and' ? ' && ' : ' || ';
      return wrap(node.left, p) + op + wrap(node.right, p + 1);
    }
  }
}

function wrap(node: RuleNode, minPrec: number): string {
  const s = printRule(node);
  return PREC[node.kind] < minPrec ? `(${s})` : s;
}

/** Structural equality, ignoring positions. */
export function sameRule(a: RuleNode, b: RuleNode): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'matcher': {
      const m = b as MatcherNode;
      return a.name === m.name && a.args.length === m.args.length && a.args.every((x, i) => x === m.args[i]);
    }
    case 'not':
      return sameRule(a.operand, (b as NotNode).operand);
    default:
      return sameRule(a.left, (b as BinaryNode).left) && sameRule(a.right, (b as BinaryNode).right);
  }
}
