/**
 * Traefik v3 rule matchers (`ruleSyntax: v3`): one value per matcher (two
 * for Header*, one or two for Query*), plain strings for Path/PathPrefix and
 * Go regexps (unanchored, as Go's MatchString) for the *Regexp matchers.
 */
import {
  clientIpRule,
  headerEquals,
  headerRegexp,
  hostRule,
  methodRule,
  pathEquals,
  pathRegexp,
  pathStartsWith,
  queryEquals,
  queryRegexp,
  regexpArg,
  requireSlash,
} from './builders.js';
import { isAscii } from './hosts.js';
import type { MatcherTable } from './types.js';

export const V3_MATCHERS: MatcherTable = {
  Host: { arity: [1, 1], usage: 'Host(`domain`)', build: (a, fail) => hostRule(a, fail, 'Host') },
  HostRegexp: {
    arity: [1, 1],
    usage: 'HostRegexp(`regexp`)',
    build: (args, fail) => {
      if (!isAscii(args[0] as string)) fail(0, 'invalid value for HostRegexp: non-ASCII characters are not allowed');
      const re = regexpArg(args, 0, fail, 'HostRegexp');
      return { match: (r) => re.test(r.host), hosts: null };
    },
  },
  Path: {
    arity: [1, 1],
    usage: 'Path(`/path`)',
    build: (args, fail) => {
      requireSlash(args, fail, 'Path');
      return { match: pathEquals(args[0] as string), hosts: null };
    },
  },
  PathPrefix: {
    arity: [1, 1],
    usage: 'PathPrefix(`/prefix`)',
    build: (args, fail) => {
      requireSlash(args, fail, 'PathPrefix');
      return { match: pathStartsWith(args[0] as string), hosts: null };
    },
  },
  PathRegexp: {
    arity: [1, 1],
    usage: 'PathRegexp(`regexp`)',
    build: (args, fail) => ({ match: pathRegexp(regexpArg(args, 0, fail, 'PathRegexp')), hosts: null }),
  },
  Method: { arity: [1, 1], usage: 'Method(`GET`)', build: (a) => methodRule(a) },
  Header: {
    arity: [2, 2],
    usage: 'Header(`key`, `value`)',
    build: (args) => ({ match: headerEquals(args[0] as string, args[1] as string), hosts: null }),
  },
  HeaderRegexp: {
    arity: [2, 2],
    usage: 'HeaderRegexp(`key`, `regexp`)',
    build: (args, fail) => ({ match: headerRegexp(args[0] as string, regexpArg(args, 1, fail, 'HeaderRegexp')), hosts: null }),
  },
  Query: {
    arity: [1, 2],
    usage: 'Query(`key`, `value`) or Query(`key`)',
    build: (args) => ({ match: queryEquals(args[0] as string, args[1] ?? ''), hosts: null }),
  },
  QueryRegexp: {
    arity: [1, 2],
    usage: 'QueryRegexp(`key`, `regexp`)',
    build: (args, fail) => ({
      match:
        args.length === 1 ? queryEquals(args[0] as string, '') : queryRegexp(args[0] as string, regexpArg(args, 1, fail, 'QueryRegexp')),
      hosts: null,
    }),
  },
  ClientIP: { arity: [1, 1], usage: 'ClientIP(`10.0.0.0/8`)', build: (a, fail) => clientIpRule(a, fail) },
};
