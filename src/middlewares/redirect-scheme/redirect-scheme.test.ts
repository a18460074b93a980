import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

test('redirectScheme sends GET to https with 302 and drops the port', async () => {
  const r = await through(middleware, { scheme: 'https' }, '/add/1/2?x=1', { headers: { host: 'calc.example.com:8000' } });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'https://calc.example.com/add/1/2?x=1');
  assert.equal(r.text, 'Found');
});

test('redirectScheme permanent: 301 for GET, 308 for POST; 307 for non-permanent POST', async () => {
  const p = await through(middleware, { scheme: 'https', permanent: true }, '/', { headers: { host: 'a.test' } });
  assert.equal(p.status, 301);
  const post = await through(middleware, { scheme: 'https', permanent: true }, '/', {
    method: 'POST',
    headers: { host: 'a.test' },
    body: 'x',
  });
  assert.equal(post.status, 308);
  const tmp = await through(middleware, { scheme: 'https' }, '/', { method: 'POST', headers: { host: 'a.test' }, body: 'x' });
  assert.equal(tmp.status, 307);
});

test('redirectScheme keeps a configured non-default port, drops a default one', async () => {
  const r = await through(middleware, { scheme: 'https', port: '8443' }, '/p', { headers: { host: 'a.test:8000' } });
  assert.equal(r.headers.location, 'https://a.test:8443/p');
  const d = await through(middleware, { scheme: 'https', port: 443 }, '/p', { headers: { host: 'a.test' } });
  assert.equal(d.headers.location, 'https://a.test/p');
});

test('redirectScheme passes requests already on the target scheme (X-Forwarded-Proto)', async () => {
  const r = await through(middleware, { scheme: 'https' }, '/ok', { headers: { host: 'a.test', 'x-forwarded-proto': 'https' } });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.url, '/ok');
  const http = await through(middleware, { scheme: 'http' }, '/ok', { headers: { host: 'a.test:80' } });
  assert.equal(http.status, 200);
});

test('redirectScheme keeps IPv6 brackets', async () => {
  const r = await through(middleware, { scheme: 'https' }, '/', { headers: { host: '[::1]:8000' } });
  assert.equal(r.headers.location, 'https://[::1]/');
});

test('redirectScheme rejects bad options', () => {
  assert.throws(() => middleware.create({ scheme: '' }, testDeps()), MiddlewareOptionError);
  assert.throws(
    () => middleware.create({ scheme: 'https', port: '99999' }, testDeps()),
    (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'port',
  );
});
