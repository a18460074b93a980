import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Handler } from '../../http/handler.js';
import { echoHandler, serveHandler, serveUpstream, testDeps, type Echo, type Running } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { middleware } from './index.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real auth server: token "good" → 200 with identity headers and a cookie; "redirect" → 302; else 401. */
async function authServer(): Promise<{ srv: Running; seen: Seen[] }> {
  const seen: Seen[] = [];
  const srv = await serveUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const auth = req.headers.authorization;
      if (auth === 'Bearer good') {
        res.writeHead(200, {
          'x-auth-user': 'alice',
          'x-auth-role': 'admin',
          'x-other': 'no',
          'set-cookie': ['session=s1; Path=/', 'tracking=t1'],
        });
        res.end('ok');
      } else if (auth === 'Bearer redirect') {
        res.writeHead(302, { location: '/login?next=1' });
        res.end();
      } else {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="gh"', 'content-type': 'application/json' });
        res.end('{"error":"denied"}');
      }
    });
  });
  return { srv, seen };
}

async function withAuth(
  options: Omit<Parameters<typeof middleware.create>[0], 'address'>,
  fn: (url: string, seen: Seen[], auth: Running) => Promise<void>,
  app: Handler = echoHandler,
): Promise<void> {
  const auth = await authServer();
  const closers: Array<() => void | Promise<void>> = [];
  const gw = await serveHandler(
    middleware.create({ address: `${auth.srv.url}/verify?x=1`, ...options }, testDeps({ onClose: (f) => closers.push(f) }))(app),
  );
  try {
    await fn(gw.url, auth.seen, auth.srv);
  } finally {
    await gw.close();
    for (const c of closers) await c();
    await auth.srv.close();
  }
}

test('2xx lets the request through with authResponseHeaders copied', async () => {
  await withAuth({ authResponseHeaders: ['X-Auth-User'], authResponseHeadersRegex: '^X-Auth-R' }, async (url, seen) => {
    const r = await send(`${url}/api/add?a=1`, {
      headers: { authorization: 'Bearer good', 'x-auth-user': 'forged', host: 'calc.test:8000' },
    });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body) as Echo;
    assert.equal(echo.headers['x-auth-user'], 'alice', 'the forged value is replaced');
    assert.equal(echo.headers['x-auth-role'], 'admin');
    assert.equal(echo.headers['x-other'], undefined);
    const a = seen[0]!;
    assert.equal(a.method, 'GET');
    assert.equal(a.url, '/verify?x=1');
    assert.equal(a.headers['x-forwarded-method'], 'GET');
    assert.equal(a.headers['x-forwarded-proto'], 'http');
    assert.equal(a.headers['x-forwarded-host'], 'calc.test:8000');
    assert.equal(a.headers['x-forwarded-uri'], '/api/add?a=1');
    assert.equal(a.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(a.headers.authorization, 'Bearer good');
    assert.notEqual(a.headers.host, 'calc.test:8000', 'Host is the auth server');
  });
});

test('non-2xx answers are returned to the client as they are', async () => {
  await withAuth({}, async (url) => {
    const r = await send(`${url}/x`, { headers: { authorization: 'Bearer bad' } });
    assert.equal(r.status, 401);
    assert.equal(r.body, '{"error":"denied"}');
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="gh"');
  });
});

test('Location is made absolute against the address unless preserveLocationHeader', async () => {
  await withAuth({}, async (url, _seen, auth) => {
    const r = await send(`${url}/x`, { headers: { authorization: 'Bearer redirect' } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `${auth.url}/login?next=1`);
  });
  await withAuth({ preserveLocationHeader: true }, async (url) => {
    const r = await send(`${url}/x`, { headers: { authorization: 'Bearer redirect' } });
    assert.equal(r.headers.location, '/login?next=1');
  });
});

test('trustForwardHeader keeps incoming X-Forwarded-*; otherwise they are replaced', async () => {
  const fwd = {
    authorization: 'Bearer good',
    'x-forwarded-for': '9.9.9.9',
    'x-forwarded-uri': '/orig',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'front.test',
  };
  await withAuth({ trustForwardHeader: true }, async (url, seen) => {
    await send(`${url}/x`, { headers: fwd });
    assert.equal(seen[0]!.headers['x-forwarded-for'], '9.9.9.9, 127.0.0.1');
    assert.equal(seen[0]!.headers['x-forwarded-uri'], '/orig');
    assert.equal(seen[0]!.headers['x-forwarded-proto'], 'https');
    assert.equal(seen[0]!.headers['x-forwarded-host'], 'front.test');
  });
  await withAuth({}, async (url, seen) => {
    await send(`${url}/x`, { headers: fwd });
    assert.equal(seen[0]!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen[0]!.headers['x-forwarded-uri'], '/x');
    assert.equal(seen[0]!.headers['x-forwarded-proto'], 'http');
  });
});

test('authRequestHeaders limits what the auth server sees', async () => {
  await withAuth({ authRequestHeaders: ['Authorization'] }, async (url, seen) => {
    await send(`${url}/x`, { headers: { authorization: 'Bearer good', cookie: 'secret=1', 'x-custom': 'c' } });
    assert.equal(seen[0]!.headers.authorization, 'Bearer good');
    assert.equal(seen[0]!.headers.cookie, undefined);
    assert.equal(seen[0]!.headers['x-custom'], undefined);
    assert.equal(seen[0]!.headers['x-forwarded-method'], 'GET');
  });
});

test('addAuthCookiesToResponse adds the named auth cookies to the response', async () => {
  const app: Handler = (ctx) => {
    ctx.rw.writeHead(200, { 'set-cookie': ['session=app', 'app=1'], 'content-length': 0 });
    ctx.rw.end();
  };
  await withAuth(
    { addAuthCookiesToResponse: ['session'] },
    async (url) => {
      const r = await send(`${url}/x`, { headers: { authorization: 'Bearer good' } });
      assert.deepEqual(r.headers['set-cookie'], ['app=1', 'session=s1; Path=/']);
    },
    app,
  );
});

test('forwardBody sends the body (and still to the backend); over maxBodySize → 401', async () => {
  await withAuth({ forwardBody: true, maxBodySize: 10, preserveRequestMethod: true }, async (url, seen) => {
    const r = await send(`${url}/x`, { method: 'POST', body: 'hello', headers: { authorization: 'Bearer good' } });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as Echo).body, 'hello');
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.body, 'hello');
    const big = await send(`${url}/x`, { method: 'POST', body: 'x'.repeat(50), headers: { authorization: 'Bearer good' } });
    assert.equal(big.status, 401);
    assert.equal(seen.length, 1, 'the auth server was not called');
  });
});

test('an unreachable auth server gives 500 with an empty body', async () => {
  const gone = await serveUpstream(() => undefined);
  const address = gone.url;
  await gone.close();
  const gw = await serveHandler(middleware.create({ address }, testDeps())(echoHandler));
  try {
    const r = await send(`${gw.url}/x`);
    assert.equal(r.status, 500);
    assert.equal(r.body, '');
  } finally {
    await gw.close();
  }
});

test('invalid options are rejected', () => {
  assert.throws(() => middleware.create({ address: 'not a url' }, testDeps()), /^MiddlewareOptionError: address: /);
  assert.throws(() => middleware.create({ address: 'ftp://x' }, testDeps()), /^MiddlewareOptionError: address: scheme/);
  assert.throws(
    () => middleware.create({ address: 'http://x', authResponseHeadersRegex: '(' }, testDeps()),
    /^MiddlewareOptionError: authResponseHeadersRegex: /,
  );
  assert.throws(
    () => middleware.create({ address: 'https://x', tls: { ca: '/nonexistent/ca.pem' } }, testDeps()),
    /^MiddlewareOptionError: tls\.ca: cannot read/,
  );
});
