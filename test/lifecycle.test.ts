/**
 * Entry-point life cycle: slow clients hit readTimeout, idle keep-alive
 * connections close after idleTimeout, shutdown drains in-flight requests
 * (and /ping answers 503 meanwhile), access logs in Traefik's formats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, eventually } from './support/gateway.js';

async function upstream(delayMs = 0): Promise<{ port: number; close(): void }> {
  const s = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), delayMs);
    else res.end('ok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

const routes = (port: number): string => `
http:
  routers:
    r: { rule: PathPrefix(\`/\`), service: s }
  services:
    s: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${port}" }] } }
`;

test('a client that sends headers too slowly gets 408 after readTimeout', async () => {
  const up = await upstream();
  const gw = await startGateway({
    files: { 'r.yaml': routes(up.port) },
    flags: ['--entrypoints.web.transport.respondingTimeouts.readTimeout=1s'],
  });
  try {
    const t0 = Date.now();
    const out = await new Promise<string>((resolve) => {
      const s = connect(gw.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      let buf = '';
      s.on('data', (d) => (buf += d.toString()));
      s.on('close', () => resolve(buf));
      setTimeout(() => s.destroy(), 5000);
    });
    const took = Date.now() - t0;
    assert.match(out, /^HTTP\/1\.1 408 /);
    assert.ok(took >= 900 && took < 4000, `closed after ${took} ms`);
  } finally {
    await gw.close();
    up.close();
  }
});

test('an idle keep-alive connection is closed after idleTimeout', async () => {
  const up = await upstream();
  const gw = await startGateway({
    files: { 'r.yaml': routes(up.port) },
    flags: ['--entrypoints.web.transport.respondingTimeouts.idleTimeout=500ms'],
  });
  try {
    const closedAfter = await new Promise<number>((resolve) => {
      const s = connect(gw.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let t = 0;
      s.on('data', () => (t = Date.now()));
      s.on('close', () => resolve(Date.now() - t));
      setTimeout(() => s.destroy(), 5000);
    });
    assert.ok(closedAfter >= 300 && closedAfter < 3000, `closed ${closedAfter} ms after the answer`);
  } finally {
    await gw.close();
    up.close();
  }
});

test('shutdown drains in-flight requests; /ping answers 503 while draining', async () => {
  const up = await upstream(800);
  const gw = await startGateway({
    files: { 'r.yaml': routes(up.port) },
    flags: ['--ping', '--entrypoints.web.transport.lifeCycle.graceTimeOut=5s'],
  });
  try {
    const ping = await request(`${gw.admin}/ping`);
    assert.equal(await ping.body.text(), 'OK');
    const inflight = request(`${gw.url}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    const closing = gw.running.close();
    const r = await inflight;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'slow done');
    await closing;
  } finally {
    up.close();
  }
});

test('access log: Traefik common format and JSON with Traefik field names, secrets never written', async () => {
  const up = await upstream();
  const dir = mkdtempSync(join(tmpdir(), 'gh-al-'));
  const clf = join(dir, 'access.log');
  const json = join(dir, 'access.json');
  const a = await startGateway({ files: { 'r.yaml': routes(up.port) }, flags: ['--accesslog', `--accesslog.filepath=${clf}`] });
  const b = await startGateway({
    files: { 'r.yaml': routes(up.port) },
    flags: ['--accesslog.format=json', `--accesslog.filepath=${json}`],
  });
  try {
    for (const g of [a, b]) {
      const r = await request(`${g.url}/hello?x=1`, { headers: { authorization: 'Bearer super-secret-token', 'user-agent': 'ua-test' } });
      await r.body.dump();
    }
    await a.close();
    await b.close();
    assert.ok(
      await eventually(() => {
        try {
          return readFileSync(clf, 'utf8').includes('/hello') && readFileSync(json, 'utf8').includes('/hello');
        } catch {
          return false;
        }
      }, 3000),
    );
    const line = readFileSync(clf, 'utf8').trim().split('\n').pop()!;
    assert.match(
      line,
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\?x=1 HTTP\/1\.1" 200 2 "-" "ua-test" \d+ "r@file" "http:\/\/127\.0\.0\.1:\d+" \d+ms$/,
    );
    const entry = JSON.parse(readFileSync(json, 'utf8').trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(entry.RequestMethod, 'GET');
    assert.equal(entry.RequestPath, '/hello?x=1');
    assert.equal(entry.DownstreamStatus, 200);
    assert.equal(entry.OriginStatus, 200);
    assert.equal(entry.RouterName, 'r@file');
    assert.equal(entry.ServiceName, 's@file');
    assert.equal(entry.ClientHost, '127.0.0.1');
    assert.equal(typeof entry.Duration, 'number');
    for (const f of [clf, json]) assert.ok(!readFileSync(f, 'utf8').includes('super-secret-token'));
  } finally {
    up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeTimeout aborts a response that takes longer to write', async () => {
  const up = await upstream(3000);
  const gw = await startGateway({
    files: { 'r.yaml': routes(up.port) },
    flags: ['--entrypoints.web.transport.respondingTimeouts.writeTimeout=500ms'],
  });
  try {
    const t0 = Date.now();
    await assert.rejects(request(`${gw.url}/slow`).then((r) => r.body.text()));
    assert.ok(Date.now() - t0 < 2500, `aborted after ${Date.now() - t0} ms`);
  } finally {
    await gw.close();
    up.close();
  }
});
