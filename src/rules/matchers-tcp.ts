/**
 * Traefik's TCP router rules (`tcp.routers.<name>.rule`): HostSNI,
 * HostSNIRegexp, ClientIP and ALPN with `&&`, `||`, `!` and parentheses,
 * parsed by the same parser as HTTP rules. v3 takes one value per matcher;
 * v2 takes several (any may match) and HostSNIRegexp is a gorilla/mux template
 * there. `HostSNI(\`*\`)` matches every connection (also one without TLS,
 * whose server name is empty); a rule whose HostSNI values are only `*` is a
 * catch-all (Traefik tries it after the routers that name hosts).
 */
import { compileIpRanges, IpRangeError, type IpRanges } from '../net/ip.js';
import { compileGoRegexp, GoRegexpError } from '../regex/go-regexp.js';
import type { RuleNode } from './ast.js';
import { RuleSyntaxError } from './errors.js';
import { isAscii } from './hosts.js';
import { compileTemplate } from './mux-template.js';
import { parseRule } from './parser.js';
import type { RuleSyntax } from './types.js';

/** What a TCP rule sees of a connection. */
export interface TcpRuleInput {
  /** The SNI server name, lower case without a trailing dot; '' without TLS or without SNI. */
  readonly serverName: string;
  /** The client address (PROXY protocol applied). */
  readonly clientIp: string;
  /** ALPN protocols the client offered (empty without TLS). */
  readonly alpn: readonly string[];
}

export type TcpMatcher = (c: TcpRuleInput) => boolean;

export interface CompiledTcpRule {
  readonly match: TcpMatcher;
  /** Every HostSNI value in the rule is `*` (Traefik's catch-all: tried after the routers that name hosts). */
  readonly catchAll: boolean;
  /** Lower-case HostSNI names (not `*`) named by the rule, for display and TLS. */
  readonly hosts: readonly string[];
}

const NAMES = ['HostSNI', 'HostSNIRegexp', 'ClientIP', 'ALPN'] as const;
const HTTP_ONLY = ['Host', 'HostRegexp', 'HostHeader', 'Path', 'PathPrefix', 'PathRegexp', 'Method', 'Header', 'Headers', 'Query'];

// Traefik's hostOrIP check for HostSNI values (letters, digits, '-', '.', '_', an IPv6 literal).
const HOST_OR_IP = /^[\p{L}0-9_.:-]+$/u;

function variants(name: string): string[] {
  const lower = name.toLowerCase();
  return [name, lower, name.toUpperCase(), lower.charAt(0).toUpperCase() + lower.slice(1)];
}

const KNOWN: Record<string, string> = Object.create(null) as Record<string, string>;
for (const n of NAMES) for (const v of variants(n)) KNOWN[v] = n;
const HTTP_KNOWN = new Set(HTTP_ONLY.flatMap(variants));

function resolve(written: string, pos: number, rule: string): string {
  const name = KNOWN[written];
  if (name !== undefined) return name;
  if (HTTP_KNOWN.has(written))
    throw new RuleSyntaxError(
      rule,
      pos,
      `${written} is an HTTP router matcher, not valid in a TCP rule (use HostSNI, HostSNIRegexp, ClientIP or ALPN)`,
    );
  throw new RuleSyntaxError(rule, pos, `unknown TCP matcher "${written}": expected HostSNI, HostSNIRegexp, ClientIP or ALPN`);
}

/** Lower case, trailing dot removed (Traefik's CanonicalDomain). */
export function canonicalServerName(name: string | undefined): string {
  if (name === undefined) return '';
  const l = name.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

interface Built {
  match: TcpMatcher;
  sni: string[];
}

/** Parse and compile a TCP rule; throws RuleSyntaxError naming the position. */
export function compileTcpRule(rule: string, syntax: RuleSyntax = 'v3'): CompiledTcpRule {
  const tree = parseRule(rule, resolve);
  const b = build(tree, rule, syntax);
  const named = b.sni.filter((h) => h !== '*');
  return Object.freeze({
    match: b.match,
    catchAll: b.sni.length > 0 && named.length === 0,
    hosts: Object.freeze([...new Set(named)]),
  });
}

function build(node: RuleNode, rule: string, syntax: RuleSyntax): Built {
  switch (node.kind) {
    case 'not': {
      const inner = build(node.operand, rule, syntax);
      return { match: (c) => !inner.match(c), sni: inner.sni };
    }
    case 'and':
    case 'or': {
      const l = build(node.left, rule, syntax);
      const r = build(node.right, rule, syntax);
      const a = l.match;
      const b = r.match;
      return { match: node.kind === 'and' ? (c) => a(c) && b(c) : (c) => a(c) || b(c), sni: [...l.sni, ...r.sni] };
    }
    case 'matcher': {
      const fail = (i: number, message: string): never => {
        throw new RuleSyntaxError(rule, node.argPos[i] ?? node.pos, message);
      };
      const args = node.args;
      const many = syntax === 'v2';
      if (args.length === 0 || (!many && args.length > 1))
        throw new RuleSyntaxError(
          rule,
          node.pos,
          `wrong number of arguments for ${node.name}: expected ${many ? 'at least 1 argument' : '1 argument'}, got ${args.length}${args.length > 1 ? ' (combine several with ||)' : ''}`,
        );
      args.forEach((a, i) => {
        if (a === '') fail(i, `empty argument for ${node.name}`);
      });
      return matcher(node.name, args, fail, syntax);
    }
  }
}

function anyOf(list: TcpMatcher[]): TcpMatcher {
  if (list.length === 1) return list[0] as TcpMatcher;
  return (c) => list.some((m) => m(c));
}

function matcher(name: string, args: readonly string[], fail: (i: number, m: string) => never, syntax: RuleSyntax): Built {
  switch (name) {
    case 'HostSNI': {
      if (args.includes('*')) return { match: () => true, sni: ['*'] };
      const hosts = args.map((h, i) => {
        if (!isAscii(h)) fail(i, 'invalid value for HostSNI: non-ASCII characters are not allowed (use the punycode form)');
        if (!HOST_OR_IP.test(h)) fail(i, `invalid value for HostSNI: "${h}" is not a valid host name or IP`);
        return canonicalServerName(h);
      });
      const set = new Set(hosts);
      return { match: (c) => c.serverName !== '' && set.has(c.serverName), sni: hosts };
    }
    case 'HostSNIRegexp': {
      const res = args.map((a, i): RegExp => {
        if (!isAscii(a)) fail(i, 'invalid value for HostSNIRegexp: non-ASCII characters are not allowed');
        try {
          return syntax === 'v2' ? compileTemplate(a, 'host', true) : compileGoRegexp(a);
        } catch (err) {
          if (err instanceof GoRegexpError || err instanceof Error) return fail(i, `invalid regexp in HostSNIRegexp: ${err.message}`);
          throw err;
        }
      });
      return { match: anyOf(res.map((re) => (c: TcpRuleInput) => re.test(c.serverName))), sni: [] };
    }
    case 'ClientIP': {
      let ranges: IpRanges;
      try {
        ranges = compileIpRanges(args);
      } catch (err) {
        if (err instanceof IpRangeError) return fail(err.index, `invalid value for ClientIP: ${err.message}`);
        throw err;
      }
      return { match: (c) => ranges.contains(c.clientIp), sni: [] };
    }
    case 'ALPN': {
      args.forEach((p, i) => {
        if (p === 'acme-tls/1') fail(i, 'invalid value for ALPN: acme-tls/1 is reserved for the ACME TLS-ALPN-01 challenge');
      });
      const set = new Set(args);
      return { match: (c) => c.alpn.some((p) => set.has(p)), sni: [] };
    }
    default:
      return fail(0, `unknown TCP matcher "${name}"`);
  }
}
