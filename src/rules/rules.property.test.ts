import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { printRule, sameRule, type RuleNode } from './ast.js';
import { compileRule, parse, RuleSyntaxError, type RuleInput } from './index.js';

const argText = fc.string({ maxLength: 12 });
const V3_SHAPES: readonly [string, number][] = [
  ['Host', 1],
  ['HostRegexp', 1],
  ['Path', 1],
  ['PathPrefix', 1],
  ['PathRegexp', 1],
  ['Method', 1],
  ['Header', 2],
  ['HeaderRegexp', 2],
  ['Query', 1],
  ['Query', 2],
  ['QueryRegexp', 2],
  ['ClientIP', 1],
];

const matcher: fc.Arbitrary<RuleNode> = fc
  .tuple(fc.constantFrom(...V3_SHAPES), fc.array(argText, { minLength: 2, maxLength: 2 }))
  .map(([[name, n], args]) => ({ kind: 'matcher', name, args: args.slice(0, n), pos: 0, argPos: [] }));

const tree = fc.letrec<{ node: RuleNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    matcher,
    fc.record({ kind: fc.constant('not' as const), operand: tie('node'), pos: fc.constant(0) }),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('node'), right: tie('node'), pos: fc.constant(0) }),
  ),
})).node;

test('round trip: printing a rule tree and parsing it back gives the same tree', () => {
  fc.assert(
    fc.property(tree, (t) => {
      const text = printRule(t);
      const back = parse(text, 'v3');
      assert.ok(sameRule(t, back), `${text}`);
      assert.equal(printRule(back), text);
    }),
    { numRuns: 500 },
  );
});

const ruleAlphabet = fc.constantFrom(
  ...'HostPathQueryMethod()!&|`"\\ ,{}[]:/*+?.^$-_=%\n\tab1'.split(''),
  'Host(',
  'Path(`/',
  '`)',
  ' && ',
  ' || ',
  'HostRegexp(`',
  'ClientIP(`',
);
const ruleLike = fc.array(ruleAlphabet, { maxLength: 30 }).map((parts) => parts.join(''));
const request: RuleInput = { method: 'GET', host: 'a.com', path: '/x%20y', query: 'a=1&b', headers: { a: 'x' }, remoteIp: '::1' };

test('fuzz: any text either compiles or throws RuleSyntaxError, never anything else', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), ruleLike),
      fc.constantFrom('v2' as const, 'v3' as const),
      (text, syntax) => {
        let compiled;
        try {
          compiled = compileRule(text, syntax);
        } catch (err) {
          if (!(err instanceof RuleSyntaxError)) throw err;
          assert.ok(err.position >= 0 && err.position <= text.length, `position ${err.position} in ${JSON.stringify(text)}`);
          return;
        }
        assert.equal(typeof compiled.match(request), 'boolean');
      },
    ),
    { numRuns: 3000 },
  );
});

test('fuzz: Go regexp arguments either compile or throw RuleSyntaxError at the argument', () => {
  const reAlphabet = fc.constantFrom(
    ...'()[]{}*+?|^$.\\-:,0123456789azAZ'.split(''),
    '(?i)',
    '(?P<n>',
    '[:alpha:]',
    '\\p{L}',
    '\\Q',
    '\\E',
    '{2,3}',
    '\\x{41}',
  );
  fc.assert(
    fc.property(
      fc.array(reAlphabet, { maxLength: 16 }).map((p) => p.join('')),
      (re) => {
        const rule = `PathRegexp("${re.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}")`;
        try {
          compileRule(rule, 'v3').match(request);
        } catch (err) {
          if (!(err instanceof RuleSyntaxError)) throw err;
          assert.equal(err.position, 11, err.message);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
