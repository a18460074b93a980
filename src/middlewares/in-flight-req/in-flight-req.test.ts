import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { serveHandler, testDeps } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { middleware } from './index.js';

/** A terminal handler that holds each request until release() is called. */
function holding(): { handler: Handler; held: RequestContext[]; release(): void } {
  const held: RequestContext[] = [];
  return {
    held,
    handler: (ctx) => held.push(ctx),
    release() {
      for (const c of held.splice(0)) {
        c.rw.writeHead(200, { 'content-length': 2 });
        c.rw.end('ok');
      }
    },
  };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

test('allows amount concurrent requests per host, refuses more with 429, frees slots when done', async () => {
  const h = holding();
  const srv = await serveHandler(middleware.create({ amount: 2 }, testDeps())(h.handler));
  try {
    const a = send(srv.url, { headers: { host: 'one.test' } });
    const b = send(srv.url, { headers: { host: 'one.test' } });
    await until(() => h.held.length === 2);
    const c = await send(srv.url, { headers: { host: 'one.test' } });
    assert.equal(c.status, 429);
    assert.equal(c.body, 'max connections reached: 2');
    // Another host has its own counter (default criterion: request host).
    const d = send(srv.url, { headers: { host: 'two.test' } });
    await until(() => h.held.length === 3);
    h.release();
    assert.deepEqual([(await a).status, (await b).status, (await d).status], [200, 200, 200]);
    const e = send(srv.url, { headers: { host: 'one.test' } });
    await until(() => h.held.length === 1);
    h.release();
    assert.equal((await e).status, 200, 'slots were released');
  } finally {
    h.release();
    await srv.close();
  }
});

test('an aborted response releases its slot', async () => {
  let first = true;
  const handler: Handler = (ctx) => {
    if (first) {
      first = false;
      ctx.rw.destroy();
      return;
    }
    ctx.rw.writeHead(204, {});
    ctx.rw.end();
  };
  const srv = await serveHandler(middleware.create({ amount: 1 }, testDeps())(handler));
  try {
    await assert.rejects(send(srv.url));
    assert.equal((await send(srv.url)).status, 204);
  } finally {
    await srv.close();
  }
});

test('amount missing or 0: every request answers 429 as in Traefik, and the compiler warns', async () => {
  assert.match(middleware.check?.({})[0]?.message ?? '', /every request answers 429/);
  assert.equal(middleware.check?.({})[0]?.critical, false);
  assert.deepEqual(middleware.check?.({ amount: 1 }), []);
  const h = holding();
  const srv = await serveHandler(middleware.create({}, testDeps())(h.handler));
  try {
    const r = await send(srv.url, { headers: { host: 'a.test' } });
    assert.equal(r.status, 429);
    assert.equal(h.held.length, 0);
  } finally {
    await srv.close();
  }
});
