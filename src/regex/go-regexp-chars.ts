/** Character tables and JavaScript emitters for the Go regexp translator. */

export type Range = [number, number];

const DIGIT: Range[] = [[0x30, 0x39]];
const SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];
const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
export const POSIX: Readonly<Record<string, Range[]>> = Object.assign(Object.create(null) as Record<string, Range[]>, {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
});
export const PERL: Readonly<Record<string, Range[]>> = { d: DIGIT, s: SPACE, w: WORD };

const SYNTAX = new Set('^$\\.*+?()[]{}|/');
const CLASS_SYNTAX = new Set('\\]-[^');

export const CONTROL_ESCAPES: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, {
  a: 0x07,
  f: 0x0c,
  t: 0x09,
  n: 0x0a,
  r: 0x0d,
  v: 0x0b,
});

export function classJs(ranges: Range[], neg: boolean, fold: boolean): string {
  const items = fold ? foldRanges(ranges) : ranges;
  return `[${neg ? '^' : ''}${items.map(rangeJs).join('')}]`;
}

export function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

export function foldable(cp: number): boolean {
  const ch = String.fromCodePoint(cp);
  return ch.toLowerCase() !== ch || ch.toUpperCase() !== ch;
}

/** Add the simple case variants of every character in the ranges (exact for ASCII ranges). */
export function foldRanges(ranges: Range[]): Range[] {
  const out: Range[] = [...ranges];
  for (const [lo, hi] of ranges) {
    // ASCII letters: fold the overlapping part as a range.
    const a = Math.max(lo, 0x61);
    const b = Math.min(hi, 0x7a);
    if (a <= b) out.push([a - 32, b - 32]);
    const A = Math.max(lo, 0x41);
    const B = Math.min(hi, 0x5a);
    if (A <= B) out.push([A + 32, B + 32]);
    if (hi === lo && lo === 0x6b) out.push([0x212a, 0x212a]);
    if (hi === lo && lo === 0x73) out.push([0x17f, 0x17f]);
    // Non-ASCII: per character, for small ranges only.
    if (hi >= 0x80 && hi - Math.max(lo, 0x80) < 512) {
      for (let c = Math.max(lo, 0x80); c <= hi; c++) {
        const ch = String.fromCodePoint(c);
        for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
          const vc = v.codePointAt(0) as number;
          if (v.length === String.fromCodePoint(vc).length && vc !== c) out.push([vc, vc]);
        }
      }
    }
  }
  return out;
}

export function rangeJs([lo, hi]: Range): string {
  return lo === hi ? classCharJs(lo) : `${classCharJs(lo)}-${classCharJs(hi)}`;
}

function classCharJs(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (CLASS_SYNTAX.has(ch)) return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp < 0xe000))
    return `\\u{${cp.toString(16)}}`;
  return ch;
}

export function litJs(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (SYNTAX.has(ch)) return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp < 0xe000))
    return `\\u{${cp.toString(16)}}`;
  return ch;
}
