/**
 * Reloads under load lose nothing when a middleware waits before proxying
 * (issue 11 §5): with 2 workers, `rateLimit` asks the primary over the
 * cluster backplane, so a request can still be in the middleware when a
 * reload swaps the configuration. Its old runtime used to close its pools at
 * once, and such requests got 502. Now a runtime retires only once the
 * exchanges that entered it are over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { startGateway, listenLoopback } from './support/gateway.js';

const routes = (port: number, n: number): string => `http:
  routers:
    calc:
      rule: PathPrefix(\`/\`)
      service: calc
      middlewares: [limit]
    marker${n}:
      rule: Host(\`marker${n}.test\`)
      service: calc
  middlewares:
    limit:
      rateLimit:
        average: 100000
        burst: 100000
  services:
    calc:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${port}
`;

test('no 502 during reloads with 2 workers and an asynchronous middleware (rateLimit)', { timeout: 90_000 }, async () => {
  const origin = createServer((_req, res) => res.end('20'));
  const port = await listenLoopback(origin);
  const gw = await startGateway({ workers: 2, files: { 'routes.yaml': routes(port, 0) } });
  const agent = new Agent({ connections: 16, pipelining: 1 });
  const counts = new Map<number, number>();
  let stop = false;
  try {
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await request(`${gw.url}/add/10/10`, { dispatcher: agent });
          await r.body.dump();
          counts.set(r.statusCode, (counts.get(r.statusCode) ?? 0) + 1);
        } catch {
          counts.set(0, (counts.get(0) ?? 0) + 1);
        }
      }
    };
    const clients = Array.from({ length: 16 }, () => client());
    for (let i = 1; i <= 12; i++) {
      await new Promise((r) => setTimeout(r, 300));
      gw.write('routes.yaml', routes(port, i));
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(clients);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    assert.ok((counts.get(200) ?? 0) > 500, `enough traffic: ${JSON.stringify([...counts])}`);
    assert.equal(total - (counts.get(200) ?? 0), 0, `every answer is 200: ${JSON.stringify([...counts])}`);
  } finally {
    stop = true;
    await agent.close();
    await gw.close();
    origin.close();
  }
});
