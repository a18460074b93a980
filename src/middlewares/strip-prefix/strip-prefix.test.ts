import { test } from 'node:test';
import assert from 'node:assert/strict';
import { through } from '../../../test/support/middleware-request.js';
import { middleware } from './index.js';

test('stripPrefix removes the first matching prefix and sets X-Forwarded-Prefix', async () => {
  const r = await through(middleware, { prefixes: ['/nope', '/add'] }, '/add/10/10?x=1');
  assert.equal(r.echo?.url, '/10/10?x=1');
  assert.equal(r.echo?.headers['x-forwarded-prefix'], '/add');
});

test('stripPrefix leaves "/" when the whole path is the prefix, and ignores non-matching paths', async () => {
  assert.equal((await through(middleware, { prefixes: ['/add'] }, '/add')).echo?.url, '/');
  const r = await through(middleware, { prefixes: ['/add'] }, '/other');
  assert.equal(r.echo?.url, '/other');
  assert.equal(r.echo?.headers['x-forwarded-prefix'], undefined);
});

test('stripPrefix with forceSlash false keeps a leading slash', async () => {
  assert.equal((await through(middleware, { prefixes: ['/api/'], forceSlash: false }, '/api/v1')).echo?.url, '/v1');
});
