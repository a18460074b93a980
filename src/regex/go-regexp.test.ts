import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, GoRegexpError, translateGoRegexpGroups } from './go-regexp.js';
import { compileGoReplacer } from './go-template.js';
import { ALL_TEMPLATE, GO_REGEXP_CASES, GO_REGEXP_ERRORS } from './go-regexp.cases.js';

test('the shared cases: Go regexps translate to equivalent JavaScript (first match and every match)', () => {
  for (const c of GO_REGEXP_CASES) {
    const re = compileGoRegexp(c.re);
    const m = re.exec(c.input);
    assert.equal(m === null ? null : m[0], c.find, `${c.re} on ${JSON.stringify(c.input)} (js ${re.source})`);
    assert.equal(compileGoReplacer(c.re, ALL_TEMPLATE).replaceAll(c.input), c.all, `${c.re} on ${JSON.stringify(c.input)}: every match`);
  }
});

test('caseInsensitive option folds letters', () => {
  assert.equal(compileGoRegexp('^abc[x-z]$', { caseInsensitive: true }).test('ABCY'), true);
  assert.equal(compileGoRegexp('^abc$').test('ABC'), false);
});

test('capture groups keep Go numbering and names, duplicates included', () => {
  const t = translateGoRegexpGroups('(a)(?:b)(?P<x>c)((?<y>d))(?P<x>e)');
  assert.deepEqual(t.groupNames, ['', '', 'x', '', 'y', 'x']);
  const m = new RegExp(t.js, 'u').exec('abcde');
  assert.deepEqual(m === null ? null : [...m], ['abcde', 'a', 'c', 'd', 'd', 'e']);
});

test('the shared error cases: invalid Go regexps are GoRegexpError with an offset', () => {
  for (const c of GO_REGEXP_ERRORS) {
    assert.throws(
      () => compileGoRegexp(c.re),
      (err: unknown) => {
        assert.ok(err instanceof GoRegexpError, `${c.re}: ${String(err)}`);
        assert.match(err.message, c.error, c.re);
        assert.equal(err.offset, c.offset, `${c.re}: ${err.message}`);
        return true;
      },
    );
  }
});
