import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, sanitizePath } from './request-path.js';

test('normalizePath: unreserved escapes decoded, others upper-cased, invalid ones refused (Traefik normalizePath)', () => {
  for (const [raw, out] of [
    ['/plain', '/plain'],
    ['/%7euser/%41%2D%5f', '/~user/A-_'],
    ['/a%2fb%3a', '/a%2Fb%3A'],
    ['/%2e%2E/x', '/../x'],
    ['/%25', '/%25'],
  ] as const)
    assert.equal(normalizePath(raw), out, raw);
  for (const bad of ['/%zz', '/%4', '/a%', '/%g1']) assert.equal(normalizePath(bad), null, bad);
});

test('sanitizePath: Go JoinPath (path.Clean, trailing slash kept)', () => {
  for (const [p, out] of [
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/public/../deny/secret', '/deny/secret'],
    ['//deny/secret', '/deny/secret'],
    ['/a/./b//c/', '/a/b/c/'],
    ['/../../x', '/x'],
    ['/a/..', '/'],
    ['/a/.', '/a'],
    ['/a/../', '/'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a/..b/c', '/a/..b/c'],
    ['*', '*'],
  ] as const)
    assert.equal(sanitizePath(p), out, p);
});
