/** The worker restart back-off doubles per crash in a row, is capped, and resets after a healthy period. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from './serve.js';

test('restart back-off: doubles, caps at 25.6 s, resets once a worker stayed up a minute', () => {
  const b = new RestartBackoff();
  const quick = Array.from({ length: 10 }, () => b.next(50));
  assert.deepEqual(quick, [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 25600, 25600]);
  // A worker that ran longer than the healthy period: the next crash waits the least again.
  assert.equal(b.next(60_000), 200);
  assert.equal(b.next(10), 400);
  assert.equal(b.next(59_999), 800, 'not yet healthy');
});
