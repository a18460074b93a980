import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';
import { request } from 'undici';
import type { Handler } from '../../http/handler.js';
import { serveHandler, testDeps } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware } from './index.js';
import { Negotiator } from './negotiate.js';

const big = 'hello gatehouse '.repeat(200); // 3200 bytes

/** A backend answering `body` in 100-byte chunks, with or without Content-Length. */
function backend(body: string, headers: OutgoingHttpHeaders = {}, withLength = false): Handler {
  return (ctx) => {
    const buf = Buffer.from(body);
    ctx.rw.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      ...(withLength ? { 'content-length': buf.length } : {}),
      ...headers,
    });
    for (let i = 0; i < buf.length; i += 100) ctx.rw.write(buf.subarray(i, i + 100));
    ctx.rw.end();
  };
}

test('compress: gzip by default for Accept-Encoding gzip, with Vary', async () => {
  for (const withLength of [false, true]) {
    const r = await through(middleware, {}, '/', { headers: { 'accept-encoding': 'gzip' }, terminal: backend(big, {}, withLength) });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(gunzipSync(r.body).toString(), big);
    assert.ok(r.body.length < big.length / 4);
  }
});

test('compress: q-values and priority pick the encoding', async () => {
  const br = await through(middleware, {}, '/', { headers: { 'accept-encoding': 'gzip;q=0.5, br' }, terminal: backend(big) });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(br.body).toString(), big);
  const tie = await through(middleware, { encodings: ['br', 'gzip'] }, '/', {
    headers: { 'accept-encoding': 'gzip, br' },
    terminal: backend(big),
  });
  assert.equal(tie.headers['content-encoding'], 'br');
  const refused = await through(middleware, {}, '/', { headers: { 'accept-encoding': 'gzip;q=0, identity' }, terminal: backend(big) });
  assert.equal(refused.headers['content-encoding'], undefined);
  assert.equal(refused.text, big);
});

test('compress: no Accept-Encoding means no compression unless defaultEncoding', async () => {
  const none = await through(middleware, {}, '/', { terminal: backend(big) });
  assert.equal(none.headers['content-encoding'], undefined);
  assert.equal(none.text, big);
  const def = await through(middleware, { defaultEncoding: 'gzip' }, '/', { terminal: backend(big) });
  assert.equal(def.headers['content-encoding'], 'gzip');
  const star = await through(middleware, { defaultEncoding: 'br' }, '/', { headers: { 'accept-encoding': '*' }, terminal: backend(big) });
  assert.equal(star.headers['content-encoding'], 'br');
});

test('compress: small, excluded, already-encoded, HEAD and range responses pass unchanged', async () => {
  const ae = { 'accept-encoding': 'gzip' };
  const small = await through(middleware, {}, '/', { headers: ae, terminal: backend('tiny body') });
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.headers['content-length'], '9');
  assert.equal(small.text, 'tiny body');
  const excluded = await through(middleware, { excludedContentTypes: ['Text/Plain'] }, '/', { headers: ae, terminal: backend(big) });
  assert.equal(excluded.headers['content-encoding'], undefined);
  const notIncluded = await through(middleware, { includedContentTypes: ['application/json'] }, '/', {
    headers: ae,
    terminal: backend(big),
  });
  assert.equal(notIncluded.headers['content-encoding'], undefined);
  const included = await through(middleware, { includedContentTypes: ['text/plain'] }, '/', { headers: ae, terminal: backend(big) });
  assert.equal(included.headers['content-encoding'], 'gzip');
  const encoded = await through(middleware, {}, '/', { headers: ae, terminal: backend(big, { 'content-encoding': 'identity-x' }) });
  assert.equal(encoded.headers['content-encoding'], 'identity-x');
  assert.equal(encoded.text, big);
  const ranged = await through(middleware, {}, '/', { headers: { ...ae, range: 'bytes=0-10' }, terminal: backend(big) });
  assert.equal(ranged.headers['content-encoding'], undefined);
  const lowMin = await through(middleware, { minResponseBodyBytes: 4 }, '/', { headers: ae, terminal: backend('tiny body') });
  assert.equal(gunzipSync(lowMin.body).toString(), 'tiny body');
});

test('compress: streams a large body with back-pressure', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'abcdefghij');
  const total = 200; // 12.8 MiB through gzip
  let sawBackPressure = false;
  const producer: Handler = (ctx) => {
    ctx.rw.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent++;
        if (!ctx.rw.write(chunk)) {
          sawBackPressure = true;
          ctx.rw.onDrain(pump);
          return;
        }
      }
      ctx.rw.end();
    };
    pump();
  };
  const srv = await serveHandler(middleware.create({}, testDeps())(producer));
  try {
    const res = await request(`${srv.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(body).length, chunk.length * total);
    assert.ok(sawBackPressure, 'the producer should have been asked to wait');
  } finally {
    await srv.close();
  }
});

test('compress: invalid options are rejected', () => {
  assert.throws(
    () => middleware.create({ excludedContentTypes: ['a/b'], includedContentTypes: ['c/d'] }, testDeps()),
    MiddlewareOptionError,
  );
  assert.throws(
    () => middleware.create({ encodings: ['lzma'] }, testDeps()),
    (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'encodings[0]',
  );
  assert.throws(() => middleware.create({ encodings: ['gzip'], defaultEncoding: 'br' }, testDeps()), MiddlewareOptionError);
});

test('Negotiator follows Traefik rules', () => {
  const n = new Negotiator(['gzip', 'br'], null);
  assert.equal(n.choose(''), null);
  assert.equal(n.choose(undefined), null);
  assert.equal(n.choose('deflate'), null);
  assert.equal(n.choose('br;q=0.9, gzip;q=0.8'), 'br');
  assert.equal(n.choose('*'), 'gzip');
  assert.equal(n.choose('*;q=1, br;q=1'), 'br');
  assert.equal(n.choose('GZIP ; q=1.0'), 'gzip');
});
