import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import { testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

const backend: Handler = (ctx) => {
  ctx.rw.writeHead(200, { 'content-type': 'text/plain', 'x-powered-by': 'php', vary: 'Accept-Encoding', 'content-length': 2 });
  ctx.rw.end('ok');
};

test('headers: the seed customRequestHeaders reach the backend', async () => {
  const r = await through(middleware, { customRequestHeaders: { 'l5d-dst-override': 'add-svc.add.svc.cluster.local:80' } }, '/add/10/10');
  assert.equal(r.echo?.headers['l5d-dst-override'], 'add-svc.add.svc.cluster.local:80');
});

test('headers: an empty value removes a request header; names are case-insensitive', async () => {
  const r = await through(middleware, { customRequestHeaders: { 'X-Drop': '', 'X-Set': 'v' } }, '/', {
    headers: { 'x-drop': 'secret', 'x-set': 'old' },
  });
  assert.equal(r.echo?.headers['x-drop'], undefined);
  assert.equal(r.echo?.headers['x-set'], 'v');
});

test('headers: customResponseHeaders set and remove response headers', async () => {
  const r = await through(middleware, { customResponseHeaders: { 'X-Powered-By': '', 'X-Custom': 'yes' } }, '/', { terminal: backend });
  assert.equal(r.headers['x-powered-by'], undefined);
  assert.equal(r.headers['x-custom'], 'yes');
  assert.equal(r.text, 'ok');
});

test('headers: CORS preflight is answered by the middleware', async () => {
  const opts = {
    accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
    accessControlAllowHeaders: ['X-Foo', 'Content-Type'],
    accessControlAllowOriginList: ['https://app.test'],
    accessControlMaxAge: 100,
    accessControlAllowCredentials: true,
  };
  const r = await through(middleware, opts, '/', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.test', 'access-control-request-method': 'PUT' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.test');
  assert.equal(r.headers['access-control-allow-methods'], 'GET,OPTIONS,PUT');
  assert.equal(r.headers['access-control-allow-headers'], 'X-Foo,Content-Type');
  assert.equal(r.headers['access-control-max-age'], '100');
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
});

test('headers: CORS on normal responses, origin regex and Vary', async () => {
  const opts = {
    accessControlAllowOriginListRegex: ['^https://.*\\.app\\.test$'],
    accessControlExposeHeaders: ['X-Total'],
    addVaryHeader: true,
  };
  const ok = await through(middleware, opts, '/', { headers: { origin: 'https://a.app.test' }, terminal: backend });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://a.app.test');
  assert.equal(ok.headers['access-control-expose-headers'], 'X-Total');
  assert.equal(ok.headers.vary, 'Accept-Encoding,Origin');
  const other = await through(middleware, opts, '/', { headers: { origin: 'https://evil.test' }, terminal: backend });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  // OPTIONS without Access-Control-Request-Method is not a preflight: it reaches the backend.
  const plain = await through(middleware, opts, '/', { method: 'OPTIONS', headers: { origin: 'https://a.app.test' } });
  assert.equal(plain.echo?.method, 'OPTIONS');
});

test('headers: security headers; STS only over TLS unless forced', async () => {
  const base = {
    frameDeny: true,
    contentTypeNosniff: true,
    browserXssFilter: true,
    contentSecurityPolicy: "default-src 'self'",
    referrerPolicy: 'no-referrer',
    permissionsPolicy: 'camera=()',
    stsSeconds: 31536000,
    stsIncludeSubdomains: true,
    stsPreload: true,
  };
  const r = await through(middleware, base, '/', { terminal: backend });
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-xss-protection'], '1; mode=block');
  assert.equal(r.headers['content-security-policy'], "default-src 'self'");
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['permissions-policy'], 'camera=()');
  assert.equal(r.headers['strict-transport-security'], undefined);
  const forced = await through(middleware, { ...base, forceSTSHeader: true, customFrameOptionsValue: 'SAMEORIGIN' }, '/', {
    terminal: backend,
  });
  assert.equal(forced.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
  assert.equal(forced.headers['x-frame-options'], 'SAMEORIGIN');
  const proxied = await through(middleware, { ...base, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } }, '/', {
    headers: { 'x-forwarded-proto': 'https' },
    terminal: backend,
  });
  assert.equal(proxied.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
  const dev = await through(middleware, { ...base, forceSTSHeader: true, isDevelopment: true }, '/', { terminal: backend });
  assert.equal(dev.headers['strict-transport-security'], undefined);
});

test('headers: allowedHosts answers 500 Bad Host for other hosts', async () => {
  const opts = { allowedHosts: ['good.test'], hostsProxyHeaders: ['X-Forwarded-Host'] };
  assert.equal((await through(middleware, opts, '/', { headers: { host: 'good.test' } })).status, 200);
  const bad = await through(middleware, opts, '/', { headers: { host: 'bad.test' } });
  assert.equal(bad.status, 500);
  assert.equal(bad.text, 'Bad Host');
  assert.equal((await through(middleware, opts, '/', { headers: { host: 'bad.test', 'x-forwarded-host': 'good.test' } })).status, 200);
  assert.equal((await through(middleware, { ...opts, isDevelopment: true }, '/', { headers: { host: 'bad.test' } })).status, 200);
});

test('headers: an invalid origin regex is rejected at build time', () => {
  assert.throws(
    () => middleware.create({ accessControlAllowOriginListRegex: ['(['] }, testDeps()),
    (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'accessControlAllowOriginListRegex[0]',
  );
});
