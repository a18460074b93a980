/**
 * The circuit breaker's trigger expression (oxy cbreaker syntax), parsed once:
 *   NetworkErrorRatio() > 0.5
 *   LatencyAtQuantileMS(50.0) > 100
 *   ResponseCodeRatio(500, 600, 0, 600) > 0.25 || NetworkErrorRatio() > 0.1
 * Grammar: or := and ('||' and)*; and := cmp ('&&' cmp)*;
 * cmp := term (('<'|'<='|'>'|'>='|'=='|'!=') term)?; term := number | call | '(' or ')'.
 * Errors carry the 1-based column of the offending token.
 */
import type { RollingMetrics } from './metrics.js';

type Num = (m: RollingMetrics) => number;
type Bool = (m: RollingMetrics) => boolean;
type Node = { kind: 'num'; f: Num; col: number } | { kind: 'bool'; f: Bool; col: number };

export class ExpressionError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(`at column ${column}: ${message}`);
    this.name = 'ExpressionError';
  }
}

interface Token {
  t: 'num' | 'ident' | 'op' | '(' | ')' | ',' | 'end';
  v: string;
  col: number;
}

const OPS = ['&&', '||', '<=', '>=', '==', '!=', '<', '>'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const col = i + 1;
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i));
    if (num !== null) {
      out.push({ t: 'num', v: num[0], col });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id !== null) {
      out.push({ t: 'ident', v: id[0], col });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      out.push({ t: 'op', v: op, col });
      i += op.length;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, v: c, col });
      i++;
      continue;
    }
    throw new ExpressionError(col, `unexpected character "${c}"`);
  }
  out.push({ t: 'end', v: '', col: src.length + 1 });
  return out;
}

const FUNCS: Record<string, { args: number; build: (a: number[]) => Num }> = {
  NetworkErrorRatio: { args: 0, build: () => (m) => m.networkErrorRatio() },
  LatencyAtQuantileMS: { args: 1, build: (a) => (m) => m.latencyAtQuantileMs(a[0] as number) },
  ResponseCodeRatio: { args: 4, build: (a) => (m) => m.responseCodeRatio(a[0] as number, a[1] as number, a[2] as number, a[3] as number) },
};

const CMP: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

class Parser {
  private pos = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos] as Token;
  }
  private take(): Token {
    return this.toks[this.pos++] as Token;
  }
  private expect(t: Token['t'], what: string): Token {
    const tok = this.take();
    if (tok.t !== t) throw new ExpressionError(tok.col, `expected ${what}, found ${tok.t === 'end' ? 'end of expression' : `"${tok.v}"`}`);
    return tok;
  }

  parse(): Bool {
    const n = this.or();
    const end = this.peek();
    if (end.t !== 'end') throw new ExpressionError(end.col, `unexpected "${end.v}"`);
    if (n.kind !== 'bool') throw new ExpressionError(n.col, 'the expression must be a condition (use a comparison such as "> 0.5")');
    return n.f;
  }

  private bool(n: Node, op: string): Bool {
    if (n.kind !== 'bool') throw new ExpressionError(n.col, `operand of "${op}" must be a condition`);
    return n.f;
  }

  private or(): Node {
    let left = this.and();
    while (this.peek().t === 'op' && this.peek().v === '||') {
      this.take();
      const a = this.bool(left, '||');
      const b = this.bool(this.and(), '||');
      left = { kind: 'bool', f: (m) => a(m) || b(m), col: left.col };
    }
    return left;
  }

  private and(): Node {
    let left = this.cmp();
    while (this.peek().t === 'op' && this.peek().v === '&&') {
      this.take();
      const a = this.bool(left, '&&');
      const b = this.bool(this.cmp(), '&&');
      left = { kind: 'bool', f: (m) => a(m) && b(m), col: left.col };
    }
    return left;
  }

  private cmp(): Node {
    const left = this.term();
    const t = this.peek();
    const fn = t.t === 'op' ? CMP[t.v] : undefined;
    if (fn === undefined) return left;
    this.take();
    const right = this.term();
    if (left.kind !== 'num') throw new ExpressionError(left.col, `left side of "${t.v}" must be a number or a function`);
    if (right.kind !== 'num') throw new ExpressionError(right.col, `right side of "${t.v}" must be a number or a function`);
    const a = left.f;
    const b = right.f;
    return { kind: 'bool', f: (m) => fn(a(m), b(m)), col: left.col };
  }

  private term(): Node {
    const tok = this.take();
    if (tok.t === 'num') {
      const v = Number(tok.v);
      return { kind: 'num', f: () => v, col: tok.col };
    }
    if (tok.t === '(') {
      const inner = this.or();
      this.expect(')', '")"');
      return inner;
    }
    if (tok.t === 'ident') {
      const def = FUNCS[tok.v];
      if (def === undefined)
        throw new ExpressionError(
          tok.col,
          `unknown function "${tok.v}" (expected NetworkErrorRatio, LatencyAtQuantileMS or ResponseCodeRatio)`,
        );
      this.expect('(', `"(" after ${tok.v}`);
      const args: number[] = [];
      if (this.peek().t !== ')') {
        for (;;) {
          args.push(Number(this.expect('num', 'a number argument').v));
          if (this.peek().t !== ',') break;
          this.take();
        }
      }
      this.expect(')', '")"');
      if (args.length !== def.args) throw new ExpressionError(tok.col, `${tok.v} takes ${def.args} argument(s), got ${args.length}`);
      return { kind: 'num', f: def.build(args), col: tok.col };
    }
    throw new ExpressionError(tok.col, tok.t === 'end' ? 'unexpected end of expression' : `unexpected "${tok.v}"`);
  }
}

/** Parse an expression into a predicate over the rolling metrics. */
export function parseExpression(src: string): (m: RollingMetrics) => boolean {
  if (src.trim() === '') throw new ExpressionError(1, 'the expression is empty');
  return new Parser(tokenize(src)).parse();
}
