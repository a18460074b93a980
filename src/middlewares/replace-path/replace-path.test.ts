import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('replacePath replaces the path and keeps the query', async () => {
  const r = await through(middleware, { path: '/foo' }, '/bar/baz?q=1');
  assert.equal(r.echo?.url, '/foo?q=1');
  assert.equal(r.echo?.headers['x-replaced-path'], '/bar/baz');
  assert.throws(() => middleware.create({ path: '/bad%zz' }, testDeps()), MiddlewareOptionError);
});
