/**
 * Matcher builders shared by the v2 and v3 syntaxes. Each runs once per rule
 * and returns a closure that reads only precomputed values.
 */
import { compileIpRanges, IpRangeError, type IpRanges } from '../net/ip.js';
import { GoRegexpError, compileGoRegexp } from '../regex/go-regexp.js';
import { isAscii, normalizeRuleHost } from './hosts.js';
import { headerHas, headerMatches, queryMatch, routingPath } from './request-parts.js';
import type { ArgFail, CompiledRule, Matcher } from './types.js';

export function anyOf(list: readonly Matcher[]): Matcher {
  if (list.length === 1) return list[0] as Matcher;
  if (list.length === 2) {
    const a = list[0] as Matcher;
    const b = list[1] as Matcher;
    return (r) => a(r) || b(r);
  }
  return (r) => {
    for (let i = 0; i < list.length; i++) if ((list[i] as Matcher)(r)) return true;
    return false;
  };
}

export function allOf(list: readonly Matcher[]): Matcher {
  if (list.length === 1) return list[0] as Matcher;
  return (r) => {
    for (let i = 0; i < list.length; i++) if (!(list[i] as Matcher)(r)) return false;
    return true;
  };
}

/** Compile a Go regexp argument; a bad one fails at that argument. */
export function regexpArg(args: readonly string[], i: number, fail: ArgFail, matcher: string, caseInsensitive = false): RegExp {
  try {
    return compileGoRegexp(args[i] as string, { caseInsensitive });
  } catch (err) {
    if (err instanceof GoRegexpError) return fail(i, `invalid regexp in ${matcher}: ${err.message}`);
    throw err;
  }
}

export function hostRule(args: readonly string[], fail: ArgFail, matcher: string): CompiledRule {
  const hosts: string[] = [];
  args.forEach((a, i) => {
    if (!isAscii(a)) fail(i, `invalid value for ${matcher}: non-ASCII characters are not allowed (use the punycode form)`);
    const h = normalizeRuleHost(a);
    if (!hosts.includes(h)) hosts.push(h);
  });
  if (hosts.length === 1) {
    const h = hosts[0] as string;
    return { match: (r) => r.host === h && h !== '', hosts };
  }
  const table: Record<string, true> = Object.create(null) as Record<string, true>;
  for (const h of hosts) if (h !== '') table[h] = true;
  return { match: (r) => table[r.host] === true, hosts };
}

export function methodRule(args: readonly string[]): CompiledRule {
  const methods = [...new Set(args.map((m) => m.toUpperCase()))];
  if (methods.length === 1) {
    const m = methods[0] as string;
    return { match: (r) => r.method === m, hosts: null };
  }
  return { match: (r) => methods.includes(r.method), hosts: null };
}

export function clientIpRule(args: readonly string[], fail: ArgFail): CompiledRule {
  const ranges = ipRangesArg(args, fail);
  return { match: (r) => ranges.contains(r.remoteIp), hosts: null };
}

/** Compile ClientIP ranges; a bad one fails at that argument. */
function ipRangesArg(args: readonly string[], fail: ArgFail): IpRanges {
  try {
    return compileIpRanges(args);
  } catch (err) {
    if (err instanceof IpRangeError) return fail(err.index, `invalid value for ClientIP: ${err.message}`);
    throw err;
  }
}

export function requireSlash(args: readonly string[], fail: ArgFail, matcher: string): void {
  args.forEach((p, i) => {
    if (!p.startsWith('/')) fail(i, `${matcher} value "${p}" does not start with a "/"`);
  });
}

export function pathEquals(path: string): Matcher {
  return (r) => routingPath(r.path) === path;
}

export function pathStartsWith(prefix: string): Matcher {
  return (r) => routingPath(r.path).startsWith(prefix);
}

export function pathRegexp(re: RegExp): Matcher {
  return (r) => re.test(routingPath(r.path));
}

export function headerEquals(name: string, value: string): Matcher {
  const key = name.toLowerCase();
  return (r) => headerHas(r.headers[key], value);
}

export function headerRegexp(name: string, re: RegExp): Matcher {
  const key = name.toLowerCase();
  return (r) => headerMatches(r.headers[key], re);
}

/** The header is present (any value). */
export function headerPresent(name: string): Matcher {
  const key = name.toLowerCase();
  return (r) => r.headers[key] !== undefined;
}

/** One of the key's values equals `value` (v3 Query; `value` '' for Query(`key`)). */
export function queryEquals(key: string, value: string): Matcher {
  return (r) => queryMatch(r.query, key, 'any', value, null);
}

/** One of the key's values matches `re` (v3 QueryRegexp). */
export function queryRegexp(key: string, re: RegExp): Matcher {
  return (r) => queryMatch(r.query, key, 'any', null, re);
}

/** The key's first value equals `value`, or matches `re` (v2 Query, gorilla/mux semantics). */
export function queryFirst(key: string, value: string | null, re: RegExp | null): Matcher {
  return (r) => queryMatch(r.query, key, 'first', value, re);
}
