import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, GoRegexpError } from './go-regexp.js';

/** [Go regexp, input, matches] — expectations follow Go's regexp.MatchString. */
const CASES: readonly [string, string, boolean][] = [
  ['abc', 'xabcx', true],
  ['^abc$', 'abc', true],
  ['^abc$', 'abc\n', false],
  ['(?i)abc', 'xAbC', true],
  ['(?i)^a[b-d]+$', 'ABCD', true],
  ['a(?i:b)c', 'aBc', true],
  ['a(?i:b)c', 'aBC', false],
  ['(?i)a(?-i)b', 'Ab', true],
  ['(?i)a(?-i)b', 'AB', false],
  ['(?i)[^a]', 'A', false],
  ['(?i)k', '\u212a', true],
  ['x(?i)y|z', 'Z', true],
  ['(?:(?i)a)b', 'AB', false],
  ['(?s)a.b', 'a\nb', true],
  ['a.b', 'a\nb', false],
  ['a.b', 'a\rb', true],
  ['(?m)^b$', 'a\nb\nc', true],
  ['^b$', 'a\nb\nc', false],
  ['(?m)^b$', 'a\rb', false],
  ['\\Aab\\z', 'ab', true],
  ['\\Aab\\z', 'ab\n', false],
  ['(?P<year>[0-9]{4})-(?<m>[0-9]{2})', '2024-05', true],
  ['[[:alpha:]]+[[:digit:]]', 'ab1', true],
  ['^[[:^digit:]]+$', 'ab', true],
  ['^[[:^digit:]]+$', 'a1', false],
  ['^\\d+$', '123', true],
  ['^\\d+$', '١٢٣', false],
  ['^\\s$', '\u00a0', false],
  ['^\\s$', '\t', true],
  ['^\\s$', '\v', false],
  ['^[\\s]$', '\f', true],
  ['^\\S+$', 'a\u00a0b', true],
  ['^[^\\S]$', ' ', true],
  ['^\\w+$', 'héllo', false],
  ['^\\W$', 'é', true],
  ['^[\\W\\d]$', '5', true],
  ['^\\pL+$', 'héllo', true],
  ['^\\p{Greek}+$', 'αβγ', true],
  ['^\\PL$', '1', true],
  ['^\\p{^L}$', '1', true],
  ['^[\\p{Lu}]$', 'A', true],
  ['^\\x41\\x{42}\\103$', 'ABC', true],
  ['^\\0$', '\0', true],
  ['^\\Qa.b*\\E$', 'a.b*', true],
  ['^\\Qa.b\\E$', 'axb', false],
  ['^a{2}$', 'aa', true],
  ['^a{2,}$', 'aaaa', true],
  ['^a{1,2}$', 'aaa', false],
  ['^a{,2}$', 'a{,2}', true],
  ['^a{$', 'a{', true],
  ['^x{2}?$', 'xx', true],
  ['^[]a]+$', ']a', true],
  ['^[^]a]$', 'b', true],
  ['^[a-]$', '-', true],
  ['^[-a]$', '-', true],
  ['^[a\\-z]$', '-', true],
  ['^[a\\-z]$', 'b', false],
  ['^\\.$', '.', true],
  ['^\\/$', '/', true],
  ['^a/b$', 'a/b', true],
  ['^\\#-\\!$', '#-!', true],
  ['^😀+$', '😀😀', true],
  ['^[😀-😂]$', '😁', true],
  ['^.$', '😀', true],
  ['^*a', 'a', true],
  ['\\bfoo\\b', 'a foo b', true],
  ['\\Bfoo', 'afoo', true],
  ['(?U)a+', 'aaa', true],
  ['^(?U)a+?$', 'aaa', true],
  ['^(a|b)*c$', 'ababc', true],
  ['\\$\\^', '$^', true],
  ['[\\[\\]]', ']', true],
  ['^\\a\\f\\t\\n\\r\\v$', '\x07\f\t\n\r\v', true],
];

test('Go regexps translate to equivalent JavaScript', () => {
  for (const [go, input, expected] of CASES) {
    const re = compileGoRegexp(go);
    assert.equal(re.test(input), expected, `${go} on ${JSON.stringify(input)} (js ${re.source})`);
  }
});

test('caseInsensitive option folds letters', () => {
  assert.equal(compileGoRegexp('^abc[x-z]$', { caseInsensitive: true }).test('ABCY'), true);
  assert.equal(compileGoRegexp('^abc$').test('ABC'), false);
});

test('invalid Go regexps are GoRegexpError with an offset', () => {
  const bad: readonly [string, number, RegExp][] = [
    ['(', 1, /missing closing \)/],
    ['a)', 1, /unexpected \)/],
    ['[a', 0, /missing closing \]/],
    ['[z-a]', 2, /invalid character class range/],
    ['*a', 0, /missing argument to repetition/],
    ['a**', 2, /invalid nested repetition/],
    ['a{1001}', 1, /invalid repeat count/],
    ['a{3,2}', 1, /invalid repeat count/],
    ['\\1', 0, /backreferences/],
    ['(?=a)', 0, /invalid or unsupported Perl syntax/],
    ['(?<!a)', 0, /invalid|unsupported/],
    ['(?P=n)', 0, /invalid or unsupported Perl syntax/],
    ['(?z)', 0, /invalid or unsupported Perl syntax/],
    ['\\Z', 0, /invalid escape/],
    ['\\C', 0, /invalid escape/],
    ['\\', 0, /trailing backslash/],
    ['\\p{Nope}', 0, /unknown Unicode class/],
    ['\\x{110000}', 0, /out of range/],
    ['[[:nope:]]', 1, /invalid character class range/],
    ['[\\b]', 1, /invalid escape/],
  ];
  for (const [go, offset, message] of bad) {
    assert.throws(
      () => compileGoRegexp(go),
      (err: unknown) => {
        assert.ok(err instanceof GoRegexpError, `${go}: ${String(err)}`);
        assert.match(err.message, message, go);
        assert.equal(err.offset, offset, `${go}: ${err.message}`);
        return true;
      },
    );
  }
});
