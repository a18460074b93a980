import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { performance } from 'node:perf_hooks';
import { serveHandler } from '../../test/support/handler-server.js';
import type { RequestContext } from '../http/exchange.js';
import { LiveExchanges } from './live.js';
import { TapBus, type TapEvent } from './tap.js';

/**
 * A handler that behaves like an entry point plus a slow service: onStart,
 * then (after `readAfterMs`) reads the whole body, answers its length, and
 * reports the end of the exchange to `live` when the response closes.
 */
function slowReader(
  live: LiveExchanges,
  seen: { size: number[]; bytes: Array<number | undefined>; bodies: number[] },
  readAfterMs: number,
) {
  return (ctx: RequestContext): void => {
    live.onStart(ctx);
    seen.size.push(live.size);
    ctx.res!.once('close', () => seen.bytes.push(live.end(ctx, performance.now(), null)));
    setTimeout(async () => {
      let n = 0;
      if (ctx.body !== null && !Buffer.isBuffer(ctx.body)) for await (const c of ctx.body) n += (c as Buffer).length;
      seen.bodies.push(n);
      ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
      ctx.rw.end(String(n));
    }, readAfterMs);
  };
}

test('body bytes: counted as read (chunked and content-length), late consumers still get every byte', async () => {
  const live = new LiveExchanges(new TapBus(), { countBodyBytes: true, callerHeader: null });
  const seen = { size: [] as number[], bytes: [] as Array<number | undefined>, bodies: [] as number[] };
  const srv = await serveHandler(slowReader(live, seen, 30));
  try {
    // Chunked upload: an async generator body has no content-length.
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) {
        yield Buffer.alloc(3000 + i, 0x61);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const r1 = await request(srv.url + '/up', { method: 'POST', body: Readable.from(chunks()) });
    assert.equal(await r1.body.text(), String(3000 * 5 + 10));
    const r2 = await request(srv.url + '/up', { method: 'PUT', body: Buffer.alloc(777, 0x62) });
    assert.equal(await r2.body.text(), '777');
    const r3 = await request(srv.url + '/get');
    assert.equal(await r3.body.text(), '0');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen.bodies, [15010, 777, 0]);
    assert.deepEqual(seen.bytes, [15010, 777, undefined], 'bytes read per exchange; a GET is not followed');
    assert.deepEqual(seen.size, [1, 1, 0], 'only requests with a body are followed when no tap is open');
    assert.equal(live.size, 0, 'state is dropped when the exchange ends');
  } finally {
    await srv.close();
  }
});

test('counting off and no tap: nothing is followed', async () => {
  const live = new LiveExchanges(new TapBus(), { countBodyBytes: false, callerHeader: null });
  const seen = { size: [] as number[], bytes: [] as Array<number | undefined>, bodies: [] as number[] };
  const srv = await serveHandler(slowReader(live, seen, 0));
  try {
    const r = await request(srv.url + '/up', { method: 'POST', body: 'hello' });
    assert.equal(await r.body.text(), '5');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(seen.size, [0]);
    assert.deepEqual(seen.bytes, [undefined]);
  } finally {
    await srv.close();
  }
});

test('tap events are live: req at start, rsp when the head is written, end when over', async () => {
  const bus = new TapBus();
  const live = new LiveExchanges(bus, { countBodyBytes: true, callerHeader: 'client' });
  const got: Array<{ e: TapEvent; at: number }> = [];
  const off = bus.subscribe({}, 100, (e) => got.push({ e, at: performance.now() }), { headers: true });
  let headAt = 0;
  let endAt = 0;
  const srv = await serveHandler((ctx) => {
    live.onStart(ctx);
    ctx.res!.once('close', () => live.end(ctx, performance.now(), null));
    (ctx.body as NodeJS.ReadableStream).resume(); // the service reads the body
    setTimeout(() => {
      ctx.routerName = 'calc@file';
      ctx.serviceName = 'add@file';
      ctx.serverUrl = 'http://10.0.0.1:80';
      ctx.caller = 'app-123';
      headAt = performance.now();
      ctx.rw.writeHead(201, { 'content-type': 'text/plain', 'x-up': 'yes' });
      ctx.rw.write(Buffer.from('par'));
      setTimeout(() => {
        endAt = performance.now();
        ctx.rw.end(Buffer.from('tial'));
      }, 120);
    }, 80);
  });
  try {
    const started = performance.now();
    const r = await request(srv.url + '/add/1/2?x=1', {
      method: 'POST',
      body: 'abc',
      headers: { client: 'header-app', authorization: 'Bearer s3cret' },
    });
    assert.equal(await r.body.text(), 'partial');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(
      got.map((g) => g.e.type),
      ['req', 'rsp', 'end'],
    );
    const [req, rsp, end] = got as [{ e: TapEvent; at: number }, { e: TapEvent; at: number }, { e: TapEvent; at: number }];
    assert.ok(req.at < headAt, 'req is published before the answer');
    assert.ok(req.at - started < 60, `req published ${req.at - started} ms after the request was sent`);
    assert.ok(rsp.at >= headAt && rsp.at < endAt, 'rsp is published when the head is written, before the end');
    assert.ok(end.at >= endAt);
    assert.equal(req.e.path, '/add/1/2');
    assert.equal(req.e.method, 'POST');
    assert.equal(req.e.router, '', 'not routed yet');
    assert.equal(req.e.caller, 'header-app', 'caller before the token check: the configured header');
    assert.equal((req.e.requestHeaders as Record<string, string>).authorization, '[redacted]');
    assert.equal(rsp.e.status, 201);
    assert.equal(rsp.e.router, 'calc@file');
    assert.equal(rsp.e.server, 'http://10.0.0.1:80');
    assert.equal(rsp.e.caller, 'app-123', 'the verified caller wins');
    assert.equal((rsp.e.responseHeaders as Record<string, string>)['x-up'], 'yes');
    assert.ok(rsp.e.latencyMs >= 75 && rsp.e.latencyMs < 190, `time to headers ${rsp.e.latencyMs}`);
    assert.ok(end.e.latencyMs >= rsp.e.latencyMs + 100, `end ${end.e.latencyMs} vs rsp ${rsp.e.latencyMs}`);
    assert.equal(end.e.bytes, 7);
    assert.equal(end.e.requestBytes, 3);
    assert.equal(new Set(got.map((g) => g.e.id)).size, 1, 'one id per exchange');
    assert.equal(live.size, 0);
  } finally {
    off();
    await srv.close();
  }
});

test('a tap filtered on the router gets req routed, together with rsp', async () => {
  const bus = new TapBus();
  const live = new LiveExchanges(bus, { countBodyBytes: false, callerHeader: null });
  const got: TapEvent[] = [];
  bus.subscribe({ router: 'calc@file' }, 100, (e) => got.push(e));
  const srv = await serveHandler((ctx) => {
    live.onStart(ctx);
    ctx.res!.once('close', () => live.end(ctx, performance.now(), null));
    ctx.routerName = ctx.path.startsWith('/add') ? 'calc@file' : 'other@file';
    ctx.rw.writeHead(200, {});
    ctx.rw.end('ok');
  });
  try {
    for (const p of ['/add/1', '/other', '/add/2']) await (await request(srv.url + p)).body.dump();
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(
      got.map((e) => `${e.type} ${e.path} ${e.router}`),
      [
        'req /add/1 calc@file',
        'rsp /add/1 calc@file',
        'end /add/1 calc@file',
        'req /add/2 calc@file',
        'rsp /add/2 calc@file',
        'end /add/2 calc@file',
      ],
    );
  } finally {
    await srv.close();
  }
});

test('an exchange that ends without a head still gets rsp and end', async () => {
  const bus = new TapBus();
  const live = new LiveExchanges(bus, { countBodyBytes: false, callerHeader: null });
  const got: TapEvent[] = [];
  bus.subscribe({}, 100, (e) => got.push(e));
  const srv = await serveHandler((ctx) => {
    live.onStart(ctx);
    ctx.res!.once('close', () => {
      ctx.status = 499;
      live.end(ctx, performance.now(), null);
    });
  });
  try {
    const ac = new AbortController();
    const p = request(srv.url + '/hang', { signal: ac.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await p;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      got.map((e) => [e.type, e.status]),
      [
        ['req', 0],
        ['rsp', 499],
        ['end', 499],
      ],
    );
  } finally {
    await srv.close();
  }
});
