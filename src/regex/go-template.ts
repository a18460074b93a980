/**
 * Go replacement templates (`Regexp.Expand`: $1, ${1}, $name, ${name}, $$) and
 * `Regexp.ReplaceAllString`, compiled once over a regexp from the one Go
 * translator (go-regexp.ts), so redirectRegex and replacePathRegex substitute
 * exactly as Traefik does.
 */
import { compileJs, translateGoRegexpGroups, type GoRegexpOptions } from './go-regexp.js';

/** A compiled template: builds the substitute for one match. */
export type GoTemplate = (match: RegExpExecArray) => string;

/** A part of a template: literal text, a group number, or the group numbers that carry a name. */
type Part = string | number | readonly number[];

/** Go's template variable names: Unicode letters and digits, and `_` (unicode.IsLetter/IsDigit). */
const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Go's `extract`: the variable after a `$` at `at`, or null when malformed
 * (then the `$` stays literal). Returns the name and where the text resumes.
 */
function extract(template: string, at: number): { name: string; next: number } | null {
  const brace = template[at] === '{';
  let i = brace ? at + 1 : at;
  const from = i;
  while (i < template.length) {
    const cp = template.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === from) return null;
  const name = template.slice(from, i);
  if (brace) {
    if (template[i] !== '}') return null;
    i++;
  }
  return { name, next: i };
}

/** Go's number rule for a name: ASCII digits, no leading zero, below 1e8; otherwise -1 (a group name). */
function groupNumber(name: string): number {
  if (!/^[0-9]+$/.test(name) || (name.length > 1 && name[0] === '0') || name.length > 8) return -1;
  return Number(name);
}

/**
 * Compile a Go `Regexp.Expand` template against the regexp's group names
 * (`groupNames[0]` is the whole match). `$name` takes the longest run of name
 * characters (so `$1x` is the group named "1x"); unknown or unmatched groups
 * expand to ''; `$$` is a literal `$`; a malformed `$` is kept as is.
 */
export function compileGoTemplate(template: string, groupNames: readonly string[]): GoTemplate {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      lit += template.slice(i);
      break;
    }
    lit += template.slice(i, dollar);
    if (template[dollar + 1] === '$') {
      lit += '$';
      i = dollar + 2;
      continue;
    }
    const v = extract(template, dollar + 1);
    if (v === null) {
      lit += '$';
      i = dollar + 1;
      continue;
    }
    if (lit !== '') parts.push(lit);
    lit = '';
    const num = groupNumber(v.name);
    if (num >= 0) parts.push(num);
    else {
      // Go takes the first group with that name that took part in the match.
      const indexes: number[] = [];
      groupNames.forEach((n, k) => {
        if (k > 0 && n === v.name) indexes.push(k);
      });
      parts.push(indexes);
    }
    i = v.next;
  }
  if (lit !== '') parts.push(lit);
  if (parts.length === 0) return () => '';
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const s = parts[0];
    return () => s;
  }
  return (m) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') out += m[p] ?? '';
      else
        for (const k of p) {
          const g = m[k];
          if (g !== undefined) {
            out += g;
            break;
          }
        }
    }
    return out;
  };
}

/**
 * Go's `Regexp.ReplaceAllString(src, template)`. `re` must have the `g` flag.
 * As in Go (and unlike String.prototype.replace), an empty match right after
 * a previous match is not replaced: `a*` on "baaac" gives "xbxcx".
 */
export function goReplaceAll(re: RegExp, src: string, expand: GoTemplate): string {
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    re.lastIndex = searchPos;
    const m = re.exec(src);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    out += src.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expand(m);
    lastMatchEnd = end;
    // Advance past the match, by at least one character (a code point, as Go advances a rune).
    const width = searchPos < src.length ? ((src.codePointAt(searchPos) as number) > 0xffff ? 2 : 1) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  re.lastIndex = 0;
  return out + src.slice(lastMatchEnd);
}

/** A Go regexp with a replacement template, both compiled once. */
export interface GoReplacer {
  /** Go's `MatchString`. */
  test(s: string): boolean;
  /** Go's `ReplaceAllString(s, template)`. */
  replaceAll(s: string): string;
}

/** Compile a Go regexp and a Go replacement template; throws GoRegexpError for a bad regexp. */
export function compileGoReplacer(pattern: string, template: string, options: GoRegexpOptions = {}): GoReplacer {
  const { js, groupNames } = translateGoRegexpGroups(pattern, options);
  // Two objects: `test` must not see the lastIndex the global one leaves behind.
  const once = compileJs(js);
  const global = compileJs(js, 'g');
  const expand = compileGoTemplate(template, groupNames);
  return {
    test: (s) => once.test(s),
    replaceAll: (s) => goReplaceAll(global, s, expand),
  };
}
