/**
 * With 2 workers, consecutive requests alternate backends as with 1 worker
 * (issue 11, section 3). node:cluster hands connections to the workers in
 * turn; each worker starts its round robin one server further and steps past
 * the servers the other worker takes (src/services/worker-phase.ts), so a
 * client that opens a connection per request sees A B A B, not A A B B.
 * Requests on one kept-alive connection stay on one worker and alternate too.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { startGateway, type TestGateway } from './support/gateway.js';
import { workerPhase } from '../src/services/worker-phase.js';

let gw: TestGateway;
const servers: Server[] = [];

before(async () => {
  const ports: number[] = [];
  for (const name of ['a', 'b']) {
    const s = createServer((_req, res) => res.end(name));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as AddressInfo).port);
  }
  gw = await startGateway({
    workers: 2,
    files: {
      'rr.yaml': `
http:
  routers:
    rr: { rule: Host(\`rr.test\`), service: rr }
  services:
    rr:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${ports[0]}" }, { url: "http://127.0.0.1:${ports[1]}" }]
`,
    },
  });
});

after(async () => {
  await gw.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

function fresh(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, path: '/', agent: false, headers: { host: 'rr.test' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the phase of a worker: index from its id, count from GATEHOUSE_WORKERS; one process is phase 0 of 1', () => {
  assert.deepEqual(workerPhase({ GATEHOUSE_WORKERS: '2' }, 1), { index: 0, count: 2 });
  assert.deepEqual(workerPhase({ GATEHOUSE_WORKERS: '2' }, 2), { index: 1, count: 2 });
  assert.deepEqual(workerPhase({ GATEHOUSE_WORKERS: '2' }, 3), { index: 0, count: 2 });
  assert.deepEqual(workerPhase({}, undefined), { index: 0, count: 1 });
  assert.deepEqual(workerPhase({ GATEHOUSE_WORKERS: '1' }, 1), { index: 0, count: 1 });
});

test('2 workers, a new connection per request: consecutive requests alternate backends', async () => {
  const got: string[] = [];
  for (let i = 0; i < 8; i++) got.push(await fresh());
  for (let i = 1; i < got.length; i++)
    assert.notEqual(got[i], got[i - 1], `requests ${i - 1} and ${i} hit the same backend: ${got.join(' ')}`);
});

test('2 workers, one kept-alive connection: consecutive requests alternate backends', async () => {
  const pool = new Pool(gw.url, { connections: 1 });
  try {
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await pool.request({ path: '/', method: 'GET', headers: { host: 'rr.test' } });
      got.push(await r.body.text());
    }
    for (let i = 1; i < got.length; i++) assert.notEqual(got[i], got[i - 1], got.join(' '));
  } finally {
    await pool.close();
  }
});
