/**
 * Several workers (node:cluster) share the listening socket; the primary
 * compiles configuration and sends snapshots; rateLimit holds across workers.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { createServer, type Server } from 'node:http';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';

let gw: TestGateway;
let up: Server;

before(async () => {
  up = createServer((req, res) => res.end(`ok ${req.headers['x-worker'] ?? ''}`));
  const port = await listenLoopback(up);
  gw = await startGateway({
    workers: 2,
    flags: ['--api.insecure'],
    files: {
      'r.yaml': `
http:
  routers:
    plain:
      rule: Host(\`plain.test\`)
      service: s
    limited:
      rule: Host(\`limited.test\`)
      service: s
      middlewares: [limit]
  middlewares:
    limit:
      rateLimit:
        average: 6
        period: 1m
        burst: 6
  services:
    s:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
    },
  });
});

after(async () => {
  await gw.close();
  up.close();
});

test('two workers serve requests', async () => {
  // Fresh connections spread over both workers (the OS balances accepts).
  for (let i = 0; i < 30; i++) {
    const agent = new Agent({ pipelining: 0 });
    const r = await request(`${gw.url}/`, { headers: { host: 'plain.test' }, dispatcher: agent });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    await agent.close();
  }
});

test('rateLimit holds across workers: 6 per minute in total', async () => {
  let allowed = 0;
  let limited = 0;
  for (let i = 0; i < 20; i++) {
    const agent = new Agent({ pipelining: 0 });
    const r = await request(`${gw.url}/`, { headers: { host: 'limited.test' }, dispatcher: agent });
    if (r.statusCode === 200) allowed++;
    else if (r.statusCode === 429) limited++;
    await r.body.dump();
    await agent.close();
  }
  assert.equal(allowed, 6, `allowed ${allowed}, limited ${limited}`);
  assert.equal(limited, 14);
});

test('a configuration change reaches every worker', async () => {
  gw.write(
    'extra.yaml',
    `
http:
  routers:
    extra:
      rule: Host(\`extra.test\`)
      service: noop@internal
`,
  );
  const ok = await eventually(async () => {
    const codes = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const agent = new Agent({ pipelining: 0 });
      const r = await request(`${gw.url}/`, { headers: { host: 'extra.test' }, dispatcher: agent });
      codes.add(r.statusCode);
      await r.body.dump();
      await agent.close();
    }
    return codes.size === 1 && codes.has(418);
  }, 3000);
  assert.ok(ok, 'every worker answers with the new router');
});
