import { test } from 'node:test';
import assert from 'node:assert/strict';
import { through } from '../../../test/support/middleware-request.js';
import { middleware } from './index.js';

test('replacePathRegex rewrites with groups', async () => {
  const r = await through(middleware, { regex: '^/foo/(.*)', replacement: '/bar/$1' }, '/foo/a/b?z=2');
  assert.equal(r.echo?.url, '/bar/a/b?z=2');
  assert.equal(r.echo?.headers['x-replaced-path'], '/foo/a/b');
  const named = await through(middleware, { regex: '^/v(?P<n>\\d+)/(.*)', replacement: '/api/${n}/$2' }, '/v2/items');
  assert.equal(named.echo?.url, '/api/2/items');
  const none = await through(middleware, { regex: '^/foo', replacement: '/bar' }, '/other');
  assert.equal(none.echo?.url, '/other');
  assert.equal(none.echo?.headers['x-replaced-path'], undefined);
});

test('replacePathRegex answers 500 when the result is not valid percent-encoding', async () => {
  const r = await through(middleware, { regex: '^/(.*)', replacement: '/%zz$1' }, '/x');
  assert.equal(r.status, 500);
});
