/**
 * Correctness checks for the three prototypes against a node origin on
 * loopback: `node --import tsx bench/experiments/check.ts [mode...]`.
 * Exits non-zero when a check fails. Everything it starts is closed at the end.
 */
import { createServer, request, Agent, type Server as HttpServer } from 'node:http';
import { connect, type Server } from 'node:net';
import { strict as assert } from 'node:assert';
import { createProxy, type Mode } from './proxy-main.js';

function listen(s: HttpServer | Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
}

let originConns = 0;
const origin = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('hello ');
      setTimeout(() => res.end('world'), 5);
      return;
    }
    if (req.url === '/close-delimited') {
      req.socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil-close body');
      return;
    }
    if (req.url === '/die') {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', connection: 'x-secret', 'x-secret': 'leak', 'keep-alive': 'timeout=5' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLen: body.length, bodySum: sum(body) }));
  });
});
origin.on('connection', () => originConns++);

function sum(b: Buffer): number {
  let s = 0;
  for (const x of b) s = (s + x) % 65521;
  return s;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | Buffer[]): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, headers, agent, timeout: 3000 }, (res) => {
      let s = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (s += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: s }));
    });
    r.on('error', reject);
    r.on('timeout', () => r.destroy(new Error('timeout')));
    if (Array.isArray(body)) {
      for (const b of body) r.write(b);
      r.end();
    } else r.end(body);
  });
}

/** Send raw bytes, collect everything until the server closes (or 1.5 s). */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => s.destroy(), 1500);
    s.setEncoding('latin1');
    s.on('data', (c: string) => (out += c));
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('error', () => undefined);
    s.write(data);
  });
}

async function checkMode(mode: Mode, originPort: number): Promise<string[]> {
  const failures: string[] = [];
  const { server, pool } = createProxy(mode, `http://127.0.0.1:${originPort}`);
  const port = await listen(server);
  const dead = createProxy(mode, 'http://127.0.0.1:1');
  const deadPort = await listen(dead.server);
  const t = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${mode}: ${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  const smuggle = mode !== 'node-http'; // node:http's own parser is what (c) relies on
  await t('forward + hop-by-hop + XFF', async () => {
    const r = await call(port, 'GET', '/a/b?x=1&y=%20', { 'x-custom': 'v', connection: 'x-drop', 'x-drop': '1', te: 'gzip', 'x-forwarded-for': '1.2.3.4' });
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(j.method, 'GET');
    assert.equal(j.url, '/a/b?x=1&y=%20');
    assert.equal(j.headers['x-custom'], 'v');
    assert.equal(j.headers['x-drop'], undefined);
    assert.equal(j.headers.te, undefined);
    assert.equal(j.headers['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    assert.equal(r.headers['x-secret'], undefined, 'response header named by Connection leaked');
    assert.equal(r.headers['keep-alive'] === 'timeout=5', false);
  });
  await t('content-length body streamed', async () => {
    const body = Buffer.alloc(300_000, 7);
    const r = await call(port, 'POST', '/p', { 'content-length': String(body.length) }, body);
    const j = JSON.parse(r.body) as { bodyLen: number; bodySum: number };
    assert.equal(j.bodyLen, body.length);
    assert.equal(j.bodySum, sum(body));
  });
  await t('chunked request body', async () => {
    const parts = [Buffer.from('abc'), Buffer.alloc(70_000, 1), Buffer.from('xyz')];
    const r = await call(port, 'POST', '/p', { 'transfer-encoding': 'chunked' }, parts);
    const j = JSON.parse(r.body) as { bodyLen: number; headers: Record<string, string> };
    assert.equal(j.bodyLen, 70_006);
    assert.equal(j.headers['transfer-encoding'], 'chunked');
  });
  await t('chunked response', async () => {
    const r = await call(port, 'GET', '/chunked', {});
    assert.equal(r.body, 'hello world');
  });
  await t('close-delimited response', async () => {
    const r = await call(port, 'GET', '/close-delimited', {});
    assert.equal(r.body, 'until-close body');
  });
  await t('keep-alive both ways', async () => {
    const before = originConns;
    for (let i = 0; i < 20; i++) assert.equal((await call(port, 'GET', '/k', {})).status, 200);
    assert.ok(originConns - before <= 1, `origin saw ${originConns - before} new connections`);
  });
  await t('502 when upstream is down', async () => {
    assert.equal((await call(deadPort, 'GET', '/', {})).status, 502);
  });
  await t('502 when upstream dies', async () => {
    assert.equal((await call(port, 'GET', '/die', {})).status, 502);
  });
  await t('pipelined requests answered in order', async () => {
    const out = await raw(port, 'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const i1 = out.indexOf('"/one"');
    const i2 = out.indexOf('"/two"');
    assert.ok(i1 > 0 && i2 > i1, 'both answers, in order');
  });
  const bad: Array<[string, string]> = [
    ['CL + TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['TE not chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n'],
    ['bare LF', 'GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello'],
    ['conflicting CL', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n'],
    ['missing Host', 'GET / HTTP/1.1\r\n\r\n'],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n'],
  ];
  if (smuggle) {
    for (const [name, data] of bad) {
      await t(`refuses ${name}`, async () => {
        const out = await raw(port, data);
        // a body error after the head was forwarded can only abort the connection
        if (name === 'bad chunk size' && out === '') return;
        assert.match(out.slice(0, 12), /^HTTP\/1\.1 (400|501)/, JSON.stringify(out.slice(0, 40)));
        assert.equal(out.indexOf('HTTP/1.1', 5), -1, 'exactly one answer');
      });
    }
    await t('431 on huge head', async () => {
      const out = await raw(port, `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.match(out, /^HTTP\/1\.1 (431|400)/);
    });
  }
  server.close();
  dead.server.close();
  pool.close();
  dead.pool.close();
  return failures;
}

const originPort = await listen(origin);
const modes = (process.argv.length > 2 ? process.argv.slice(2) : ['llhttp', 'js', 'node-http']) as Mode[];
const all: string[] = [];
for (const m of modes) {
  const f = await checkMode(m, originPort);
  process.stdout.write(`${m}: ${f.length === 0 ? 'all checks passed' : `${f.length} failed`}\n`);
  all.push(...f);
}
for (const f of all) process.stdout.write(`FAIL ${f}\n`);
agent.destroy();
origin.closeAllConnections();
origin.close();
process.exit(all.length === 0 ? 0 : 1);
