/**
 * Traefik v2 rule matchers (`ruleSyntax: v2`, the default in Traefik 2):
 * most take several values (any may match); Path, PathPrefix, HostRegexp and
 * Query values are gorilla/mux templates with `{name:regexp}` variables.
 */
import {
  allOf,
  anyOf,
  clientIpRule,
  headerEquals,
  headerRegexp,
  hostRule,
  methodRule,
  pathEquals,
  pathStartsWith,
  queryFirst,
  regexpArg,
  requireSlash,
} from './builders.js';
import { GoRegexpError } from '../regex/go-regexp.js';
import { compileTemplate, hasTemplateVars, type TemplateKind } from './mux-template.js';
import { routingPath } from './request-parts.js';
import type { ArgFail, Matcher, MatcherTable } from './types.js';

const MANY = Number.MAX_SAFE_INTEGER;
const ANY_QUERY_VALUE = /^[^?&]*$/u;

function template(args: readonly string[], i: number, fail: ArgFail, matcher: string, kind: TemplateKind, caseInsensitive = false): RegExp {
  try {
    return compileTemplate(args[i] as string, kind, caseInsensitive);
  } catch (err) {
    if (err instanceof GoRegexpError) return fail(i, `invalid value for ${matcher}: ${err.message}`);
    throw err;
  }
}

function pathRule(args: readonly string[], fail: ArgFail, matcher: 'Path' | 'PathPrefix'): Matcher {
  requireSlash(args, fail, matcher);
  const list = args.map((p, i): Matcher => {
    if (!hasTemplateVars(p)) return matcher === 'Path' ? pathEquals(p) : pathStartsWith(p);
    const re = template(args, i, fail, matcher, matcher === 'Path' ? 'path' : 'prefix');
    return (r) => re.test(routingPath(r.path));
  });
  return anyOf(list);
}

export const V2_MATCHERS: MatcherTable = {
  Host: { arity: [1, MANY], usage: 'Host(`domain`, ...)', build: (a, fail) => hostRule(a, fail, 'Host') },
  HostHeader: { arity: [1, MANY], usage: 'HostHeader(`domain`, ...)', build: (a, fail) => hostRule(a, fail, 'HostHeader') },
  HostRegexp: {
    arity: [1, MANY],
    usage: 'HostRegexp(`{sub:[a-z]+}.example.com`, ...)',
    build: (args, fail) => {
      const list = args.map((h, i): Matcher => {
        if (!/^[\x00-\x7f]*$/.test(h)) fail(i, 'invalid value for HostRegexp: non-ASCII characters are not allowed');
        // Host names are case-insensitive and ctx.host is lower-case.
        const re = template(args, i, fail, 'HostRegexp', 'host', true);
        return (r) => re.test(r.host);
      });
      return { match: anyOf(list), hosts: null };
    },
  },
  Path: { arity: [1, MANY], usage: 'Path(`/path`, ...)', build: (a, fail) => ({ match: pathRule(a, fail, 'Path'), hosts: null }) },
  PathPrefix: {
    arity: [1, MANY],
    usage: 'PathPrefix(`/prefix`, ...)',
    build: (a, fail) => ({ match: pathRule(a, fail, 'PathPrefix'), hosts: null }),
  },
  Method: { arity: [1, MANY], usage: 'Method(`GET`, ...)', build: (a) => methodRule(a) },
  Headers: {
    arity: [2, MANY],
    pairs: true,
    usage: 'Headers(`key`, `value`)',
    build: (args) => {
      const list: Matcher[] = [];
      for (let i = 0; i < args.length; i += 2) list.push(headerEquals(args[i] as string, args[i + 1] as string));
      return { match: allOf(list), hosts: null };
    },
  },
  HeadersRegexp: {
    arity: [2, MANY],
    pairs: true,
    usage: 'HeadersRegexp(`key`, `regexp`)',
    build: (args, fail) => {
      const list: Matcher[] = [];
      for (let i = 0; i < args.length; i += 2) list.push(headerRegexp(args[i] as string, regexpArg(args, i + 1, fail, 'HeadersRegexp')));
      return { match: allOf(list), hosts: null };
    },
  },
  Query: {
    arity: [1, MANY],
    usage: 'Query(`key=value`, ...)',
    build: (args, fail) => {
      const list = args.map((q, i): Matcher => {
        const eq = q.indexOf('=');
        const key = eq < 0 ? q : q.slice(0, eq);
        const value = eq < 0 ? '' : q.slice(eq + 1);
        if (key === '') fail(i, 'invalid value for Query: empty key');
        // gorilla/mux: an empty value accepts any first value without '?' or '&'.
        if (value !== '' && !hasTemplateVars(value)) return queryFirst(key, value, null);
        const tpl = value === '' ? ANY_QUERY_VALUE : template([value], 0, (_, m) => fail(i, m), 'Query', 'query');
        return queryFirst(key, null, tpl);
      });
      return { match: allOf(list), hosts: null };
    },
  },
  ClientIP: { arity: [1, MANY], usage: 'ClientIP(`10.0.0.0/8`, ...)', build: (a, fail) => clientIpRule(a, fail) },
};
