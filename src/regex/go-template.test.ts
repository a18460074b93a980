import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileGoReplacer } from './go-template.js';

const replace = (re: string, src: string, tpl: string): string => compileGoReplacer(re, tpl).replaceAll(src);

/** [regexp, input, template, Go's ReplaceAllString result]. */
const CASES: readonly [string, string, string, string][] = [
  ['^/(\\w+)/(\\w+)$', '/a/b', '/$2/${1}', '/b/a'],
  ['^/(?P<x>\\w+)$', '/abc', '/${x}-$x', '/abc-abc'],
  ['^/(?<x>\\w+)$', '/abc', '/${x}', '/abc'],
  ['a', 'a', '$$1', '$1'],
  ['(a)', 'a', '$1x', ''], // Go reads "$1x" as the (missing) group named "1x"
  ['(a)', 'a', '${1}x', 'ax'],
  ['(a)', 'a', '$9', ''],
  ['(a)', 'a', '$01', ''], // a leading zero makes it a name, and no group has it
  ['(a)', 'a', '$0$0', 'aa'],
  ['(a)', 'a', 'cost: $', 'cost: $'],
  ['(a)', 'a', '${1', '${1'],
  ['(a)', 'a', '${}', '${}'],
  ['(a)', 'a', '${a-b}', '${a-b}'],
  ['(?P<n_1>a)', 'a', '$n_1!', 'a!'],
  ['o', 'foo', '0', 'f00'],
  ['(a)|(b)', 'ab', '[$1|$2]', '[a|][|b]'],
  // Go allows a name twice; the first group with that name that took part wins.
  ['(?P<n>a)|(?P<n>b)', 'ab', '<$n>', '<a><b>'],
  ['(?:x)(y)', 'xy', '$1', 'y'],
  // Empty matches: none right after a previous match (Go), unlike JavaScript's replace.
  ['a*', 'baaac', 'x', 'xbxcx'],
  ['', 'ab', '-', '-a-b-'],
  ['x*', '😀', '-', '-😀-'],
  ['(?i)A', 'aAa', 'b', 'bbb'],
  ['\\Qa.b\\E', 'a.b axb', 'X', 'X axb'],
  ['[[:alpha:]]+', 'ab12cd', '_', '_12_'],
];

test('Go ReplaceAllString: templates and empty matches as in Go', () => {
  for (const [re, src, tpl, want] of CASES)
    assert.equal(replace(re, src, tpl), want, `${re} on ${JSON.stringify(src)} with ${JSON.stringify(tpl)}`);
});

test('a replacer is reusable: no lastIndex leaks between calls', () => {
  const r = compileGoReplacer('b', 'X');
  assert.equal(r.replaceAll('abc'), 'aXc');
  assert.equal(r.test('b'), true);
  assert.equal(r.test('b'), true);
  assert.equal(r.replaceAll('bb'), 'XX');
});

test('a template without $ replaces every match with itself (property)', () => {
  fc.assert(
    fc.property(
      fc.string().filter((s) => !s.includes('$')),
      (s) => {
        assert.equal(replace('^.*$', 'anything', s), s);
      },
    ),
  );
});
