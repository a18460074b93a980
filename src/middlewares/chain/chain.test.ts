import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Middleware } from '../../http/handler.js';
import { echoHandler, serveHandler, testDeps, type Echo } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { middleware } from './index.js';

/** A middleware that appends its tag to the x-trace request header. */
const tag =
  (t: string): Middleware =>
  (next) =>
  (ctx) => {
    const prev = ctx.headers['x-trace'];
    ctx.headers['x-trace'] = prev === undefined ? t : `${String(prev)},${t}`;
    next(ctx);
  };

const known: Record<string, Middleware> = { a: tag('a'), b: tag('b'), c: tag('c') };
const deps = testDeps({
  middleware: (name) => {
    const m = known[name.replace(/@.*$/, '')];
    if (m === undefined) throw new Error(`middleware "${name}" does not exist`);
    return m;
  },
});

test('applies the listed middlewares in order, first outermost', async () => {
  const srv = await serveHandler(middleware.create({ middlewares: ['b', 'a@file', 'c'] }, deps)(echoHandler));
  try {
    const echo = JSON.parse((await send(`${srv.url}/x`)).body) as Echo;
    assert.equal(echo.headers['x-trace'], 'b,a,c');
  } finally {
    await srv.close();
  }
});

test('an empty chain passes through', async () => {
  const srv = await serveHandler(middleware.create({ middlewares: [] }, deps)(echoHandler));
  try {
    assert.equal((await send(srv.url)).status, 200);
  } finally {
    await srv.close();
  }
});

test('an unknown middleware is reported with its position', () => {
  assert.throws(
    () => middleware.create({ middlewares: ['a', 'nope'] }, deps),
    /^MiddlewareOptionError: middlewares\.1: middleware "nope" does not exist/,
  );
});
