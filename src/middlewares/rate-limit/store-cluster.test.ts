import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import { attachPrimaryRateLimitStore } from './store-primary.js';
import { createWorkerRateLimitStore } from './store-worker.js';
import { send } from '../../../test/support/http-request.js';

const fixture = fileURLToPath(new URL('../../../test/support/rate-limit-worker.ts', import.meta.url));

function forkWorker(options: object): Promise<{ worker: Worker; url: string }> {
  return new Promise((resolve, reject) => {
    const worker = cluster.fork({ GH_RL_OPTIONS: JSON.stringify(options) });
    const timer = setTimeout(() => reject(new Error('worker did not start in 15 s')), 15_000);
    worker.on('message', (m: { gh?: string; url?: string }) => {
      if (m.gh === 'test' && typeof m.url === 'string') {
        clearTimeout(timer);
        resolve({ worker, url: m.url });
      }
    });
    worker.on('error', reject);
  });
}

function stop(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    const t = setTimeout(() => worker.kill(), 5000);
    worker.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    worker.send({ gh: 'test-stop' });
  });
}

test('two cluster workers share one limit through the primary store', async () => {
  cluster.setupPrimary({ exec: fixture, execArgv: ['--import', 'tsx'] });
  const detach = attachPrimaryRateLimitStore(cluster);
  // 5 requests at once, then one per minute: every extra request is refused (no delay fits).
  const options = { average: 1, period: '1m', burst: 5, sourceCriterion: { requestHeaderName: 'X-Client' } };
  const workers = await Promise.all([forkWorker(options), forkWorker(options)]);
  try {
    const all = await Promise.all(
      workers.flatMap(({ url }) => Array.from({ length: 8 }, () => send(`${url}/`, { headers: { 'x-client': 'c1' } }))),
    );
    const ok = all.filter((r) => r.status === 200).length;
    const limited = all.filter((r) => r.status === 429);
    assert.equal(ok, 5, 'exactly burst requests pass across both workers');
    assert.equal(limited.length, 11);
    assert.equal(limited[0]?.body, 'Too Many Requests');
    assert.ok(Number(limited[0]?.headers['retry-after']) >= 1);
    // Another source has its own bucket, shared as well.
    const other = await Promise.all(workers.map(({ url }) => send(`${url}/`, { headers: { 'x-client': 'c2' } })));
    assert.deepEqual(
      other.map((r) => r.status),
      [200, 200],
    );
  } finally {
    await Promise.all(workers.map(({ worker }) => stop(worker)));
    detach();
  }
});

test('worker store fails open after its timeout when the primary does not answer', async () => {
  const fake = new EventEmitter() as unknown as NodeJS.Process;
  const sent: unknown[] = [];
  Object.assign(fake, { send: (m: unknown) => sent.push(m), connected: true });
  const store = createWorkerRateLimitStore(fake, { timeoutMs: 50 });
  const t0 = Date.now();
  const r = await store.reserve('k', 1, 1, 0);
  assert.equal(r.allowed, true);
  assert.ok(Date.now() - t0 >= 45);
  assert.equal(sent.length, 1);
  // An answer is matched by id.
  const p = store.reserve('k', 1, 1, 0);
  const id = (sent[1] as { id: number }).id;
  (fake as unknown as EventEmitter).emit('message', { gh: 'rl', id, allowed: false, delayMs: 0, retryAfterMs: 900 });
  assert.deepEqual(await p, { allowed: false, delayMs: 0, retryAfterMs: 900 });
  store.close();
  assert.equal((fake as unknown as EventEmitter).listenerCount('message'), 0);
});

test('worker store refuses to start without an IPC channel', () => {
  const fake = new EventEmitter() as unknown as NodeJS.Process;
  assert.throws(() => createWorkerRateLimitStore(fake), /no IPC channel/);
});
