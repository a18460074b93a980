import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('ipAllowList lets a listed peer through (CIDR and single IP)', async () => {
  assert.equal((await through(middleware, { sourceRange: ['127.0.0.0/8'] }, '/')).status, 200);
  assert.equal((await through(middleware, { sourceRange: ['10.0.0.1', '127.0.0.1'] }, '/')).status, 200);
});

test('ipAllowList rejects other peers with 403 Forbidden, or rejectStatusCode', async () => {
  const r = await through(middleware, { sourceRange: ['10.0.0.0/8', '2001:db8::/32'] }, '/');
  assert.equal(r.status, 403);
  assert.equal(r.text, 'Forbidden');
  const t = await through(middleware, { sourceRange: ['10.0.0.0/8'], rejectStatusCode: 404 }, '/');
  assert.equal(t.status, 404);
  assert.equal(t.text, 'Not Found');
});

test('ipAllowList ignores X-Forwarded-For without an ipStrategy', async () => {
  const r = await through(middleware, { sourceRange: ['1.2.3.4'] }, '/', { headers: { 'x-forwarded-for': '1.2.3.4' } });
  assert.equal(r.status, 403);
});

test('ipAllowList ipStrategy.depth picks the Nth address from the right', async () => {
  const opts = { sourceRange: ['1.2.3.4'], ipStrategy: { depth: 2 } };
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '9.9.9.9, 1.2.3.4, 10.0.0.1' } })).status, 200);
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1, 10.0.0.2' } })).status, 403);
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '1.2.3.4' } })).status, 403);
});

test('ipAllowList ipStrategy.excludedIPs skips proxies from the right', async () => {
  const opts = { sourceRange: ['1.2.3.4'], ipStrategy: { excludedIPs: ['10.0.0.0/8'] } };
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1,10.0.0.2' } })).status, 200);
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '5.5.5.5, 10.0.0.1' } })).status, 403);
});

test('ipAllowList ipStrategy.ipv6Subnet matches the masked address', async () => {
  const opts = { sourceRange: ['2001:db8:1:2::/64'], ipStrategy: { depth: 1, ipv6Subnet: 64 } };
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '2001:db8:1:2:aaaa::1' } })).status, 200);
  assert.equal((await through(middleware, opts, '/', { headers: { 'x-forwarded-for': '2001:db8:1:3::1' } })).status, 403);
});

test('ipAllowList has the ipWhiteList alias and rejects bad ranges', () => {
  assert.deepEqual(middleware.aliases, ['ipWhiteList']);
  assert.throws(
    () => middleware.create({ sourceRange: ['10.0.0.0/33'] }, testDeps()),
    (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'sourceRange[0]',
  );
  assert.throws(() => middleware.create({ sourceRange: ['not-an-ip'] }, testDeps()), MiddlewareOptionError);
  assert.throws(() => middleware.create({ sourceRange: [] }, testDeps()), MiddlewareOptionError);
  assert.throws(() => middleware.create({ sourceRange: ['1.1.1.1'], rejectStatusCode: 1000 }, testDeps()), MiddlewareOptionError);
});
