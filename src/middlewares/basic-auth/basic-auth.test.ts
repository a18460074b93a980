import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { echoHandler, serveHandler, testDeps, type Echo } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const bcryptLine = `alice:${bcrypt.hashSync('wonderland', 4).replace('$2b$', '$2y$')}`;
const shaLine = `bob:{SHA}${createHash('sha1').update('builder').digest('base64')}`;
// htpasswd -nbm test test
const apr1Line = 'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/';

test('basicAuth: no or wrong credentials get 401 with the realm', async () => {
  const none = await through(middleware, { users: [bcryptLine] }, '/');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="traefik"');
  const wrong = await through(middleware, { users: [bcryptLine], realm: 'calc' }, '/', {
    headers: { authorization: basic('alice', 'nope') },
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers['www-authenticate'], 'Basic realm="calc"');
  const unknown = await through(middleware, { users: [bcryptLine] }, '/', { headers: { authorization: basic('mallory', 'wonderland') } });
  assert.equal(unknown.status, 401);
  const garbage = await through(middleware, { users: [bcryptLine] }, '/', { headers: { authorization: 'Bearer abc' } });
  assert.equal(garbage.status, 401);
});

test('basicAuth: bcrypt ($2y$), SHA1 and apr1 users are accepted', async () => {
  const users = [bcryptLine, shaLine, apr1Line];
  for (const [u, p] of [
    ['alice', 'wonderland'],
    ['bob', 'builder'],
    ['test', 'test'],
  ] as const) {
    const r = await through(middleware, { users }, '/', { headers: { authorization: basic(u, p) } });
    assert.equal(r.status, 200, `${u} should be accepted`);
    assert.equal(r.echo?.headers.authorization, basic(u, p));
  }
  const bad = await through(middleware, { users }, '/', { headers: { authorization: basic('test', 'wrong') } });
  assert.equal(bad.status, 401);
});

test('basicAuth: headerField forwards the user, removeHeader drops Authorization', async () => {
  const r = await through(middleware, { users: [shaLine], headerField: 'X-WebAuth-User', removeHeader: true }, '/', {
    headers: { authorization: basic('bob', 'builder') },
  });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers['x-webauth-user'], 'bob');
  assert.equal(r.echo?.headers.authorization, undefined);
});

test('basicAuth: a repeated bcrypt login is served from the cache', async () => {
  const srv = await serveHandler(middleware.create({ users: [`carol:${bcrypt.hashSync('pw', 10)}`] }, testDeps())(echoHandler));
  try {
    const send = async (p: string): Promise<number> => {
      const res = await request(`${srv.url}/`, { headers: { authorization: basic('carol', p) } });
      await res.body.text();
      return res.statusCode;
    };
    const t0 = performance.now();
    assert.equal(await send('pw'), 200);
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 5; i++) assert.equal(await send('pw'), 200);
    const cached = (performance.now() - t1) / 5;
    assert.ok(cached < first, `cached ${cached}ms should be faster than first ${first}ms`);
    assert.equal(await send('other'), 401);
  } finally {
    await srv.close();
  }
});

test('basicAuth: usersFile (relative to the working directory) merges with users', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-basic-'));
  try {
    const file = join(dir, 'users');
    writeFileSync(file, `# comment\n\n${shaLine}\n${apr1Line}\n`);
    const rel = relative(process.cwd(), file);
    const r = await through(middleware, { users: [bcryptLine], usersFile: rel }, '/', {
      headers: { authorization: basic('test', 'test') },
    });
    assert.equal(r.status, 200);
    const a = await through(middleware, { users: [bcryptLine], usersFile: rel }, '/', {
      headers: { authorization: basic('alice', 'wonderland') },
    });
    assert.equal((a.echo as Echo).method, 'GET');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('basicAuth: invalid options are rejected without echoing secrets', () => {
  const isErr = (field: string) => (e: unknown) => e instanceof MiddlewareOptionError && e.field === field;
  assert.throws(
    () => middleware.create({ users: ['plain:secretpassword'] }, testDeps()),
    (e: unknown) => isErr('users[0]')(e) && !(e as Error).message.includes('secretpassword'),
  );
  assert.throws(() => middleware.create({ users: ['nocolon'] }, testDeps()), isErr('users[0]'));
  assert.throws(() => middleware.create({}, testDeps()), isErr('users'));
  assert.throws(() => middleware.create({ usersFile: '/nonexistent/gatehouse-users' }, testDeps()), isErr('usersFile'));
  assert.throws(() => middleware.create({ users: [shaLine], realm: 'a"b' }, testDeps()), isErr('realm'));
});
