/**
 * Matcher name resolution. Like Traefik, a name is accepted as written in the
 * docs (`PathPrefix`), all lower-case (`pathprefix`), all upper-case
 * (`PATHPREFIX`) or capitalised (`Pathprefix`). Unknown names get a hint: the
 * other syntax's equivalent, or the closest known name.
 */
import { closest } from '../util/closest.js';
import { RuleSyntaxError } from './errors.js';
import type { NameResolver } from './parser.js';
import type { MatcherTable, RuleSyntax } from './types.js';

const V2_TO_V3: Readonly<Record<string, string>> = { Headers: 'Header', HeadersRegexp: 'HeaderRegexp', HostHeader: 'Host' };
const V3_TO_V2: Readonly<Record<string, string>> = {
  Header: 'Headers',
  HeaderRegexp: 'HeadersRegexp',
  PathRegexp: 'Path with a {name:regexp} template',
  QueryRegexp: 'Query with a {name:regexp} template',
};
const TCP = ['HostSNI', 'HostSNIRegexp', 'ALPN'];

function variants(name: string): string[] {
  const lower = name.toLowerCase();
  return [name, lower, name.toUpperCase(), lower.charAt(0).toUpperCase() + lower.slice(1)];
}

function index(names: Iterable<string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const n of names) for (const v of variants(n)) out[v] = n;
  return out;
}

export function makeResolver(syntax: RuleSyntax, table: MatcherTable): NameResolver {
  const known = index(Object.keys(table));
  const other = index(syntax === 'v3' ? Object.keys(V2_TO_V3) : Object.keys(V3_TO_V2));
  const tcp = index(TCP);
  return (written, pos, rule) => {
    const name = known[written];
    if (name !== undefined) return name;
    const foreign = other[written];
    if (foreign !== undefined) {
      const message =
        syntax === 'v3'
          ? `${foreign} is v2 syntax; use ${V2_TO_V3[foreign]} in v3 or set ruleSyntax: v2`
          : `${foreign} is v3 syntax; use ${V3_TO_V2[foreign]} in v2 or set ruleSyntax: v3`;
      throw new RuleSyntaxError(rule, pos, message);
    }
    if (tcp[written] !== undefined)
      throw new RuleSyntaxError(rule, pos, `${tcp[written]} is a TCP router matcher, not valid in an HTTP rule`);
    const guess = closest(written, Object.keys(table));
    throw new RuleSyntaxError(rule, pos, `unknown matcher "${written}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`);
  };
}
