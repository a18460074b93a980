/**
 * Shutdown drains, it does not cut (issue 11 §5, "connections accepted just
 * after SIGTERM are reset"). With 1 and 2 workers: a connection the gateway
 * accepted before it closed, whose request arrives after, is served (with
 * `Connection: close`) instead of reset; a request in flight finishes; an
 * idle kept-alive connection and an idle HTTP/2 session close at once, so
 * shutdown does not wait out the grace period for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, listenLoopback } from './support/gateway.js';

function config(port: number): string {
  return `http:\n  routers:\n    r:\n      rule: PathPrefix(\`/\`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${port}\n`;
}

/** Everything the server sends until it closes the connection, or the error that ended it. */
function collect(s: Socket): Promise<{ data: string; error: string | null }> {
  return new Promise((resolve) => {
    let data = '';
    s.on('data', (b: Buffer) => (data += b.toString('latin1')));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ data, error: e.code ?? e.message }));
    s.once('close', () => resolve({ data, error: null }));
  });
}

async function connected(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

for (const workers of [1, 2]) {
  test(`shutdown serves what it accepted and closes what is idle (--workers ${workers})`, { timeout: 60_000 }, async () => {
    const origin: Server = createServer((req, res) => {
      const wait = req.url === '/slow' ? 600 : 0;
      setTimeout(() => res.end(`ok ${req.url}`), wait);
    });
    const port = await listenLoopback(origin);
    const gw = await startGateway({
      files: { 'r.yaml': config(port) },
      workers,
      flags: ['--entrypoints.web.transport.lifeCycle.graceTimeOut=30s'],
    });
    try {
      // An idle kept-alive connection (it has had its answer).
      const idle = await connected(gw.port);
      let idleSeen = '';
      idle.on('data', (b: Buffer) => (idleSeen += b.toString('latin1')));
      const idleDone = collect(idle);
      idle.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      while (!idleSeen.endsWith('ok /first')) await sleep(10);
      // A request in flight when the shutdown starts.
      const busy = await connected(gw.port);
      const busyDone = collect(busy);
      busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      // A connection accepted, silent until after the shutdown started.
      const fresh = await connected(gw.port);
      const freshDone = collect(fresh);
      // An idle HTTP/2 session (prior knowledge).
      const h2 = h2connect(gw.url);
      const h2req = h2.request({ ':path': '/h2' });
      h2req.resume();
      await once(h2req, 'end');
      const h2closed = once(h2, 'close');
      h2.on('error', () => undefined);
      await sleep(300); // every connection above has reached a worker

      const started = Date.now();
      const closing = gw.close();
      const b = await busyDone;
      assert.equal(b.error, null);
      assert.match(b.data, /^HTTP\/1\.1 200 [\s\S]*ok \/slow$/);
      assert.match(b.data, /\r\nconnection: close\r\n/i);
      // Nothing is in flight now; the accepted connection sends its request only now.
      await sleep(100);
      fresh.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n');

      const f = await freshDone;
      assert.equal(f.error, null, `the late request is answered, not reset (got ${f.error}, ${JSON.stringify(f.data)})`);
      assert.match(f.data, /^HTTP\/1\.1 200 /);
      assert.match(f.data, /\r\nconnection: close\r\n/i);
      assert.match(f.data, /ok \/late$/);

      const i = await idleDone;
      assert.match(i.data, /ok \/first$/, 'the idle connection had its answer, then was closed');
      await h2closed;
      await closing;
      assert.ok(
        Date.now() - started < 15_000,
        `shutdown did not wait out the 30 s grace period for idle connections (${Date.now() - started} ms)`,
      );
    } finally {
      origin.close();
    }
  });
}
