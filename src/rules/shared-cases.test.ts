/**
 * The shared Go regexp and IP range tables run through the rule matchers
 * that take those values. The middlewares run the same tables in
 * middlewares/shared/{go-regex,ip}-users.test.ts, forwarded headers in
 * server/forwarded.test.ts: one value means the same thing everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GO_REGEXP_CASES, GO_REGEXP_ERRORS, type GoRegexpCase } from '../regex/go-regexp.cases.js';
import { IP_CASES, IP_ERRORS } from '../net/ip.cases.js';
import { compileRule, RuleSyntaxError, type RuleInput, type RuleSyntax } from './index.js';

function req(r: Partial<RuleInput>): RuleInput {
  return { method: 'GET', host: 'example.com', path: '/', query: '', headers: {}, remoteIp: '192.0.2.1', ...r };
}

interface RegexpUser {
  readonly name: string;
  readonly syntax: RuleSyntax;
  readonly rule: (re: string) => string;
  /** The request whose matched part is `input`. */
  readonly request: (input: string) => RuleInput;
  /** Cases this matcher cannot take, and why. */
  readonly skip?: (c: { re: string; input?: string }) => boolean;
}

/** The rule parser refuses an empty argument before any matcher sees it. */
const EMPTY_ARGUMENT = /empty argument for/;

const REGEXP_USERS: readonly RegexpUser[] = [
  // Traefik refuses a non-ASCII HostRegexp (hosts are punycode).
  {
    name: 'HostRegexp',
    syntax: 'v3',
    rule: (re) => `HostRegexp(\`${re}\`)`,
    request: (host) => req({ host }),
    skip: (c) => !/^[\x00-\x7f]*$/.test(c.re),
  },
  { name: 'PathRegexp', syntax: 'v3', rule: (re) => `PathRegexp(\`${re}\`)`, request: (path) => req({ path }) },
  {
    name: 'HeaderRegexp',
    syntax: 'v3',
    rule: (re) => `HeaderRegexp(\`X-Case\`, \`${re}\`)`,
    request: (v) => req({ headers: { 'x-case': v } }),
  },
  {
    name: 'HeadersRegexp (v2)',
    syntax: 'v2',
    rule: (re) => `HeadersRegexp(\`X-Case\`, \`${re}\`)`,
    request: (v) => req({ headers: { 'x-case': v } }),
  },
];

test('every Go regexp case gives the same answer in every regexp rule matcher', () => {
  for (const user of REGEXP_USERS) {
    let ran = 0;
    for (const c of GO_REGEXP_CASES as readonly GoRegexpCase[]) {
      if (c.re === '' || user.skip?.(c) === true) continue;
      const rule = compileRule(user.rule(c.re), user.syntax);
      assert.equal(rule.match(user.request(c.input)), c.find !== null, `${user.name}: ${c.re} on ${JSON.stringify(c.input)}`);
      ran++;
    }
    assert.ok(ran > GO_REGEXP_CASES.length * 0.9, `${user.name} ran ${ran} cases`);
  }
});

test("every invalid Go regexp is refused by every regexp rule matcher, with Go's reason", () => {
  for (const user of REGEXP_USERS) {
    for (const c of GO_REGEXP_ERRORS) {
      const rule = user.rule(c.re);
      assert.throws(
        () => compileRule(rule, user.syntax),
        (err: unknown) => {
          assert.ok(err instanceof RuleSyntaxError, `${user.name} ${c.re}: ${String(err)}`);
          assert.match(err.message, /invalid (regexp|value) in|invalid value for/, `${user.name} ${c.re}`);
          assert.match(err.message, c.error, `${user.name} ${c.re}: ${err.message}`);
          return true;
        },
      );
    }
  }
});

const quote = (ranges: readonly string[]): string => ranges.map((r) => `\`${r}\``).join(', ');

test("every IP case gives Go's answer in ClientIP (v2: several ranges, v3: one)", () => {
  for (const c of IP_CASES) {
    const request = req({ remoteIp: c.addr });
    assert.equal(
      compileRule(`ClientIP(${quote(c.ranges)})`, 'v2').match(request),
      c.in,
      `v2 ClientIP(${c.ranges.join(', ')}) with ${c.addr}`,
    );
    if (c.ranges.length === 1)
      assert.equal(compileRule(`ClientIP(${quote(c.ranges)})`, 'v3').match(request), c.in, `v3 ClientIP(${c.ranges[0]}) with ${c.addr}`);
  }
});

test('every invalid IP range is refused by ClientIP, at that argument', () => {
  for (const c of IP_ERRORS) {
    const rule = `ClientIP(\`10.0.0.0/8\`, \`${c.range}\`)`;
    assert.throws(
      () => compileRule(rule, 'v2'),
      (err: unknown) => {
        assert.ok(err instanceof RuleSyntaxError, `${c.range}: ${String(err)}`);
        if (c.range === '') assert.match(err.message, EMPTY_ARGUMENT);
        else {
          assert.match(err.message, /invalid value for ClientIP/, c.range);
          assert.match(err.message, c.error, `${c.range}: ${err.message}`);
        }
        assert.equal(err.position, rule.indexOf(`\`${c.range}\``), `${c.range}: ${err.message}`);
        return true;
      },
    );
  }
});
