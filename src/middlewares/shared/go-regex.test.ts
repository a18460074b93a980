import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileGoRegex, compileGoReplacement, replaceAll } from './go-regex.js';
import { MiddlewareOptionError } from '../types.js';

const expand = (re: string, src: string, tpl: string): string => replaceAll(compileGoRegex(re, 'f', 'g'), src, compileGoReplacement(tpl));

test('Go templates: $1, ${1}, $name, ${name}, $$ and unknown groups', () => {
  assert.equal(expand('^/(\\w+)/(\\w+)$', '/a/b', '/$2/${1}'), '/b/a');
  assert.equal(expand('^/(?P<x>\\w+)$', '/abc', '/${x}-$x'), '/abc-abc');
  assert.equal(expand('a', 'a', '$$1'), '$1');
  assert.equal(expand('(a)', 'a', '$1x'), ''); // Go reads "$1x" as the (missing) group named "1x"
  assert.equal(expand('(a)', 'a', '${1}x'), 'ax');
  assert.equal(expand('(a)', 'a', '$9'), '');
  assert.equal(expand('(a)', 'a', 'cost: $'), 'cost: $');
  assert.equal(expand('o', 'foo', '0'), 'f00');
});

test('Go regex flags and named groups translate', () => {
  assert.ok(compileGoRegex('(?i)^/API', 'f').test('/api'));
  assert.ok(compileGoRegex('\\A/x\\z', 'f').test('/x'));
  assert.throws(() => compileGoRegex('(', 'regex'), (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'regex');
});

test('a template without $ is returned as is (property)', () => {
  fc.assert(
    fc.property(fc.string().filter((s) => !s.includes('$')), (s) => {
      assert.equal(expand('^.*$', 'anything', s), s);
    }),
  );
});
