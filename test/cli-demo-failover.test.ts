/**
 * `gatehouse demo`'s two-region priority failover (docs/failover.md, "How the
 * demo shows it"), run as the real command: region west (the seed's replicas,
 * priority 1) and region east (more calculator replicas, priority 2) behind one
 * origin-group load balancer on `/global/…`. The printed command works as
 * printed; answers are counted per region (the calculator's `x-add-region`)
 * over 200 requests before, during (after "stop west" on the demo's stdin) and
 * after recovery ("start west"); the admin API shows the stopped servers DOWN
 * with a reason, and the seed's own route is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support/gateway.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Answer {
  status: number;
  region: string | null;
  replica: string | null;
  body: string;
}

interface ServerHealth {
  up: boolean;
  priority: number;
  inRotation: boolean;
  reason?: string;
}

interface ServiceView {
  serverStatus: Record<string, 'UP' | 'DOWN'>;
  serverHealth: Record<string, ServerHealth>;
}

/** Region and replica counts of `answers`, and the statuses other than 200. */
function tally(answers: readonly Answer[]): { regions: Record<string, number>; replicas: Record<string, number>; failed: number[] } {
  const regions: Record<string, number> = {};
  const replicas: Record<string, number> = {};
  const failed: number[] = [];
  for (const a of answers) {
    if (a.status !== 200) failed.push(a.status);
    else {
      regions[a.region ?? 'none'] = (regions[a.region ?? 'none'] ?? 0) + 1;
      replicas[a.replica ?? 'none'] = (replicas[a.replica ?? 'none'] ?? 0) + 1;
    }
  }
  return { regions, replicas, failed };
}

test('demo: two regions behind one origin group, "stop west" moves /global/ to east within the probe window and "start west" brings it back', async () => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(tmpdir(), 'gh-demo-failover-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'demo',
      `--port=${port}`,
      `--admin-port=${adminPort}`,
      '--replicas=2',
      '--east-replicas=2',
      '--rate=0',
      '--workers=1',
      `--datadir=${data}`,
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const admin = `http://127.0.0.1:${adminPort}`;
  const global = `http://127.0.0.1:${port}/global/add/1/2`;
  const call = async (url = global): Promise<Answer> => {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return {
      status: res.status,
      region: res.headers.get('x-add-region'),
      replica: res.headers.get('x-add-replica'),
      body: await res.text(),
    };
  };
  const calls = async (n: number): Promise<Answer[]> => {
    const got: Answer[] = [];
    for (let i = 0; i < n; i++) got.push(await call());
    return got;
  };
  /** Call until an answer comes from `region`; the answers before it, and the ms it took. */
  const untilRegion = async (region: string, ms: number): Promise<{ before: Answer[]; tookMs: number }> => {
    const t0 = Date.now();
    const before: Answer[] = [];
    while (Date.now() - t0 < ms) {
      const a = await call();
      if (a.status === 200 && a.region === region) return { before, tookMs: Date.now() - t0 };
      before.push(a);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`no answer from region ${region} within ${ms} ms; last answers: ${JSON.stringify(before.slice(-3))}\n${out}\n${err}`);
  };
  const service = async (): Promise<ServiceView> =>
    (await (await fetch(`${admin}/api/http/services/calc-global@file`)).json()) as ServiceView;
  const isWest = (url: string): boolean => url.startsWith('http://127.0.0.');
  const isEast = (url: string): boolean => url.startsWith('http://127.0.1.');

  try {
    assert.ok(await eventually(() => out.includes('Ctrl-C stops everything.'), 60_000, 100), `demo did not come up:\n${out}\n${err}`);
    assert.equal(err, '', 'nothing on stderr before a region is stopped');
    assert.match(out, /region west = add-1, add-2 on 127\.0\.0\.x \(priority 1\)/);
    assert.match(out, /region east = east-1, east-2 on 127\.0\.1\.x \(priority 2\)/);
    assert.match(out, /type "stop west" and Enter/);

    // The printed command, run as printed with bash and curl: the sum, the region and the replica that answered.
    const printed = out.split('\n').find((l) => /^ {2}curl .*\/global\/add\/1\/2/.test(l));
    assert.ok(printed !== undefined, out);
    const ran = spawnSync('bash', ['-c', `set -e\n${printed.replace(/\s+#.*$/, '').trim()}`], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(ran.status, 0, ran.stderr);
    assert.match(ran.stdout.trim(), /^3 west add-[12]$/);

    // The load balancer as configured: 2 servers per region, priorities 1 and 2, all up, west in rotation.
    const start = await service();
    const urls = Object.keys(start.serverStatus);
    assert.deepEqual([urls.filter(isWest).length, urls.filter(isEast).length], [2, 2], JSON.stringify(start));
    for (const u of urls) {
      assert.equal(start.serverStatus[u], 'UP', u);
      assert.equal(start.serverHealth[u]?.priority, isWest(u) ? 1 : 2, u);
      assert.equal(start.serverHealth[u]?.inRotation, isWest(u), `${u} in rotation only for west`);
    }

    // Before: every answer from west, shared by its two replicas (the latency band), none from east.
    const before = tally(await calls(200));
    assert.deepEqual(before.failed, []);
    assert.deepEqual(before.regions, { west: 200 }, JSON.stringify(before));
    assert.ok((before.replicas['add-1'] ?? 0) >= 40 && (before.replicas['add-2'] ?? 0) >= 40, JSON.stringify(before.replicas));

    // During: "stop west" on the demo's stdin. Traffic reaches east within the probe window (1 s), then stays there.
    child.stdin.write('stop west\n');
    assert.ok(
      await eventually(
        () => /region west \(priority 1\) stopped: add-1 \(127\.0\.0\.2:\d+\), add-2 \(127\.0\.0\.3:\d+\)/.test(out),
        15_000,
        50,
      ),
      out,
    );
    const moved = await untilRegion('east', 10_000);
    assert.ok(moved.tookMs < 5_000, `traffic moved to east after ${moved.tookMs} ms`);
    assert.ok(
      moved.before.every((a) => a.status === 502 || a.status === 503 || a.region === 'west'),
      `before the move: west answers or the gateway's 502/503 only, got ${JSON.stringify(moved.before.map((a) => a.status))}`,
    );
    const during = tally(await calls(200));
    assert.deepEqual(during.failed, [], 'no failed call once the stopped region is out');
    assert.deepEqual(during.regions, { east: 200 }, JSON.stringify(during));
    assert.ok((during.replicas['east-1'] ?? 0) >= 40 && (during.replicas['east-2'] ?? 0) >= 40, JSON.stringify(during.replicas));

    // The admin API: west's servers DOWN with the probe's reason, east's UP and in rotation.
    const down = await service();
    for (const u of urls) {
      const h = down.serverHealth[u];
      if (isWest(u)) {
        assert.equal(down.serverStatus[u], 'DOWN', u);
        assert.equal(h?.up, false, u);
        assert.equal(h?.inRotation, false, u);
        assert.match(h?.reason ?? '', /^probe GET \/healthz: ECONNREFUSED/, `${u}: ${JSON.stringify(h)}`);
      } else {
        assert.equal(down.serverStatus[u], 'UP', u);
        assert.equal(h?.inRotation, true, u);
        assert.equal(h?.reason, undefined, u);
      }
    }
    assert.match(err, /origin group: traffic goes to priority 2/, 'the gateway logs the move');
    child.stdin.write('stop west\n');
    assert.ok(await eventually(() => out.includes('region west is stopped already'), 10_000, 50), out);

    // After: "start west". Traffic returns to west within the probe window, and east stands by.
    child.stdin.write('start west\n');
    assert.ok(await eventually(() => /region west \(priority 1\) started: add-1 .*, add-2 /.test(out), 15_000, 50), out);
    const back = await untilRegion('west', 10_000);
    assert.ok(back.tookMs < 5_000, `traffic came back to west after ${back.tookMs} ms`);
    const after = tally(await calls(200));
    assert.deepEqual(after.failed, []);
    assert.deepEqual(after.regions, { west: 200 }, JSON.stringify(after));
    assert.ok(
      await eventually(
        async () => {
          const v = await service();
          return urls.every((u) => v.serverStatus[u] === 'UP' && v.serverHealth[u]?.inRotation === isWest(u));
        },
        5_000,
        100,
      ),
      `every server UP, east on standby: ${JSON.stringify(await service())}`,
    );
    assert.match(err, /origin group: traffic goes to priority 1/);

    // The seed's own route on the same replicas is unchanged: 20, from a west replica (add-N).
    const seed = await call(`http://127.0.0.1:${port}/add/10/10`);
    assert.equal(seed.status, 200);
    assert.equal(seed.body, '20');
    assert.match(seed.replica ?? '', /^add-[12]$/);
  } finally {
    child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
    clearTimeout(timer);
    if (code === 'timeout') child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    assert.equal(code, 0, `demo exit: ${String(code)}\n${err}`);
  }
});
