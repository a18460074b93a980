import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import { serveHandler, serveUpstream, testDeps, type Running } from '../../../test/support/handler-server.js';
import { buildLoadBalancer } from '../../services/load-balancer.js';
import { PoolSet } from '../../upstream/pools.js';
import { silentLogger } from '../../log.js';
import { send } from '../../../test/support/http-request.js';
import { middleware } from './index.js';
import { parseCodeRanges } from './status-ranges.js';

/** The application: status taken from the path (/s/500), with a body and a header that must not leak. */
const app: Handler = (ctx) => {
  const m = /^\/s\/(\d{3})/.exec(ctx.path);
  const status = m === null ? 200 : Number(m[1]);
  const body = `app says ${status}: internal details`;
  ctx.rw.writeHead(status, { 'content-type': 'text/plain', 'content-length': body.length, 'x-app': 'yes' });
  ctx.rw.end(body);
};

interface Env {
  url: string;
  pages: Running;
  close(): Promise<void>;
}

async function env(options: Omit<Parameters<typeof middleware.create>[0], 'service'>, pageService?: Handler): Promise<Env> {
  const pages = await serveUpstream((req, res) => {
    req.resume();
    const body = `<h1>page for ${req.method} ${req.url} host=${req.headers.host} client=${String(req.headers['x-client'])} cl=${String(req.headers['content-length'])}</h1>`;
    res.writeHead(200, { 'content-type': 'text/html', 'x-page': 'yes' });
    res.end(body);
  });
  const pools = new PoolSet();
  const lb = buildLoadBalancer(
    { servers: [{ url: pages.url }] },
    {
      name: 'pages@file',
      pools,
      transport: undefined,
      transportName: '',
      log: silentLogger,
      onClose: () => undefined,
    },
  );
  const deps = testDeps({
    service: (name) => {
      if (name === 'pages') return pageService ?? lb.handler;
      throw new Error(`the service "${name}" does not exist`);
    },
  });
  const gw = await serveHandler(middleware.create({ ...options, service: 'pages' }, deps)(app));
  return {
    url: gw.url,
    pages,
    close: async () => {
      await gw.close();
      await pools.close(100);
      await pages.close();
    },
  };
}

test('a watched status gets the error page with the original status; others pass through', async () => {
  const e = await env({ status: ['500-599', '404'], query: '/{status}.html' });
  try {
    const ok = await send(`${e.url}/fine`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'app says 200: internal details');
    const r = await send(`${e.url}/s/503?x=1`, { headers: { host: 'calc.test:8000', 'x-client': 'c1' } });
    assert.equal(r.status, 503);
    assert.equal(r.body, '<h1>page for GET /503.html host=calc.test:8000 client=c1 cl=undefined</h1>');
    assert.equal(r.headers['content-type'], 'text/html');
    assert.equal(r.headers['x-page'], 'yes');
    assert.equal(r.headers['x-app'], undefined, 'the application response is discarded');
    const nf = await send(`${e.url}/s/404`);
    assert.equal(nf.status, 404);
    assert.match(nf.body, /page for GET \/404\.html/);
    const teapot = await send(`${e.url}/s/418`);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.body, 'app says 418: internal details');
  } finally {
    await e.close();
  }
});

test('the error request is a GET without body even for a POST', async () => {
  const e = await env({ status: ['500'], query: 'oops' });
  try {
    const r = await send(`${e.url}/s/500`, { method: 'POST', body: 'data' });
    assert.equal(r.status, 500);
    assert.match(r.body, /page for GET \/oops host=.* cl=undefined/);
  } finally {
    await e.close();
  }
});

test('statusRewrites change the status sent; {status}, {originalStatus} and {url} are filled in', async () => {
  const e = await env({
    status: ['418', '502-504'],
    statusRewrites: { '418': 404, '502-504': '500' },
    query: '/e/{status}/{originalStatus}?u={url}',
  });
  try {
    const r = await send(`${e.url}/s/418?a=b`);
    assert.equal(r.status, 404);
    assert.match(r.body, /page for GET \/e\/404\/418\?u=%2Fs%2F418%3Fa%3Db /);
    const g = await send(`${e.url}/s/504`);
    assert.equal(g.status, 500);
  } finally {
    await e.close();
  }
});

test('a failing error service falls back to the status text', async () => {
  const broken: Handler = (ctx) => ctx.rw.destroy(new Error('down'));
  const e = await env({ status: ['500-599'] }, broken);
  try {
    const r = await send(`${e.url}/s/502`);
    assert.equal(r.status, 502);
    assert.equal(r.body, 'Bad Gateway');
  } finally {
    await e.close();
  }
});

test('invalid options are rejected', () => {
  const deps = testDeps();
  assert.throws(() => middleware.create({ status: ['5xx'], service: 'x' }, deps), /^MiddlewareOptionError: status: "5xx"/);
  assert.throws(() => middleware.create({ status: ['599-500'], service: 'x' }, deps), /^MiddlewareOptionError: status:/);
  assert.throws(() => middleware.create({ status: ['500'], service: 'x', statusRewrites: { '500': 'abc' } }, deps), /statusRewrites\.500/);
  assert.throws(
    () => middleware.create({ status: ['500'], service: 'nope' }, deps),
    /^MiddlewareOptionError: service: service "nope" does not exist/,
  );
  assert.deepEqual(parseCodeRanges(['404,500-599']), [
    [404, 404],
    [500, 599],
  ]);
});
