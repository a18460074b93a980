/**
 * Recursive-descent parser for the rule language Traefik accepts (a subset of
 * Go expression syntax, as vulcand/predicate reads it): matcher calls with
 * string arguments in backticks (raw) or double quotes (Go escapes), `!`,
 * `&&`, `||` and parentheses, with precedence ! > && > ||.
 */
import type { MatcherNode, RuleNode } from './ast.js';
import { RuleSyntaxError } from './errors.js';

/** Maps a matcher name as written to its canonical name, or throws RuleSyntaxError. */
export type NameResolver = (written: string, pos: number, rule: string) => string;

const MAX_DEPTH = 64;
const MAX_RULE_LENGTH = 65536;

const enum T {
  Ident,
  Str,
  LParen,
  RParen,
  Comma,
  And,
  Or,
  Not,
  End,
}

interface Token {
  type: T;
  pos: number;
  /** Identifier text or decoded string value. */
  text: string;
}

const DESCRIBE: Record<T, string> = {
  [T.Ident]: 'a matcher name',
  [T.Str]: 'a string',
  [T.LParen]: '"("',
  [T.RParen]: '")"',
  [T.Comma]: '","',
  [T.And]: '"&&"',
  [T.Or]: '"||"',
  [T.Not]: '"!"',
  [T.End]: 'end of rule',
};

export function parseRule(rule: string, resolve: NameResolver): RuleNode {
  if (rule.length > MAX_RULE_LENGTH) throw new RuleSyntaxError(rule, MAX_RULE_LENGTH, `rule longer than ${MAX_RULE_LENGTH} characters`);
  const p = new Parser(rule, resolve);
  if (p.type() === T.End) throw new RuleSyntaxError(rule, p.tok.pos, 'empty rule: expected a matcher such as Host(`example.com`)');
  const node = p.parseOr(0);
  if (p.type() !== T.End) p.fail(`expected "&&", "||" or end of rule, found ${DESCRIBE[p.type()]}`);
  return node;
}

class Parser {
  private i = 0;
  tok: Token;
  constructor(
    private readonly src: string,
    private readonly resolve: NameResolver,
  ) {
    this.tok = this.lex();
  }

  fail(message: string, pos: number = this.tok.pos): never {
    throw new RuleSyntaxError(this.src, pos, message);
  }

  /** The current token type (a method, so the compiler does not narrow it across next()). */
  type(): T {
    return this.tok.type;
  }

  private next(): void {
    this.tok = this.lex();
  }

  parseOr(depth: number): RuleNode {
    let left = this.parseAnd(depth);
    while (this.type() === T.Or) {
      const pos = this.tok.pos;
      this.next();
      left = { kind: 'or', left, right: this.parseAnd(depth), pos };
    }
    return left;
  }

  private parseAnd(depth: number): RuleNode {
    let left = this.parseUnary(depth);
    while (this.type() === T.And) {
      const pos = this.tok.pos;
      this.next();
      left = { kind: 'and', left, right: this.parseUnary(depth), pos };
    }
    return left;
  }

  private parseUnary(depth: number): RuleNode {
    if (depth > MAX_DEPTH) this.fail(`rule nested deeper than ${MAX_DEPTH} levels`);
    if (this.type() === T.Not) {
      const pos = this.tok.pos;
      this.next();
      return { kind: 'not', operand: this.parseUnary(depth + 1), pos };
    }
    if (this.type() === T.LParen) {
      this.next();
      const inner = this.parseOr(depth + 1);
      if (this.type() !== T.RParen) this.fail(`expected ")", found ${DESCRIBE[this.type()]}`);
      this.next();
      return inner;
    }
    if (this.type() === T.Ident) return this.parseMatcher();
    return this.fail(`expected a matcher, "!" or "(", found ${DESCRIBE[this.type()]}`);
  }

  private parseMatcher(): MatcherNode {
    const pos = this.tok.pos;
    const name = this.resolve(this.tok.text, pos, this.src);
    this.next();
    if (this.type() !== T.LParen) this.fail(`expected "(" after ${name}, found ${DESCRIBE[this.type()]}`);
    this.next();
    const args: string[] = [];
    const argPos: number[] = [];
    while (this.type() !== T.RParen) {
      if (this.type() !== T.Str) {
        this.fail(
          args.length === 0
            ? `expected a string in backticks or double quotes or ")", found ${DESCRIBE[this.type()]}`
            : `expected a string in backticks or double quotes, found ${DESCRIBE[this.type()]}`,
        );
      }
      args.push(this.tok.text);
      argPos.push(this.tok.pos);
      this.next();
      if (this.type() === T.Comma) this.next();
      else if (this.type() !== T.RParen) this.fail(`expected "," or ")", found ${DESCRIBE[this.type()]}`);
    }
    this.next();
    return { kind: 'matcher', name, args, pos, argPos };
  }

  private lex(): Token {
    const s = this.src;
    let i = this.i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
    const pos = i;
    if (i >= s.length) {
      this.i = i;
      return { type: T.End, pos, text: '' };
    }
    const c = s[i] as string;
    let type: T;
    switch (c) {
      case '(':
        type = T.LParen;
        break;
      case ')':
        type = T.RParen;
        break;
      case ',':
        type = T.Comma;
        break;
      case '!':
        type = T.Not;
        break;
      case '&':
      case '|':
        if (s[i + 1] !== c) this.fail(`expected "${c}${c}"`, pos);
        this.i = i + 2;
        return { type: c === '&' ? T.And : T.Or, pos, text: '' };
      case '`': {
        const end = s.indexOf('`', i + 1);
        if (end < 0) this.fail('unterminated string: expected closing "`"', pos);
        this.i = end + 1;
        // Go drops carriage returns from raw strings.
        return { type: T.Str, pos, text: s.slice(i + 1, end).replace(/\r/g, '') };
      }
      case '"':
        return this.lexQuoted(pos);
      case "'":
        return this.fail('single quotes are not accepted: use backticks or double quotes', pos);
      default:
        if (isIdentStart(s.charCodeAt(i))) {
          let j = i + 1;
          while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
          this.i = j;
          return { type: T.Ident, pos, text: s.slice(i, j) };
        }
        return this.fail(`unexpected character ${JSON.stringify(c)}`, pos);
    }
    this.i = i + 1;
    return { type, pos, text: '' };
  }

  /** A Go interpreted string literal. */
  private lexQuoted(pos: number): Token {
    const s = this.src;
    let i = pos + 1;
    let out = '';
    for (;;) {
      if (i >= s.length) this.fail("unterminated string: expected closing '\"'", pos);
      const c = s[i] as string;
      if (c === '"') break;
      if (c === '\n') this.fail('unterminated string: newline in double-quoted string', pos);
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      const simple = e === undefined ? undefined : SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        i += 2;
        continue;
      }
      let digits = 0;
      let base = 16;
      if (e === 'x') digits = 2;
      else if (e === 'u') digits = 4;
      else if (e === 'U') digits = 8;
      else if (e !== undefined && e >= '0' && e <= '7') {
        digits = 3;
        base = 8;
      } else this.fail(`invalid escape sequence "\\${e ?? ''}" in string`, i);
      const start = base === 8 ? i + 1 : i + 2;
      const text = s.slice(start, start + digits);
      const re = base === 8 ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/;
      if (text.length !== digits || !re.test(text)) this.fail(`invalid escape sequence in string`, i);
      const code = parseInt(text, base);
      if (base === 8 || e === 'x') {
        if (code > 255) this.fail('octal escape value > 255 in string', i);
        out += String.fromCharCode(code);
      } else {
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) this.fail('escape sequence is an invalid Unicode code point', i);
        out += String.fromCodePoint(code);
      }
      i = start + digits;
    }
    this.i = i + 1;
    return { type: T.Str, pos, text: out };
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
});

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}
