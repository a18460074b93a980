/**
 * Services against real upstreams: weighted round robin, health checks that
 * take a server out and put it back, sticky cookies, weighted services,
 * mirroring and failover.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, eventually, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
const servers: Server[] = [];
const ports: number[] = [];
const healthy = [true, true, true];
const mirrored: string[] = [];

async function up(name: string, i: number): Promise<void> {
  const s = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = healthy[i] ? 200 : 500;
      res.end();
      return;
    }
    if (name === 'mirror') {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        mirrored.push(`${req.method} ${req.url} ${b}`);
        res.end('mirror');
      });
      return;
    }
    req.resume();
    req.on('end', () => res.end(name));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  ports.push((s.address() as AddressInfo).port);
}

before(async () => {
  await up('a', 0);
  await up('b', 1);
  await up('c', 2);
  await up('mirror', 3);
  const [a, b, c, m] = ports;
  gw = await startGateway({
    files: {
      's.yaml': `
http:
  routers:
    wrr: { rule: Host(\`wrr.test\`), service: wrr }
    hc: { rule: Host(\`hc.test\`), service: hc }
    sticky: { rule: Host(\`sticky.test\`), service: sticky }
    weighted: { rule: Host(\`weighted.test\`), service: weighted }
    mirror: { rule: Host(\`mirror.test\`), service: mirrored }
    failover: { rule: Host(\`failover.test\`), service: failover }
  services:
    wrr:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${a}", weight: 3 }, { url: "http://127.0.0.1:${b}", weight: 1 }]
    hc:
      loadBalancer:
        healthCheck: { path: /health, interval: 200ms, timeout: 500ms }
        servers: [{ url: "http://127.0.0.1:${a}" }, { url: "http://127.0.0.1:${b}" }]
    sticky:
      loadBalancer:
        sticky: { cookie: { name: gh_sticky, httpOnly: true } }
        servers: [{ url: "http://127.0.0.1:${a}" }, { url: "http://127.0.0.1:${b}" }, { url: "http://127.0.0.1:${c}" }]
    only-a: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${a}" }] } }
    only-c: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${c}" }] } }
    only-mirror: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${m}" }] } }
    weighted:
      weighted:
        services: [{ name: only-a, weight: 1 }, { name: only-c, weight: 1 }]
    mirrored:
      mirroring:
        service: only-a
        mirrors: [{ name: only-mirror, percent: 100 }]
    hc-c:
      loadBalancer:
        healthCheck: { path: /health, interval: 200ms, timeout: 500ms }
        servers: [{ url: "http://127.0.0.1:${c}" }]
    failover:
      failover: { service: hc-c, fallback: only-a }
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

async function get(host: string, headers: Record<string, string> = {}): Promise<{ body: string; headers: Record<string, unknown> }> {
  const r = await request(`${gw.url}/x`, { headers: { host, ...headers } });
  return { body: await r.body.text(), headers: r.headers };
}

test('weighted round robin: weights 3:1', async () => {
  const seen: Record<string, number> = {};
  for (let i = 0; i < 40; i++) {
    const { body } = await get('wrr.test');
    seen[body] = (seen[body] ?? 0) + 1;
  }
  assert.deepEqual(seen, { a: 30, b: 10 });
});

test('a server failing its health check leaves the rotation and comes back', async () => {
  healthy[1] = false;
  assert.ok(
    await eventually(async () => {
      const got = new Set<string>();
      for (let i = 0; i < 6; i++) got.add((await get('hc.test')).body);
      return got.size === 1 && got.has('a');
    }, 3000),
    'b taken out',
  );
  healthy[1] = true;
  assert.ok(
    await eventually(async () => {
      const got = new Set<string>();
      for (let i = 0; i < 6; i++) got.add((await get('hc.test')).body);
      return got.has('b');
    }, 3000),
    'b back in rotation',
  );
});

test('sticky cookie keeps a client on one server', async () => {
  const first = await get('sticky.test');
  const cookie = String(first.headers['set-cookie']).split(';')[0]!;
  assert.match(cookie, /^gh_sticky=/);
  assert.match(String(first.headers['set-cookie']), /HttpOnly/);
  for (let i = 0; i < 6; i++) assert.equal((await get('sticky.test', { cookie })).body, first.body);
});

test('weighted service spreads over child services', async () => {
  const got = new Set<string>();
  for (let i = 0; i < 4; i++) got.add((await get('weighted.test')).body);
  assert.deepEqual([...got].sort(), ['a', 'c']);
});

test('mirroring: the main service answers; the mirror gets a copy with the body', async () => {
  const r = await request(`${gw.url}/m?q=1`, { method: 'POST', body: 'payload', headers: { host: 'mirror.test' } });
  assert.equal(await r.body.text(), 'a');
  assert.ok(await eventually(() => mirrored.includes('POST /m?q=1 payload'), 2000), JSON.stringify(mirrored));
});

test('failover: the fallback answers while the main service has no healthy server', async () => {
  assert.equal((await get('failover.test')).body, 'c');
  healthy[2] = false;
  assert.ok(await eventually(async () => (await get('failover.test')).body === 'a', 3000));
  healthy[2] = true;
  assert.ok(await eventually(async () => (await get('failover.test')).body === 'c', 3000));
});
