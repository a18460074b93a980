import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('addPrefix prepends the prefix', async () => {
  assert.equal((await through(middleware, { prefix: '/api' }, '/add/1/2')).echo?.url, '/api/add/1/2');
  assert.equal((await through(middleware, { prefix: 'v1' }, '/x')).echo?.url, '/v1/x');
  assert.throws(() => middleware.create({ prefix: '' }, testDeps()), MiddlewareOptionError);
});
