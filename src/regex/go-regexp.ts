/**
 * The one translator of Go (RE2) regular expressions into equivalent
 * JavaScript ones (compiled with the `u` flag), used by every rule matcher and
 * every middleware option that takes a Go regexp. Handles flags `(?imsU)` /
 * `(?flags:re)` (scoped case-insensitivity is expanded into character classes,
 * since Node 20 has no inline modifiers), `\A`, `\z`, `(?P<name>re)` /
 * `(?<name>re)`, `\Q...\E`, POSIX classes `[[:alpha:]]`, Go's ASCII-only
 * `\s \d \w`, `\pN` / `\p{Greek}`, octal and `\x{...}` escapes, `.` not
 * matching `\n`, and Go's literal `{` when it does not start a repetition.
 * Backreferences, lookarounds and `\C` are errors, as in Go.
 *
 * Capture groups keep Go's numbering: every Go group becomes an unnamed
 * JavaScript group, and the names are returned beside the source (Go allows
 * the same name twice, JavaScript does not), for replacement templates.
 */

import { CONTROL_ESCAPES, PERL, POSIX, classJs, complement, foldRanges, foldable, litJs, rangeJs, type Range } from './go-regexp-chars.js';

export class GoRegexpError extends Error {
  constructor(
    message: string,
    /** Offset in the Go source where the problem is. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'GoRegexpError';
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

export interface GoRegexpOptions {
  /** Start with Go's `(?i)` set (matchers that fold case). */
  caseInsensitive?: boolean;
}

/** A translation: the JavaScript source and Go's SubexpNames (index 0 is the whole match, '' for unnamed groups). */
export interface GoTranslation {
  readonly js: string;
  readonly groupNames: readonly string[];
}

const MAX_REPEAT = 1000;

/** The JavaScript source and group names equivalent to a Go regexp; throws GoRegexpError. */
export function translateGoRegexpGroups(src: string, initial: GoRegexpOptions = {}): GoTranslation {
  const t = new Translator(src, { i: initial.caseInsensitive === true, m: false, s: false, U: false });
  const js = t.run();
  return { js, groupNames: t.groupNames };
}

/** The JavaScript source (for `new RegExp(src, 'u')`) equivalent to a Go regexp; throws GoRegexpError. */
export function translateGoRegexp(src: string, initial: GoRegexpOptions = {}): string {
  return translateGoRegexpGroups(src, initial).js;
}

/** Compile a Go regexp into a JavaScript RegExp (Go's MatchString is `test`); throws GoRegexpError. */
export function compileGoRegexp(src: string, initial: GoRegexpOptions = {}): RegExp {
  return compileJs(translateGoRegexp(src, initial));
}

/** Compile an already translated source (`flags` adds to `u`, e.g. `g`); throws GoRegexpError. */
export function compileJs(js: string, flags = ''): RegExp {
  try {
    return new RegExp(js, `u${flags}`);
  } catch (err) {
    throw new GoRegexpError(`invalid regexp: ${(err as Error).message}`, 0);
  }
}

type AtomKind = 'none' | 'atom' | 'assert' | 'repeat';

class Translator {
  private i = 0;
  private out = '';
  private atomStart = 0;
  private atomKind: AtomKind = 'none';
  private readonly stack: { flags: Flags; outStart: number }[] = [];
  /** Go's SubexpNames: [0] is the whole match. */
  readonly groupNames: string[] = [''];
  constructor(
    private readonly src: string,
    private flags: Flags,
  ) {}

  private fail(message: string, at = this.i): never {
    throw new GoRegexpError(message, at);
  }

  run(): string {
    const s = this.src;
    while (this.i < s.length) {
      const c = s.codePointAt(this.i) as number;
      const ch = String.fromCodePoint(c);
      switch (ch) {
        case '(':
          this.openGroup();
          break;
        case ')': {
          const g = this.stack.pop();
          if (g === undefined) this.fail('unexpected ): unbalanced parenthesis');
          this.flags = g.flags;
          this.out += ')';
          this.i++;
          this.setAtom(g.outStart, 'atom');
          break;
        }
        case '|':
          this.out += '|';
          this.i++;
          this.atomKind = 'none';
          break;
        case '*':
        case '+':
        case '?':
          this.repeat(ch, 1);
          break;
        case '{': {
          const rep = this.parseBraces();
          if (rep === null) this.literal(c, 1);
          else this.repeat(rep.text, rep.len);
          break;
        }
        case '^':
          this.emitAtom(this.flags.m ? '(?<![^\\n])' : '^', 'assert', 1);
          break;
        case '$':
          this.emitAtom(this.flags.m ? '(?![^\\n])' : '$', 'assert', 1);
          break;
        case '.':
          this.emitAtom(this.flags.s ? '[^]' : '[^\\n]', 'atom', 1);
          break;
        case '[':
          this.charClass();
          break;
        case '\\':
          this.escape();
          break;
        default:
          this.literal(c, ch.length);
      }
    }
    if (this.stack.length > 0) this.fail('missing closing ): unbalanced parenthesis');
    return this.out;
  }

  private setAtom(start: number, kind: AtomKind): void {
    this.atomStart = start;
    this.atomKind = kind;
  }

  private emitAtom(js: string, kind: AtomKind, advance: number): void {
    this.setAtom(this.out.length, kind);
    this.out += js;
    this.i += advance;
  }

  private literal(cp: number, advance: number): void {
    this.emitAtom(
      this.flags.i && foldable(cp)
        ? `[${foldRanges([[cp, cp]])
            .map(rangeJs)
            .join('')}]`
        : litJs(cp),
      'atom',
      advance,
    );
  }

  private repeat(op: string, len: number): void {
    const at = this.i;
    if (this.atomKind === 'none') this.fail(`missing argument to repetition operator: ${op}`, at);
    if (this.atomKind === 'repeat') this.fail(`invalid nested repetition operator: ${op}`, at);
    if (this.atomKind === 'assert') {
      // JavaScript (u mode) refuses to repeat an assertion; Go accepts it.
      this.out = `${this.out.slice(0, this.atomStart)}(?:${this.out.slice(this.atomStart)})`;
    }
    this.i += len;
    let lazy = false;
    if (this.src[this.i] === '?') {
      lazy = true;
      this.i++;
    }
    if (this.flags.U) lazy = !lazy;
    this.out += op + (lazy ? '?' : '');
    this.atomKind = 'repeat';
  }

  /** `{n}`, `{n,}`, `{n,m}` at this.i, or null when the brace is a literal. */
  private parseBraces(): { text: string; len: number } | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i, this.i + 24));
    if (m === null) return null;
    const n = Number(m[1]);
    const max = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
    if (n > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < n))) this.fail(`invalid repeat count: ${m[0]}`);
    return { text: `{${n}${m[2] === undefined ? '' : `,${max ?? ''}`}}`, len: m[0].length };
  }

  private openGroup(): void {
    const s = this.src;
    const start = this.i;
    const outStart = this.out.length;
    if (s[start + 1] !== '?') {
      this.stack.push({ flags: { ...this.flags }, outStart });
      this.out += '(';
      this.groupNames.push('');
      this.i++;
      this.atomKind = 'none';
      return;
    }
    // Go's (?P<name>re) and (?<name>re); names are [A-Za-z0-9_]+ as in Go.
    const nameAt = s.startsWith('(?P<', start) ? start + 4 : s[start + 2] === '<' ? start + 3 : -1;
    if (nameAt >= 0) {
      const close = s.indexOf('>', nameAt);
      if (close < 0) this.fail(`invalid named capture: ${s.slice(start)}`, start);
      const name = s.slice(nameAt, close);
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture: ${s.slice(start, close + 1)}`, start);
      this.stack.push({ flags: { ...this.flags }, outStart });
      this.out += '(';
      this.groupNames.push(name);
      this.i = close + 1;
      this.atomKind = 'none';
      return;
    }
    let j = start + 2;
    const next = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    for (; j < s.length; j++) {
      const f = s[j] as string;
      if (f === 'i' || f === 'm' || f === 's' || f === 'U') {
        next[f] = !negate;
        sawFlag = true;
      } else if (f === '-') {
        if (negate) break;
        negate = true;
        sawFlag = false;
      } else if (f === ':' || f === ')') {
        if (negate && !sawFlag) break;
        if (f === ':') {
          this.stack.push({ flags: { ...this.flags }, outStart });
          this.flags = next;
          this.out += '(?:';
          this.atomKind = 'none';
        } else {
          if (!sawFlag && !negate && j === start + 2) break;
          // Flags change for the rest of the current group; no atom.
          this.flags = next;
        }
        this.i = j + 1;
        return;
      } else break;
    }
    this.fail(`invalid or unsupported Perl syntax: ${s.slice(start, Math.min(j + 1, s.length))}`, start);
  }

  private escape(): void {
    const s = this.src;
    const start = this.i;
    const e = s[start + 1];
    if (e === undefined) this.fail('trailing backslash at end of expression', start);
    switch (e) {
      case 'A':
        return this.emitAtom('(?<![^])', 'assert', 2);
      case 'z':
        return this.emitAtom('(?![^])', 'assert', 2);
      case 'b':
        return this.emitAtom('\\b', 'assert', 2);
      case 'B':
        return this.emitAtom('\\B', 'assert', 2);
      case 'Q': {
        const end = s.indexOf('\\E', start + 2);
        const text = s.slice(start + 2, end < 0 ? s.length : end);
        this.i = end < 0 ? s.length : end + 2;
        let last = this.out.length;
        for (const ch of text) {
          last = this.out.length;
          this.literal(ch.codePointAt(0) as number, 0);
        }
        // A following repetition applies to the last character only, as in Go.
        if (text.length > 0) this.setAtom(last, 'atom');
        return;
      }
    }
    const item = this.classEscape(true);
    if (item.js !== undefined) this.emitAtom(item.js, 'atom', 0);
    else this.emitAtom(classJs(item.ranges, false, this.flags.i), 'atom', 0);
  }

  /**
   * An escape usable inside or outside a class, at this.i (the backslash). Advances
   * past it. Returns ranges, or `js` for a Unicode property escape.
   */
  private classEscape(outside: boolean): { ranges: Range[]; js?: string } {
    const s = this.src;
    const start = this.i;
    const e = s[start + 1];
    if (e === undefined) this.fail(outside ? 'trailing backslash at end of expression' : 'missing closing ]', start);
    if ('dswDSW'.includes(e)) {
      this.i = start + 2;
      const lower = e.toLowerCase();
      const r = PERL[lower] as Range[];
      return { ranges: e === lower ? r : complement(r) };
    }
    if (e === 'p' || e === 'P') {
      let name: string;
      let end: number;
      if (s[start + 2] === '{') {
        end = s.indexOf('}', start + 3);
        if (end < 0) this.fail('invalid character class range: missing }', start);
        name = s.slice(start + 3, end);
        end++;
      } else {
        name = s[start + 2] ?? '';
        end = start + 3;
      }
      let neg = e === 'P';
      if (name.startsWith('^')) {
        neg = !neg;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) this.fail(`invalid character class range: \\${e}{${name}}`, start);
      const prop = name === 'Any' ? 'Any' : /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
      const js = `\\${neg ? 'P' : 'p'}{${prop}}`;
      try {
        new RegExp(js, 'u');
      } catch {
        this.fail(`invalid character class range: unknown Unicode class ${name}`, start);
      }
      this.i = end;
      return { ranges: [], js };
    }
    let cp: number;
    let len = 2;
    if (e >= '0' && e <= '7') {
      if (e !== '0' && !(s[start + 2] !== undefined && /[0-7]/.test(s[start + 2] as string))) {
        this.fail(`invalid escape sequence: \\${e} (backreferences are not supported)`, start);
      }
      const m = /^[0-7]{1,3}/.exec(s.slice(start + 1, start + 4)) as RegExpExecArray;
      cp = parseInt(m[0], 8);
      len = 1 + m[0].length;
    } else if (e === 'x') {
      if (s[start + 2] === '{') {
        const m = /^\{([0-9A-Fa-f]+)\}/.exec(s.slice(start + 2, start + 14));
        if (m === null) this.fail('invalid escape sequence: \\x{...}', start);
        cp = parseInt(m[1] as string, 16);
        if (cp > 0x10ffff) this.fail('invalid escape sequence: code point out of range', start);
        len = 2 + m[0].length;
      } else {
        const h = s.slice(start + 2, start + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(h)) this.fail('invalid escape sequence: \\x needs two hex digits', start);
        cp = parseInt(h, 16);
        len = 4;
      }
    } else {
      const simple = CONTROL_ESCAPES[e];
      if (simple !== undefined) cp = simple;
      else {
        const c = e.codePointAt(0) as number;
        if (c < 0x80 && !/[0-9A-Za-z]/.test(e)) cp = c;
        else this.fail(`invalid escape sequence: \\${e}${outside ? '' : ' in character class'}`, start);
      }
    }
    this.i = start + len;
    return { ranges: [[cp, cp]] };
  }

  private charClass(): void {
    const s = this.src;
    const start = this.i;
    let j = start + 1;
    let neg = false;
    if (s[j] === '^') {
      neg = true;
      j++;
    }
    const ranges: Range[] = [];
    const props: string[] = [];
    let first = true;
    for (;;) {
      if (j >= s.length) this.fail('missing closing ]', start);
      const ch = s[j] as string;
      if (ch === ']' && !first) break;
      first = false;
      if (ch === '[' && s[j + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(j, j + 16));
        if (m !== null) {
          const r = POSIX[m[2] as string];
          if (r === undefined) this.fail(`invalid character class range: [:${m[2]}:]`, j);
          ranges.push(...(m[1] === '^' ? complement(r) : r));
          j += m[0].length;
          continue;
        }
      }
      let lo: number;
      if (ch === '\\') {
        this.i = j;
        const item = this.classEscape(false);
        j = this.i;
        if (item.js !== undefined) {
          props.push(item.js);
          continue;
        }
        if (item.ranges.length !== 1 || (item.ranges[0] as Range)[0] !== (item.ranges[0] as Range)[1]) {
          ranges.push(...item.ranges);
          continue;
        }
        lo = (item.ranges[0] as Range)[0];
      } else {
        lo = s.codePointAt(j) as number;
        j += lo > 0xffff ? 2 : 1;
      }
      let hi = lo;
      if (s[j] === '-' && s[j + 1] !== ']' && j + 1 < s.length) {
        const rangeAt = j;
        j++;
        if (s[j] === '\\') {
          this.i = j;
          const item = this.classEscape(false);
          j = this.i;
          if (item.js !== undefined || item.ranges.length !== 1 || (item.ranges[0] as Range)[0] !== (item.ranges[0] as Range)[1]) {
            this.fail('invalid character class range', rangeAt);
          }
          hi = (item.ranges[0] as Range)[0];
        } else {
          hi = s.codePointAt(j) as number;
          j += hi > 0xffff ? 2 : 1;
        }
        if (hi < lo) this.fail(`invalid character class range: ${s.slice(rangeAt - 1, j)}`, rangeAt);
      }
      ranges.push([lo, hi]);
    }
    this.i = j + 1;
    const items = this.flags.i ? foldRanges(ranges) : ranges;
    this.emitAtom(`[${neg ? '^' : ''}${items.map(rangeJs).join('')}${props.join('')}]`, 'atom', 0);
  }
}
