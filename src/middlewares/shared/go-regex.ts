/**
 * Traefik's options hold Go (RE2) regular expressions and Go replacement
 * templates ($1, ${1}, $name, ${name}, $$). These helpers translate them once,
 * at build time, into JavaScript RegExps and precompiled replacement functions.
 */
import { MiddlewareOptionError } from '../types.js';

/**
 * Compile a Go regular expression. Handles the differences users actually hit:
 * `(?P<name>…)` named groups, a leading `(?i)`/`(?s)`/`(?m)` flag group, `\A` and `\z`.
 */
export function compileGoRegex(source: string, field: string, extraFlags = ''): RegExp {
  let src = source;
  let flags = extraFlags;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead !== null) {
    for (const f of lead[1] as string) {
      if (f === 'U') throw new MiddlewareOptionError(field, `the Go regexp flag (?U) is not supported in "${source}"`);
      if (!flags.includes(f)) flags += f;
    }
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    return new RegExp(src, flags);
  } catch (err) {
    throw new MiddlewareOptionError(field, `invalid regular expression "${source}": ${(err as Error).message}`);
  }
}

type Part = string | number | { name: string };

/** A compiled replacement: builds the substitute for one match. */
export type Replacer = (match: RegExpExecArray | RegExpMatchArray) => string;

/**
 * Compile a Go `Regexp.Expand` template. `$name` takes the longest run of
 * letters, digits and `_`; all-digit names are group numbers; unknown or
 * unmatched groups expand to ''; `$$` is a literal `$`; a malformed `$` is kept.
 */
export function compileGoReplacement(template: string): Replacer {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    if (template[i + 1] === '$') {
      lit += '$';
      i += 2;
      continue;
    }
    let name = '';
    let next = i + 1;
    if (template[next] === '{') {
      const close = template.indexOf('}', next);
      const inner = close < 0 ? '' : template.slice(next + 1, close);
      if (close > 0 && /^\w+$/.test(inner)) {
        name = inner;
        next = close + 1;
      }
    } else {
      const m = /^\w+/.exec(template.slice(next));
      if (m !== null) {
        name = m[0];
        next += name.length;
      }
    }
    if (name === '') {
      lit += '$';
      i++;
      continue;
    }
    if (lit !== '') parts.push(lit);
    lit = '';
    parts.push(/^\d+$/.test(name) ? Number(name) : { name });
    i = next;
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
      else out += m.groups?.[p.name] ?? '';
    }
    return out;
  };
}

/**
 * Go's `Regexp.ReplaceAllString(src, template)`: every non-overlapping match
 * replaced. `re` must have the `g` flag.
 */
export function replaceAll(re: RegExp, src: string, replacer: Replacer): string {
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src)) !== null) {
    out += src.slice(last, m.index) + replacer(m);
    last = m.index + m[0].length;
    if (m[0].length === 0) {
      if (re.lastIndex >= src.length) break;
      re.lastIndex++;
    }
  }
  re.lastIndex = 0;
  return out + src.slice(last);
}
