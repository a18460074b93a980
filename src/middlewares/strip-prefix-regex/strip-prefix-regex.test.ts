import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('stripPrefixRegex strips the matched prefix', async () => {
  const r = await through(middleware, { regex: ['/users/[a-z0-9]+/'] }, '/users/bob42/profile');
  assert.equal(r.echo?.url, '/profile');
  assert.equal(r.echo?.headers['x-forwarded-prefix'], '/users/bob42/');
  assert.equal((await through(middleware, { regex: ['/users/[0-9]+'] }, '/x/users/1')).echo?.url, '/x/users/1');
});

test('stripPrefixRegex rejects an invalid regex', () => {
  assert.throws(
    () => middleware.create({ regex: ['/(unclosed'] }, testDeps()),
    (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'regex[0]',
  );
});
