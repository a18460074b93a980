/**
 * Front Door's origin groups in the loadBalancer service (docs/failover.md),
 * through the real gateway in front of real node:http backends on loopback:
 * priority failover and failback as probes fail (500, or the connection
 * closed) and recover, weights within a priority, the latency band, each
 * `allDown` mode, the per-server host header, the API's `serverHealth`, and
 * the validation errors. Requests are counted per backend (at the backend).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import { chromium } from 'playwright-core';
import { statMain } from '../src/cli/stat.js';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';

interface Backend {
  name: string;
  url: string;
  server: Server;
  /** What /health does: answer 200, answer 500, or close the connection without answering. */
  health: 'ok' | '500' | 'close';
  /** ms before /health answers. */
  healthDelay: number;
  /** Requests other than /health. */
  hits: number;
  /** Host header of the last probe and of the last request. */
  probeHost: string;
  requestHost: string;
}

async function backend(name: string): Promise<Backend> {
  const b: Backend = {
    name,
    url: '',
    server: null as unknown as Server,
    health: 'ok',
    healthDelay: 0,
    hits: 0,
    probeHost: '',
    requestHost: '',
  };
  b.server = createServer((req, res) => {
    if (req.url === '/health') {
      b.probeHost = req.headers.host ?? '';
      const answer = (): void => {
        if (b.health === 'close') req.socket.destroy();
        else res.writeHead(b.health === 'ok' ? 200 : 500).end(b.health);
      };
      if (b.healthDelay > 0) setTimeout(answer, b.healthDelay);
      else answer();
      return;
    }
    b.hits++;
    b.requestHost = req.headers.host ?? '';
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

const [a, b, c] = await make('a', 'b', 'c');
const [open1, open2, closed1, plain1, prio1] = await make('open1', 'open2', 'closed1', 'plain1', 'prio1');
const [fast, slow] = await make('fast', 'slow');
const [hosted] = await make('hosted');
const HC = 'healthCheck: { path: /health, interval: 100ms, timeout: 1s }';
let gw: TestGateway;
const client = new Agent({ connections: 16 });

before(async () => {
  for (const x of [open1, open2, closed1, plain1, prio1]) x.health = '500';
  gw = await startGateway({
    flags: ['--api.insecure', '--metrics.prometheus'],
    files: {
      'origin.yaml': `http:
  routers:
    group: { rule: "Host(\`group.test\`)", service: group }
    open: { rule: "Host(\`open.test\`)", service: open }
    closed: { rule: "Host(\`closed.test\`)", service: closed }
    plain: { rule: "Host(\`plain.test\`)", service: plain }
    prio: { rule: "Host(\`prio.test\`)", service: prio }
    band: { rule: "Host(\`band.test\`)", service: band }
    hosted: { rule: "Host(\`hosted.test\`)", service: hosted }
  services:
    group:
      loadBalancer:
        latencySensitivity: 1000
        healthCheck: { path: /health, interval: 100ms, timeout: 1s, sampleSize: 3, successfulSamplesRequired: 2 }
        servers:
          - { url: "${a.url}", priority: 1, weight: 3 }
          - { url: "${b.url}", priority: 1, weight: 1 }
          - { url: "${c.url}", priority: 2, weight: 5 }
    open:
      loadBalancer:
        allDown: failOpen
        ${HC}
        servers: [{ url: "${open1.url}", priority: 1 }, { url: "${open2.url}", priority: 2 }]
    closed:
      loadBalancer:
        allDown: failClosed
        ${HC}
        servers: [{ url: "${closed1.url}" }]
    plain:
      loadBalancer:
        ${HC}
        servers: [{ url: "${plain1.url}" }]
    prio:
      loadBalancer:
        ${HC}
        servers: [{ url: "${prio1.url}", priority: 1 }]
    band:
      loadBalancer:
        latencySensitivity: 200
        healthCheck: { path: /health, interval: 100ms, timeout: 2s }
        servers: [{ url: "${fast.url}", weight: 1 }, { url: "${slow.url}", weight: 1 }]
    hosted:
      loadBalancer:
        hostHeader: service.example
        ${HC}
        servers: [{ url: "${hosted.url}", hostHeader: origin.example, priority: 1 }]
    bad-priority:
      loadBalancer:
        servers: [{ url: "${a.url}", priority: 7 }]
    bad-weight:
      loadBalancer:
        servers: [{ url: "${a.url}", priority: 1, weight: 2000 }]
    big-weight-traefik:
      loadBalancer:
        servers: [{ url: "${a.url}", weight: 2000 }]
    bad-status:
      loadBalancer:
        healthCheck: { path: /health, status: "200-29x" }
        servers: [{ url: "${a.url}" }]
    bad-samples:
      loadBalancer:
        healthCheck: { path: /health, sampleSize: 2, successfulSamplesRequired: 3 }
        servers: [{ url: "${a.url}" }]
    list-status:
      loadBalancer:
        healthCheck: { path: /health, status: ["200-299", "404"] }
        servers: [{ url: "${a.url}" }]
`,
    },
  });
});

after(async () => {
  await gw?.close();
  await client.close();
  for (const x of all) {
    x.server.closeAllConnections();
    x.server.close();
  }
});

/** `n` requests to `host`, 16 at a time; resolves to the statuses seen. */
async function send(host: string, n: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const r = await request(`${gw.url}/work`, { headers: { host }, dispatcher: client });
      await r.body.dump();
      statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return statuses;
}

/** Hits per backend during `fn`. */
async function counted(list: readonly Backend[], fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = list.map((x) => x.hits);
  await fn();
  return Object.fromEntries(list.map((x, i) => [x.name, x.hits - before[i]!]));
}

interface ServerHealthJson {
  up: boolean;
  weight: number;
  priority: number;
  inRotation: boolean;
  latencyMs: number | null;
  reason?: string;
  lastProbes: Array<{ at: string; ok: boolean; status?: number; error?: string; latencyMs: number }>;
}
interface ServiceJson {
  status: string;
  error?: string[];
  serverStatus?: Record<string, string>;
  serverHealth?: Record<string, ServerHealthJson>;
}

async function service(name: string): Promise<ServiceJson> {
  const r = await request(`${gw.admin}/api/http/services/${name}@file`);
  return (await r.body.json()) as ServiceJson;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  assert.ok(await eventually(fn, ms, 50), what);
}

const health = async (svc: string, x: Backend): Promise<ServerHealthJson | undefined> => (await service(svc)).serverHealth?.[x.url];
const isUp = async (svc: string, x: Backend, up: boolean): Promise<boolean> => (await health(svc, x))?.up === up;

test('priority 1, 1, 2 with weights: probes failing and recovering move the traffic as Front Door does', { timeout: 50_000 }, async () => {
  const group = [a, b, c];
  await until('every server of the group probed and up', async () => {
    const h = (await service('group')).serverHealth ?? {};
    return group.every((x) => h[x.url]?.up === true && h[x.url]!.lastProbes.length > 0);
  });

  // Everything up: priority 1 takes all of it, 3:1 by weight; priority 2 is the standby.
  let n = await counted(group, () => send('group.test', 1200));
  assert.deepEqual(n, { a: 900, b: 300, c: 0 }, 'all up: a and b by weight 3:1, c none');
  const h0 = (await service('group')).serverHealth!;
  assert.deepEqual(
    [h0[a.url]!.priority, h0[a.url]!.weight, h0[a.url]!.inRotation, h0[c.url]!.priority, h0[c.url]!.inRotation],
    [1, 3, true, 2, false],
  );

  // a's probes answer 500: once 2 of its last 3 fail, b (the other priority 1) takes everything.
  a.health = '500';
  await until('a is down', () => isUp('group', a, false));
  const ha = (await health('group', a))!;
  assert.match(ha.reason ?? '', /status 500 \(expected 2xx or 3xx\)/, 'the reason names the status');
  assert.match(ha.reason ?? '', /of the last 3 probes passed \(2 required\)/, 'the reason counts the window');
  assert.equal(ha.lastProbes.at(-1)!.status, 500);
  assert.equal(ha.lastProbes.at(-1)!.ok, false);
  assert.equal((await service('group')).serverStatus?.[a.url], 'DOWN', 'serverStatus is kept as it was');
  n = await counted(group, () => send('group.test', 1000));
  assert.deepEqual(n, { a: 0, b: 1000, c: 0 }, 'a down: b alone');

  // b's probes get the connection closed: priority 1 is empty, priority 2 takes over.
  b.health = 'close';
  await until('b is down', () => isUp('group', b, false));
  assert.match((await health('group', b))!.reason ?? '', /probe GET \/health: connection closed before an answer/);
  assert.ok((await health('group', b))!.lastProbes.at(-1)!.error !== undefined, 'a closed connection is an error, not a status');
  n = await counted(group, () => send('group.test', 1000));
  assert.deepEqual(n, { a: 0, b: 0, c: 1000 }, 'priority 1 down: failover to priority 2');

  // a recovers (2 passes of 3 needed): traffic fails back to priority 1.
  a.health = 'ok';
  await until('a is up again', () => isUp('group', a, true));
  assert.equal((await health('group', a))!.reason, undefined);
  n = await counted(group, () => send('group.test', 1000));
  assert.deepEqual(n, { a: 1000, b: 0, c: 0 }, 'a back: priority 1 again, c idle');

  // b recovers: 3:1 again.
  b.health = 'ok';
  await until('b is up again', () => isUp('group', b, true));
  n = await counted(group, () => send('group.test', 1200));
  assert.deepEqual(n, { a: 900, b: 300, c: 0 }, 'all up again: 3:1');
});

test(
  'all servers down: failOpen sends to the best priority, failClosed answers GH_ALL_SERVERS_DOWN, absent stays Traefik',
  { timeout: 30_000 },
  async () => {
    await until('every server of open, closed, plain and prio is down', async () =>
      (
        await Promise.all([
          isUp('open', open1, false),
          isUp('open', open2, false),
          isUp('closed', closed1, false),
          isUp('plain', plain1, false),
          isUp('prio', prio1, false),
        ])
      ).every(Boolean),
    );
    const n = await counted([open1, open2], () => send('open.test', 200));
    assert.deepEqual(n, { open1: 200, open2: 0 }, 'failOpen: the best priority as if healthy');
    assert.equal((await health('open', open1))!.inRotation, true);
    assert.deepEqual(await send('closed.test', 20), { 503: 20 });
    assert.deepEqual(await send('plain.test', 20), { 503: 20 });
    assert.deepEqual(await send('prio.test', 20), { 503: 20 });
    assert.equal(closed1.hits + plain1.hits + prio1.hits, 0);
    await until('the codes are counted apart', async () => {
      const text = await (await request(`${gw.admin}/metrics`)).body.text();
      return (
        /gatehouse_answers_total\{code="GH_ALL_SERVERS_DOWN",entrypoint="web"\} 20\b/.test(text) &&
        /gatehouse_answers_total\{code="GH_NO_HEALTHY_SERVER",entrypoint="web"\} 40\b/.test(text) &&
        /traefik_service_server_up\{service="closed@file",url="[^"]+"\} 0/.test(text)
      );
    });

    // The down server comes back: failOpen ends, and failClosed serves again.
    open2.health = 'ok';
    closed1.health = 'ok';
    await until('open2 and closed1 up', async () => (await isUp('open', open2, true)) && (await isUp('closed', closed1, true)));
    assert.deepEqual(
      await counted([open1, open2], () => send('open.test', 100)),
      { open1: 0, open2: 100 },
      'the healthy priority 2 over the down priority 1',
    );
    assert.deepEqual(await send('closed.test', 10), { 200: 10 });
  },
);

test('latency band: a server whose probes answer 600 ms later leaves the band, and comes back', { timeout: 30_000 }, async () => {
  // The band is 200 ms wide: wide enough for the event loop this test shares with the gateway and the backends.
  slow.healthDelay = 600;
  await until('slow measured above 600ms', async () => ((await health('band', slow))?.latencyMs ?? 0) >= 600);
  const hs = (await health('band', slow))!;
  assert.equal(hs.up, true, 'slow is healthy, only slower');
  assert.equal(hs.inRotation, false);
  assert.ok(hs.lastProbes.at(-1)!.latencyMs >= 600);
  let n = await counted([fast, slow], () => send('band.test', 1000));
  assert.deepEqual(n, { fast: 1000, slow: 0 }, 'outside the band of 200 ms: none');

  slow.healthDelay = 0;
  await until('slow back in the band', async () => (await health('band', slow))?.inRotation === true);
  n = await counted([fast, slow], () => send('band.test', 1000));
  assert.deepEqual(n, { fast: 500, slow: 500 }, 'inside the band: by weight');
});

test("a server's hostHeader: sent to it and on its probes, over the service's", async () => {
  await until('hosted probed', async () => hosted.probeHost !== '');
  assert.equal(hosted.probeHost, 'origin.example');
  await send('hosted.test', 1);
  assert.equal(hosted.requestHost, 'origin.example');
});

test('validation: errors name the field; Traefik weights above 1000 stay valid without origin-group settings', async () => {
  const err = async (name: string): Promise<string> => {
    const s = await service(name);
    assert.equal(s.status, 'disabled', `${name} is disabled`);
    return (s.error ?? []).join('\n');
  };
  // A schema error: the file provider leaves the service out and says where.
  const overview = (await (await request(`${gw.admin}/api/overview`)).body.json()) as { errors: string[] };
  const line = overview.errors.find((e) => e.includes('bad-priority'));
  assert.match(line ?? '', /origin\.yaml:\d+: .*servers\.0\.priority: .*5, got 7/);
  // Errors of meaning: the service is disabled with the message, and the issue names the field.
  assert.match(await err('bad-weight'), /weight 2000 is above 1000/);
  assert.match(await err('bad-status'), /"200-29x" is not a status code or a range/);
  assert.match(await err('bad-samples'), /3 is more than sampleSize 2/);
  const issue = (name: string): string => overview.errors.find((e) => e.includes(`${name}`)) ?? '';
  assert.match(issue('bad-weight'), /servers\[0\]\.weight/);
  assert.match(issue('bad-status'), /healthCheck\.status/);
  assert.match(issue('bad-samples'), /healthCheck\.successfulSamplesRequired/);
  assert.equal((await service('big-weight-traefik')).status, 'enabled');
  assert.equal((await service('list-status')).status, 'enabled');
});

test('why a server is down: gatehouse stat prints it under the table', async () => {
  const out = { s: '', write: (x: string) => (out.s += x) };
  const err = { s: '', write: (x: string) => (err.s += x) };
  assert.equal(await statMain(['services', '--admin', gw.admin], {}, out, err), 0, err.s);
  assert.match(out.s, /DOWN SERVERS\nSERVICE\s+SERVER\s+PRIORITY\s+REASON\n/);
  assert.match(
    out.s,
    new RegExp(`plain@file\\s+${plain1.url.replace(/\./g, '\\.')}\\s+1\\s+probe GET /health: status 500 \\(expected 2xx or 3xx\\)`),
  );
  const one = { s: '', write: (x: string) => (one.s += x) };
  assert.equal(await statMain(['services', 'prio', '--admin', gw.admin], {}, one, err), 0, err.s);
  assert.match(one.s, /prio@file\s+http:\S+\s+1\s+probe GET \/health: status 500/);
  assert.doesNotMatch(one.s, /plain@file/, 'one service: its own servers only');
});

test('why a server is down: the dashboard shows it in the service detail (headless Chromium)', async (t) => {
  const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? process.env.CHROMIUM_PATH;
  if (chromiumPath === undefined || !existsSync(chromiumPath)) {
    t.skip('Chromium is not installed');
    return;
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gw.admin}/dashboard/#service/plain%40file`, { waitUntil: 'load' });
    const end = Date.now() + 15_000;
    let text = '';
    while (Date.now() < end) {
      text = (await page.evaluate(
        'document.getElementById("detail-config") ? document.getElementById("detail-config").innerText : ""',
      )) as string;
      if (text.includes('status 500 (expected 2xx or 3xx)')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /DOWN priority 1, weight 1/);
    assert.match(text, /probe GET \/health: status 500 \(expected 2xx or 3xx\)/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
