import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('redirectRegex rewrites the full URL with groups', async () => {
  const opts = { regex: '^http://localhost/(.*)', replacement: 'http://mydomain/${1}' };
  const r = await through(middleware, opts, '/a/b?c=d', { headers: { host: 'localhost' } });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'http://mydomain/a/b?c=d');
});

test('redirectRegex permanent uses 301 for GET and 308 for PUT', async () => {
  const opts = { regex: '^http://(www\\.)?old\\.test:?\\d*/(.*)', replacement: 'https://new.test/$2', permanent: true };
  const g = await through(middleware, opts, '/x', { headers: { host: 'old.test:8080' } });
  assert.equal(g.status, 301);
  assert.equal(g.headers.location, 'https://new.test/x');
  const p = await through(middleware, opts, '/x', { method: 'PUT', headers: { host: 'www.old.test' }, body: 'b' });
  assert.equal(p.status, 308);
});

test('redirectRegex passes through when nothing matches or nothing changes', async () => {
  const miss = await through(middleware, { regex: '^https://', replacement: 'http://' }, '/x', { headers: { host: 'a.test' } });
  assert.equal(miss.status, 200);
  const same = await through(middleware, { regex: '^(http://a\\.test/x)$', replacement: '$1' }, '/x', { headers: { host: 'a.test' } });
  assert.equal(same.status, 200);
});

test('redirectRegex rejects an invalid regex', () => {
  assert.throws(() => middleware.create({ regex: '(', replacement: 'x' }, testDeps()), MiddlewareOptionError);
});
