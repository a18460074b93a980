import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule, defaultPriority, RuleSyntaxError, type RuleInput, type RuleSyntax } from './index.js';

type Req = Partial<RuleInput>;
function req(r: Req): RuleInput {
  return { method: 'GET', host: 'example.com', path: '/', query: '', headers: {}, remoteIp: '192.0.2.1', ...r };
}

/** [rule, request, expected] */
type Case = readonly [string, Req, boolean];

const V2_CASES: readonly Case[] = [
  // Host / HostHeader
  ['Host(`example.com`)', {}, true],
  ['Host(`EXAMPLE.com`)', {}, true],
  ['Host(`example.com.`)', {}, true],
  ['Host(`example.com:8080`)', {}, true],
  ['Host(`other.com`)', {}, false],
  ['Host(`other.com`, `example.com`)', {}, true],
  ['Host(`a.com`, `b.com`, `c.com`)', { host: 'c.com' }, true],
  ['Host(`a.com`, `b.com`, `c.com`)', { host: 'd.com' }, false],
  ['Host(`example.com`)', { host: '' }, false],
  ['HostHeader(`example.com`)', {}, true],
  ['host(`example.com`)', {}, true],
  ['HOST(`example.com`)', {}, true],
  ['Host(`[::1]`)', { host: '::1' }, true],
  // HostRegexp (gorilla templates)
  ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'api.example.com' }, true],
  ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'a1.example.com' }, false],
  ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'example.com' }, false],
  ['HostRegexp(`{sub}.example.com`)', { host: 'x-1.example.com' }, true],
  ['HostRegexp(`{sub}.example.com`)', { host: 'a.b.example.com' }, false],
  ['HostRegexp(`example.com`)', { host: 'examplexcom' }, false],
  ['HostRegexp(`{sub:[A-Z]+}.Example.com`)', { host: 'api.example.com' }, true],
  ['HostRegexp(`{a:[a-z]+}.x.com`, `{b:[0-9]+}.y.com`)', { host: '12.y.com' }, true],
  ['HostRegexp(`{host:.+}`)', { host: 'anything.test' }, true],
  // Path / PathPrefix
  ['Path(`/`)', {}, true],
  ['Path(`/api`)', { path: '/api' }, true],
  ['Path(`/api`)', { path: '/api/' }, false],
  ['Path(`/api`)', { path: '/API' }, false],
  ['Path(`/a`, `/b`)', { path: '/b' }, true],
  ['Path(`/users/{id:[0-9]+}`)', { path: '/users/42' }, true],
  ['Path(`/users/{id:[0-9]+}`)', { path: '/users/4x' }, false],
  ['Path(`/users/{id}`)', { path: '/users/abc' }, true],
  ['Path(`/users/{id}`)', { path: '/users/a/b' }, false],
  ['Path(`/a b`)', { path: '/a%20b' }, true],
  ['Path(`/a/b`)', { path: '/a%2Fb' }, true],
  ['Path(`/a.b`)', { path: '/axb' }, false],
  ['PathPrefix(`/api`)', { path: '/api' }, true],
  ['PathPrefix(`/api`)', { path: '/api/x' }, true],
  ['PathPrefix(`/api`)', { path: '/apix' }, true],
  ['PathPrefix(`/api`)', { path: '/ap' }, false],
  ['PathPrefix(`/api/`)', { path: '/api' }, false],
  ['PathPrefix(`/v{n:[0-9]+}/`)', { path: '/v2/users' }, true],
  ['PathPrefix(`/v{n:[0-9]+}/`)', { path: '/vx/users' }, false],
  ['PathPrefix(`/caf%C3%A9`)', { path: '/caf%C3%A9' }, false],
  ['PathPrefix(`/café`)', { path: '/caf%C3%A9/menu' }, true],
  // Method
  ['Method(`GET`)', {}, true],
  ['Method(`get`)', {}, true],
  ['Method(`POST`, `PUT`)', { method: 'PUT' }, true],
  ['Method(`POST`, `PUT`)', {}, false],
  // Headers / HeadersRegexp
  ['Headers(`X-Env`, `prod`)', { headers: { 'x-env': 'prod' } }, true],
  ['Headers(`X-Env`, `prod`)', { headers: { 'x-env': 'Prod' } }, false],
  ['Headers(`X-Env`, `prod`)', { headers: { 'x-env': 'dev, prod' } }, true],
  ['Headers(`X-Env`, `prod`)', { headers: {} }, false],
  ['Headers(`X-A`, `1`, `X-B`, `2`)', { headers: { 'x-a': '1', 'x-b': '2' } }, true],
  ['Headers(`X-A`, `1`, `X-B`, `2`)', { headers: { 'x-a': '1' } }, false],
  ['HeadersRegexp(`Content-Type`, `json`)', { headers: { 'content-type': 'application/json; charset=utf-8' } }, true],
  ['HeadersRegexp(`Content-Type`, `^json$`)', { headers: { 'content-type': 'application/json' } }, false],
  ['HeadersRegexp(`X-Id`, `^[0-9]+$`)', { headers: { 'x-id': 'a, 12' } }, true],
  ['HeadersRegexp(`Set-Cookie`, `^a=`)', { headers: { 'set-cookie': ['b=1', 'a=2'] } }, true],
  // Query (gorilla: first value of the key)
  ['Query(`a=b`)', { query: 'a=b' }, true],
  ['Query(`a=b`)', { query: 'x=1&a=b' }, true],
  ['Query(`a=b`)', { query: 'a=c&a=b' }, false],
  ['Query(`a=b`)', { query: 'a=bb' }, false],
  ['Query(`a=b c`)', { query: 'a=b+c' }, true],
  ['Query(`a=b c`)', { query: 'a=b%20c' }, true],
  ['Query(`a`)', { query: 'a' }, true],
  ['Query(`a`)', { query: 'a=anything' }, true],
  ['Query(`a`)', { query: 'b=1' }, false],
  ['Query(`a=`)', { query: 'a=1' }, true],
  ['Query(`a=b`, `c=d`)', { query: 'c=d&a=b' }, true],
  ['Query(`a=b`, `c=d`)', { query: 'a=b' }, false],
  ['Query(`id={id:[0-9]+}`)', { query: 'id=12' }, true],
  ['Query(`id={id:[0-9]+}`)', { query: 'id=1x' }, false],
  ['Query(`a=b`)', { query: 'a=b;c=d' }, false],
  ['Query(`a=b`)', { query: 'a=%zz&a=b' }, true],
  // ClientIP
  ['ClientIP(`192.0.2.0/24`)', {}, true],
  ['ClientIP(`192.0.3.0/24`)', {}, false],
  ['ClientIP(`192.0.2.1`)', {}, true],
  ['ClientIP(`10.0.0.0/8`, `192.0.2.1`)', {}, true],
  ['ClientIP(`::1`)', { remoteIp: '::1' }, true],
  ['ClientIP(`2001:db8::/32`)', { remoteIp: '2001:db8:1::5' }, true],
  ['ClientIP(`2001:db8::/32`)', { remoteIp: '2001:db9::5' }, false],
  ['ClientIP(`0.0.0.0/0`)', { remoteIp: '::1' }, false],
  ['ClientIP(`10.0.0.0/8`)', { remoteIp: '::ffff:10.1.2.3' }, true],
  ['ClientIP(`10.0.0.0/8`)', { remoteIp: '' }, false],
  // Operators
  ['Host(`example.com`) && Path(`/`)', {}, true],
  ['Host(`example.com`) && Path(`/x`)', {}, false],
  ['Host(`other.com`) || Path(`/`)', {}, true],
  ['!Host(`other.com`)', {}, true],
  ['!Host(`example.com`)', {}, false],
  ['!!Host(`example.com`)', {}, true],
  ['!(Host(`example.com`) && Path(`/x`))', {}, true],
  ['Host(`other.com`) || Host(`example.com`) && Path(`/x`)', {}, false],
  ['(Host(`other.com`) || Host(`example.com`)) && Path(`/`)', {}, true],
  ['Host(`x`) && Path(`/`) || Method(`GET`)', {}, true],
  ['Host("example.com") && Path("/")', {}, true],
  ['Host("ex\\x61mple.com")', {}, true],
  ['  Host( `example.com` ,)\n&&\tPath(`/`)  ', {}, true],
];

const V3_CASES: readonly Case[] = [
  ['Host(`example.com`)', {}, true],
  ['Host(`Example.COM.`)', {}, true],
  ['Host(`other.com`)', {}, false],
  ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'api.example.com' }, true],
  ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'example.com' }, false],
  ['HostRegexp(`example\\.com`)', { host: 'foo.example.com' }, true],
  ['HostRegexp(`.+`)', {}, true],
  ['HostRegexp(`(?i)^EXAMPLE\\.com$`)', {}, true],
  ['Path(`/api`)', { path: '/api' }, true],
  ['Path(`/api`)', { path: '/api/' }, false],
  ['Path(`/users/{id}`)', { path: '/users/{id}' }, true],
  ['Path(`/users/{id}`)', { path: '/users/1' }, false],
  ['Path(`/a b`)', { path: '/a%20b' }, true],
  ['PathPrefix(`/api`)', { path: '/apix' }, true],
  ['PathPrefix(`/api/`)', { path: '/api/v1' }, true],
  ['PathPrefix(`/api/`)', { path: '/api' }, false],
  ['PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/v2/x' }, true],
  ['PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/vx/x' }, false],
  ['PathRegexp(`\\.(css|js)$`)', { path: '/static/app.js' }, true],
  ['PathRegexp(`(?i)^/API`)', { path: '/api/x' }, true],
  ['PathRegexp(`^/API`)', { path: '/api/x' }, false],
  ['Method(`post`)', { method: 'POST' }, true],
  ['Method(`POST`)', {}, false],
  ['Header(`X-Env`, `prod`)', { headers: { 'x-env': 'prod' } }, true],
  ['Header(`x-env`, `prod`)', { headers: { 'x-env': 'preprod' } }, false],
  ['HeaderRegexp(`X-Env`, `^pre`)', { headers: { 'x-env': 'preprod' } }, true],
  ['HeaderRegexp(`X-Env`, `^pre`)', {}, false],
  ['Query(`a`, `b`)', { query: 'a=b' }, true],
  ['Query(`a`, `b`)', { query: 'a=c&a=b' }, true],
  ['Query(`a`, `b`)', { query: 'a=c' }, false],
  ['Query(`a`)', { query: 'a' }, true],
  ['Query(`a`)', { query: 'a=' }, true],
  ['Query(`a`)', { query: 'a=1' }, false],
  ['Query(`a b`, `c`)', { query: 'a+b=c' }, true],
  ['QueryRegexp(`a`, `^[0-9]+$`)', { query: 'a=x&a=12' }, true],
  ['QueryRegexp(`a`, `^[0-9]+$`)', { query: 'a=x' }, false],
  ['QueryRegexp(`a`)', { query: 'a=' }, true],
  ['ClientIP(`192.0.2.0/24`)', {}, true],
  ['ClientIP(`192.0.2.0/25`)', { remoteIp: '192.0.2.200' }, false],
  ['ClientIP(`::1`)', { remoteIp: '::1' }, true],
  ['Host(`example.com`) && !PathPrefix(`/admin`)', { path: '/admin/x' }, false],
  ['Host(`example.com`) && !PathPrefix(`/admin`)', { path: '/app' }, true],
  ['(Host(`a.com`) || Host(`example.com`)) && Method(`GET`)', {}, true],
];

function runTable(syntax: RuleSyntax, cases: readonly Case[]): void {
  for (const [rule, r, expected] of cases) {
    const compiled = compileRule(rule, syntax);
    assert.equal(compiled.match(req(r)), expected, `${syntax} ${rule} on ${JSON.stringify(r)}`);
  }
}

test('v2 matchers: case table', () => runTable('v2', V2_CASES));
test('v3 matchers: case table', () => runTable('v3', V3_CASES));
test('default syntax is v2', () => {
  assert.equal(compileRule('Headers(`a`, `b`)').match(req({ headers: { a: 'b' } })), true);
});

test('hosts: the host index of a rule', () => {
  const cases: readonly [string, RuleSyntax, readonly string[] | null][] = [
    ['Host(`Example.com`)', 'v2', ['example.com']],
    ['Host(`a.com`, `b.com.`)', 'v2', ['a.com', 'b.com']],
    ['HostHeader(`a.com`)', 'v2', ['a.com']],
    ['Host(`a.com:8443`)', 'v2', ['a.com']],
    ['Host(`a.com`) && PathPrefix(`/x`)', 'v3', ['a.com']],
    ['PathPrefix(`/x`) && Host(`a.com`)', 'v3', ['a.com']],
    ['Host(`a.com`) || Host(`b.com`)', 'v3', ['a.com', 'b.com']],
    ['Host(`a.com`) || Host(`a.com`)', 'v3', ['a.com']],
    ['Host(`a.com`) || PathPrefix(`/x`)', 'v3', null],
    ['(Host(`a.com`) || Host(`b.com`)) && Host(`b.com`)', 'v3', ['b.com']],
    ['Host(`a.com`) && Host(`b.com`)', 'v3', []],
    ['!Host(`a.com`)', 'v3', null],
    ['HostRegexp(`a\\.com`)', 'v3', null],
    ['Path(`/`)', 'v3', null],
    ['Method(`GET`) && (Host(`a.com`) || Host(`b.com`))', 'v3', ['a.com', 'b.com']],
  ];
  for (const [rule, syntax, hosts] of cases) assert.deepEqual(compileRule(rule, syntax).hosts, hosts, rule);
});

test('errors: RuleSyntaxError with the position of the fault', () => {
  const cases: readonly [string, RuleSyntax, number, RegExp][] = [
    ['', 'v2', 0, /empty rule/],
    ['   ', 'v3', 3, /empty rule/],
    ['Host(`a`) && (Path(`/b`)', 'v2', 24, /expected "\)"/],
    ['Host(`a`)) ', 'v2', 9, /expected "&&", "\|\|" or end of rule/],
    ['Host(`a`) Path(`/`)', 'v2', 10, /expected "&&", "\|\|" or end of rule/],
    ['Host(`a)', 'v2', 5, /unterminated string/],
    ['Host("a)', 'v2', 5, /unterminated string/],
    ["Host('a')", 'v2', 5, /single quotes/],
    ['Host(`a`) & Path(`/`)', 'v2', 10, /expected "&&"/],
    ['Host(`a`) &&', 'v2', 12, /expected a matcher/],
    ['Hots(`a`)', 'v2', 0, /unknown matcher "Hots" \(did you mean "Host"\?\)/],
    ['Path(`/`) && PathPrefx(`/a`)', 'v3', 13, /did you mean "PathPrefix"/],
    ['Headers(`a`, `b`)', 'v3', 0, /Headers is v2 syntax; use Header in v3 or set ruleSyntax: v2/],
    ['Header(`a`, `b`)', 'v2', 0, /Header is v3 syntax; use Headers in v2 or set ruleSyntax: v3/],
    ['HostSNI(`*`)', 'v3', 0, /TCP/],
    ['Host(`a`, `b`)', 'v3', 0, /wrong number of arguments for Host: expected 1 argument/],
    ['Host()', 'v2', 0, /wrong number of arguments for Host/],
    ['Header(`a`)', 'v3', 0, /wrong number of arguments for Header: expected 2 arguments/],
    ['Query(`a`, `b`, `c`)', 'v3', 0, /expected 1 or 2 arguments/],
    ['Headers(`a`, `b`, `c`)', 'v2', 0, /key, value pairs/],
    ['Host(``)', 'v2', 5, /empty argument/],
    ['Path(`a`)', 'v3', 5, /does not start with a "\/"/],
    ['PathPrefix(`a`)', 'v2', 11, /does not start with a "\/"/],
    ['Host(`a`) && PathRegexp(`(`)', 'v3', 24, /invalid regexp in PathRegexp/],
    ['HostRegexp(`{sub:[a-z}.a.com`)', 'v2', 11, /invalid value for HostRegexp/],
    ['Path(`/{id`)', 'v2', 5, /unbalanced braces/],
    ['Path(`/`, `/{id:(}`)', 'v2', 10, /invalid value for Path/],
    ['ClientIP(`10.0.0.300`)', 'v3', 9, /invalid value for ClientIP/],
    ['ClientIP(`10.0.0.0/8`, `1.2.3.4/33`)', 'v2', 23, /invalid value for ClientIP/],
    ['Host(`exämple.com`)', 'v2', 5, /non-ASCII/],
    ['Host(`a` `b`)', 'v2', 9, /expected "," or "\)"/],
    ['Host(a)', 'v2', 5, /expected a string/],
    ['Host `a`', 'v2', 5, /expected "\(" after Host/],
    ['Host(`a`) && $', 'v2', 13, /unexpected character/],
    ['Host("\\q")', 'v2', 6, /invalid escape/],
    [`${'!'.repeat(100)}Host(\`a\`)`, 'v2', 65, /nested deeper/],
  ];
  for (const [rule, syntax, position, message] of cases) {
    assert.throws(
      () => compileRule(rule, syntax),
      (err: unknown) => {
        assert.ok(err instanceof RuleSyntaxError, `${rule}: ${String(err)}`);
        assert.equal(err.rule, rule);
        assert.equal(err.position, position, `${rule}: ${err.message}`);
        assert.match(err.message, message, rule);
        assert.match(err.message, new RegExp(`at position ${position}$`));
        assert.equal(err.code, 'GH_RULE_SYNTAX');
        return true;
      },
    );
  }
});

test('defaultPriority is the rule length in bytes', () => {
  assert.equal(defaultPriority('Host(`a.com`)'), 13);
  assert.equal(defaultPriority('Path(`/é`)'), 11);
});

test('a compiled rule is frozen and reusable', () => {
  const r = compileRule('Host(`a.com`) || Host(`b.com`)', 'v3');
  assert.ok(Object.isFrozen(r));
  assert.ok(Object.isFrozen(r.hosts));
  for (let i = 0; i < 3; i++) assert.equal(r.match(req({ host: 'b.com' })), true);
});
