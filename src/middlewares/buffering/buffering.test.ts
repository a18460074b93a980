import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import { through } from '../../../test/support/middleware-request.js';
import { middleware } from './index.js';

/** Answers with a body of `size` bytes written in 1 KiB chunks, without Content-Length. */
function sized(size: number): Handler {
  return (ctx) => {
    ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
    for (let left = size; left > 0; left -= 1024) ctx.rw.write(Buffer.alloc(Math.min(1024, left), 'x'));
    ctx.rw.end();
  };
}

test('buffering: the request body reaches the service as a Buffer with a Content-Length', async () => {
  let seen: unknown = null;
  const inspect: Handler = (ctx) => {
    seen = { isBuffer: Buffer.isBuffer(ctx.body), cl: ctx.headers['content-length'], te: ctx.headers['transfer-encoding'] };
    ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
    ctx.rw.end(Buffer.isBuffer(ctx.body) ? ctx.body : '');
  };
  // undici sends a string body with Content-Length; an iterable body goes chunked.
  const chunked = (async function* () {
    yield Buffer.from('hello ');
    yield Buffer.from('world');
  })();
  const r = await through(middleware, { maxRequestBodyBytes: 100 }, '/', {
    method: 'POST',
    body: chunked as unknown as Buffer,
    terminal: inspect,
  });
  assert.equal(r.status, 200);
  assert.equal(r.text, 'hello world');
  assert.deepEqual(seen, { isBuffer: true, cl: '11', te: undefined });
});

test('buffering: request bodies over maxRequestBodyBytes get 413', async () => {
  const declared = await through(middleware, { maxRequestBodyBytes: 10 }, '/', { method: 'POST', body: 'x'.repeat(11) });
  assert.equal(declared.status, 413);
  const streamed = (async function* () {
    for (let i = 0; i < 5; i++) yield Buffer.alloc(8, 'y');
  })();
  const r = await through(middleware, { maxRequestBodyBytes: 10 }, '/', { method: 'POST', body: streamed as unknown as Buffer });
  assert.equal(r.status, 413);
  assert.equal(r.text, 'Request Entity Too Large');
});

test('buffering: the response is sent whole with an exact Content-Length', async () => {
  const r = await through(middleware, {}, '/', { terminal: sized(5000) });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '5000');
  assert.equal(r.body.length, 5000);
});

test('buffering: responses over maxResponseBodyBytes become 500', async () => {
  const r = await through(middleware, { maxResponseBodyBytes: 4096 }, '/', { terminal: sized(5000) });
  assert.equal(r.status, 500);
  assert.equal(r.text, 'Internal Server Error');
  const ok = await through(middleware, { maxResponseBodyBytes: 5000 }, '/', { terminal: sized(5000) });
  assert.equal(ok.status, 200);
});

test('buffering: with no maximum, bodies beyond the memory size are streamed, not refused', async () => {
  const res = await through(middleware, { memResponseBodyBytes: 2048 }, '/', { terminal: sized(10000) });
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 10000);
  assert.equal(res.headers['content-length'], undefined);
  const req = await through(middleware, { memRequestBodyBytes: 16 }, '/', { method: 'POST', body: 'z'.repeat(1000) });
  assert.equal(req.echo?.body, 'z'.repeat(1000));
});
