/**
 * Front Door's origin groups with `--workers 2` (docs/failover.md): each
 * worker probes on its own, and a priority failover and failback hold in
 * every worker, counted per backend over 1,000 requests each way. Apart from
 * failover-origin-group.test.ts because starting workers takes its time.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { startGateway, eventually, listenLoopback } from './support/gateway.js';

interface Backend {
  name: string;
  url: string;
  server: Server;
  /** What /health answers. */
  health: 'ok' | '500';
  /** Requests other than /health. */
  hits: number;
}

async function backend(name: string): Promise<Backend> {
  const b: Backend = { name, url: '', server: null as unknown as Server, health: 'ok', hits: 0 };
  b.server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(b.health === 'ok' ? 200 : 500).end(b.health);
      return;
    }
    b.hits++;
    res.end(name);
  });
  b.url = `http://127.0.0.1:${await listenLoopback(b.server)}`;
  return b;
}

const all: Backend[] = [];
async function make(...names: string[]): Promise<Backend[]> {
  const out = await Promise.all(names.map(backend));
  all.push(...out);
  return out;
}

after(() => {
  for (const x of all) {
    x.server.closeAllConnections();
    x.server.close();
  }
});

const HC = 'healthCheck: { path: /health, interval: 100ms, timeout: 1s }';

async function counted(list: readonly Backend[], fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = list.map((x) => x.hits);
  await fn();
  return Object.fromEntries(list.map((x, i) => [x.name, x.hits - before[i]!]));
}

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  assert.ok(await eventually(fn, ms, 50), what);
}

test('--workers 2: each worker probes, and the priority failover holds across them', { timeout: 55_000 }, async () => {
  const [x, y] = await make('x', 'y');
  x.health = '500';
  const gw2 = await startGateway({
    workers: 2,
    files: {
      'two.yaml': `http:
  routers:
    two: { rule: "Host(\`two.test\`)", service: two }
  services:
    two:
      loadBalancer:
        ${HC}
        servers: [{ url: "${x.url}", priority: 1 }, { url: "${y.url}", priority: 2 }]
`,
    },
  });
  try {
    // 8 kept-alive connections, handed to the workers in turn: 4 each.
    const pool = new Agent({ connections: 8 });
    const burst = async (n: number): Promise<Record<string, number>> =>
      counted([x, y], async () => {
        let next = 0;
        const one = async (): Promise<void> => {
          while (next < n) {
            next++;
            const r = await request(`${gw2.url}/work`, { headers: { host: 'two.test' }, dispatcher: pool });
            await r.body.dump();
          }
        };
        await Promise.all(Array.from({ length: 8 }, one));
      });
    // Once a burst over every connection sees only y, both workers have x down.
    await until('both workers send to priority 2', async () => (await burst(40)).x === 0, 15_000);
    assert.deepEqual(await burst(1000), { x: 0, y: 1000 }, 'priority 1 down in every worker');
    x.health = 'ok';
    await until('both workers back on priority 1', async () => (await burst(40)).y === 0, 15_000);
    assert.deepEqual(await burst(1000), { x: 1000, y: 0 }, 'priority 1 back in every worker');
    await pool.close();
  } finally {
    await gw2.close();
  }
});
