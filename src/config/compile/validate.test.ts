/** The one schema-error formatter: every message says what was expected and what was found. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { schemaProblems } from './validate.js';
import { RouterSchema } from '../schema.js';
import { MiddlewareRegistry } from '../../middlewares/registry.js';
import { BUILTIN_MIDDLEWARES } from '../../middlewares/builtin.js';

test('unknown fields are named with the closest known one, missing ones are required', () => {
  assert.deepEqual(schemaProblems(RouterSchema, { rulez: 'Host(`a`)', service: 's' }), [
    { path: 'rule', message: 'required field is missing' },
    { path: 'rulez', message: 'unknown field (did you mean "rule"?)' },
  ]);
});

test('wrong types say what was found; literal unions list their values; one problem per path', () => {
  assert.deepEqual(schemaProblems(RouterSchema, { rule: 5, service: 's', ruleSyntax: 'v4', entryPoints: ['web', 3] }), [
    { path: 'entryPoints.1', message: 'expected string, got 3' },
    { path: 'rule', message: 'expected string, got 5' },
    { path: 'ruleSyntax', message: 'expected one of "v2", "v3", got "v4"' },
  ]);
  const Duration = Type.Object({ d: Type.Union([Type.String(), Type.Number()]) });
  assert.deepEqual(schemaProblems(Duration, { d: true }), [{ path: 'd', message: 'expected string or number, got true' }]);
});

test('long values are cut, and at most `limit` problems are reported', () => {
  const [p] = schemaProblems(Type.Object({ s: Type.String() }), { s: 'x'.repeat(200).split('') });
  assert.match(p?.message ?? '', /^expected string, got \["x","x",.*\.\.\.$/);
  assert.ok((p?.message.length ?? 0) < 100);
  const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, 1]));
  assert.equal(schemaProblems(Type.Object({}, { additionalProperties: false }), many).length, 10);
  assert.equal(schemaProblems(Type.Object({}, { additionalProperties: false }), many, 3).length, 3);
});

test('middleware options are formatted by the same function as routers', () => {
  const reg = new MiddlewareRegistry(BUILTIN_MIDDLEWARES);
  const def = reg.get('stripPrefix');
  assert.ok(def !== undefined);
  const value = { prefixs: ['/a'] };
  assert.deepEqual(reg.validate(def, value), schemaProblems(def.schema, value));
  assert.deepEqual(reg.validate(def, value), [
    { path: 'prefixes', message: 'required field is missing' },
    { path: 'prefixs', message: 'unknown field (did you mean "prefixes"?)' },
  ]);
});
