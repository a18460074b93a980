/**
 * Origin-group routing (priority, latency band, allDown) and the health
 * check's sample window and status forms, probing a real loopback server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../log.js';
import { HealthChecker, sampleWindow, statusMatcher, type HealthTarget } from './health-check.js';
import { OriginGroup, usesOriginGroup, type GroupMember } from './origin-group.js';

const member = (url: string, priority: number, weight = 1, healthy = true, latencyMs: number | null = null): GroupMember => ({
  url,
  priority,
  weight,
  healthy,
  latencyMs,
});
const urls = (g: OriginGroup<GroupMember>): string[] => g.rotation.map((m) => m.url);
const opts = { service: 's@file', latencySensitivity: 0, allDown: undefined, log: silentLogger };

test('usesOriginGroup: only with priority, latencySensitivity or allDown', () => {
  assert.equal(usesOriginGroup({ servers: [{}, {}] }), false);
  assert.equal(usesOriginGroup({ servers: [{}, { priority: 1 }] }), true);
  assert.equal(usesOriginGroup({ servers: [{}], latencySensitivity: 0 }), true);
  assert.equal(usesOriginGroup({ servers: [{}], allDown: 'failOpen' }), true);
});

test('priority: the healthy servers of the lowest number; weight 0 never', () => {
  const a = member('a', 1);
  const b = member('b', 1);
  const c = member('c', 2);
  const z = member('z', 1, 0);
  const g = new OriginGroup([a, b, c, z], opts);
  assert.deepEqual(urls(g), ['a', 'b']);
  a.healthy = false;
  assert.equal(g.update(), true);
  assert.deepEqual(urls(g), ['b']);
  b.healthy = false;
  g.update();
  assert.deepEqual(urls(g), ['c']);
  assert.equal(g.update(), false, 'no change, no new rotation');
  c.healthy = false;
  g.update();
  assert.deepEqual(urls(g), [], 'all down, no allDown: nothing');
  assert.equal(g.failingOpen, false);
});

test('latency band: within latencySensitivity of the fastest; unmeasured servers are in', () => {
  const a = member('a', 1, 1, true, 10);
  const b = member('b', 1, 1, true, 45);
  const c = member('c', 1, 1, true, 70);
  const d = member('d', 1, 1, true, null);
  const slowBackup = member('e', 2, 1, true, 1);
  assert.deepEqual(urls(new OriginGroup([a, b, c, d, slowBackup], { ...opts, latencySensitivity: 50 })), ['a', 'b', 'd']);
  assert.deepEqual(urls(new OriginGroup([a, b, c, d, slowBackup], opts)), ['a', 'd'], '0: the fastest only');
  const g = new OriginGroup([a, b, c], { ...opts, latencySensitivity: 50 });
  a.healthy = false;
  g.update();
  assert.deepEqual(urls(g), ['b', 'c'], 'the band follows the fastest healthy server');
});

test('allDown: failOpen puts the best priority back, failClosed and absent leave none', () => {
  const mk = (): GroupMember[] => [member('a', 2, 1, false), member('b', 3, 1, false), member('z', 1, 0, false)];
  const open = new OriginGroup(mk(), { ...opts, allDown: 'failOpen' });
  assert.deepEqual(urls(open), ['a'], 'the best priority among servers with a weight');
  assert.equal(open.failingOpen, true);
  assert.deepEqual(urls(new OriginGroup(mk(), { ...opts, allDown: 'failClosed' })), []);
  const list = mk();
  const g = new OriginGroup(list, { ...opts, allDown: 'failOpen' });
  list[1]!.healthy = true;
  g.update();
  assert.deepEqual(urls(g), ['b'], 'a healthy server of a worse priority beats failing open');
  assert.equal(g.failingOpen, false);
});

test('healthCheck.status: an integer, a string of statuses and ranges, or a list', () => {
  assert.equal(statusMatcher(undefined).test(302), true);
  assert.equal(statusMatcher(undefined).test(404), false);
  assert.equal(statusMatcher(204).test(200), false);
  const m = statusMatcher('200-299, 404');
  assert.deepEqual([m.test(250), m.test(404), m.test(300), m.describe], [true, true, false, '200-299,404']);
  assert.equal(statusMatcher(['200', '401-403']).test(402), true);
  assert.throws(() => statusMatcher('2xx'), /"2xx" is not a status code or a range/);
  assert.throws(() => statusMatcher(['299-200']), /not a valid status range/);
});

test('sample window defaults: Traefik (1 of 1) unless set', () => {
  assert.deepEqual(sampleWindow({}), { size: 1, required: 1 });
  assert.deepEqual(sampleWindow({ sampleSize: 4 }), { size: 4, required: 4 });
  assert.deepEqual(sampleWindow({ sampleSize: 4, successfulSamplesRequired: 2 }), { size: 4, required: 2 });
  assert.deepEqual(sampleWindow({ successfulSamplesRequired: 3 }), { size: 3, required: 3 });
});

test('a server is healthy while enough of its last samples passed; each probe on a new connection', async (t) => {
  let status = 200;
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const target: HealthTarget = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, healthy: true };
  const changes: boolean[] = [];
  const hc = new HealthChecker({
    service: 's@file',
    config: { path: '/h', sampleSize: 4, successfulSamplesRequired: 3, status: '200-299,418' },
    targets: [target],
    log: silentLogger,
    onChange: (_t, up) => changes.push(up),
  });
  t.after(() => hc.close());
  const run = async (s: number, n: number): Promise<boolean[]> => {
    status = s;
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push(await hc.probe(target));
    return out;
  };
  assert.deepEqual(await run(418, 1), [true], '418 is listed');
  // Window P F: 1 passed + 2 not taken = 3 → still up; P F F: 1 + 1 = 2 → down.
  assert.deepEqual(await run(500, 2), [true, false]);
  assert.match(
    target.downReason ?? '',
    /^1 of the last 3 probes passed \(3 required\); last probe GET \/h: status 500 \(expected 200-299,418\)$/,
  );
  // F F F P → P F F P → … three passes in the last four bring it back.
  assert.deepEqual(await run(200, 3), [false, false, true]);
  assert.equal(target.downReason, null);
  assert.deepEqual(changes, [false, true]);
  assert.equal(target.probes!.length, 4, 'the window is kept');
  assert.ok(target.probes!.every((p) => typeof p.latencyMs === 'number' && p.latencyMs >= 0 && !Number.isNaN(Date.parse(p.at))));
  assert.ok(typeof target.latencyMs === 'number');
  assert.equal(sockets.size, 6, 'one connection per probe');
});
