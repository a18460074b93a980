/**
 * Traefik v2 templates (gorilla/mux): literal text with `{name}` or
 * `{name:regexp}` variables, used by HostRegexp, Path, PathPrefix and Query
 * values in the v2 syntax. Compiled once into one anchored JavaScript RegExp.
 */
import { compileJs, GoRegexpError, translateGoRegexp } from '../regex/go-regexp.js';

export type TemplateKind = 'host' | 'path' | 'prefix' | 'query';

const DEFAULT_PATTERN: Record<TemplateKind, string> = {
  host: '[^.]+',
  path: '[^/]+',
  prefix: '[^/]+',
  query: '[^?&]*',
};

/** Offsets of first-level `{...}` pairs; throws GoRegexpError on unbalanced braces. */
function braceIndices(s: string): number[] {
  const idxs: number[] = [];
  let level = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') {
      if (++level === 1) start = i;
    } else if (s[i] === '}') {
      if (--level === 0) idxs.push(start, i + 1);
      else if (level < 0) throw new GoRegexpError(`unbalanced braces in "${s}"`, i);
    }
  }
  if (level !== 0) throw new GoRegexpError(`unbalanced braces in "${s}"`, start);
  return idxs;
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

export function hasTemplateVars(tpl: string): boolean {
  return tpl.includes('{') || tpl.includes('}');
}

/**
 * The regexp a template compiles to: anchored at both ends, except `prefix`
 * (anchored at the start only). `caseInsensitive` applies to the literal parts
 * and the variables' patterns.
 */
export function compileTemplate(tpl: string, kind: TemplateKind, caseInsensitive = false): RegExp {
  const idxs = braceIndices(tpl);
  const opts = { caseInsensitive };
  let src = '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const open = idxs[i] as number;
    src += translateGoRegexp(quoteMeta(tpl.slice(end, open)), opts);
    end = idxs[i + 1] as number;
    const inner = tpl.slice(open + 1, end - 1);
    const colon = inner.indexOf(':');
    const name = colon < 0 ? inner : inner.slice(0, colon);
    const patt = colon < 0 ? DEFAULT_PATTERN[kind] : inner.slice(colon + 1);
    if (name === '' || patt === '') throw new GoRegexpError(`missing name or pattern in "${tpl.slice(open, end)}"`, open);
    try {
      src += `(?:${translateGoRegexp(patt, opts)})`;
    } catch (err) {
      if (err instanceof GoRegexpError) throw new GoRegexpError(`${err.message} in "{${inner}}"`, open);
      throw err;
    }
  }
  src += translateGoRegexp(quoteMeta(tpl.slice(end)), opts);
  if (kind !== 'prefix') src += '$';
  return compileJs(src);
}
