import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUCKETS, Histogram, LOWER_EDGES, MAX_MS, MIN_MS, OVERFLOW, SUB_BUCKETS, bucketIndex, upperEdge } from './histogram.js';

test('bucket layout: 0.1 ms .. 60 s, every finite bucket at most 10% wide', () => {
  assert.equal(LOWER_EDGES[0], 0);
  assert.equal(LOWER_EDGES[1], MIN_MS);
  assert.equal(LOWER_EDGES[OVERFLOW], MAX_MS);
  assert.ok(BUCKETS < 220, `compact: ${BUCKETS} buckets`);
  for (let i = 1; i < OVERFLOW; i++) {
    const lo = LOWER_EDGES[i] as number;
    const width = upperEdge(i) - lo;
    assert.ok(width > 0);
    assert.ok(width / lo <= 1 / SUB_BUCKETS + 1e-12, `bucket ${i} [${lo}, ${upperEdge(i)}) too wide`);
  }
});

test('bucketIndex puts every value inside its bucket (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 200_000, noNaN: true }), (v) => {
      const i = bucketIndex(v);
      assert.ok((LOWER_EDGES[i] as number) <= v && v < upperEdge(i), `${v} -> ${i}`);
    }),
    { numRuns: 20_000 },
  );
  for (const edge of LOWER_EDGES) assert.equal(LOWER_EDGES[bucketIndex(edge)], edge);
  assert.equal(bucketIndex(-5), 0);
  assert.equal(bucketIndex(Number.NaN), 0);
  assert.equal(bucketIndex(Infinity), OVERFLOW);
});

test('1000 known latencies: p50 and p99 within one bucket of the truth', () => {
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 1; i <= 1000; i++) values.push(i * 1.7); // 1.7 ms .. 1700 ms
  for (const v of values) h.record(v);
  values.sort((a, b) => a - b);
  assert.equal(h.count, 1000);
  assert.ok(Math.abs(h.sum - values.reduce((a, b) => a + b, 0)) < 1e-6);
  for (const q of [0.5, 0.95, 0.99]) {
    const truth = values[Math.ceil(q * values.length) - 1] as number;
    const got = h.quantile(q);
    assert.ok(Math.abs(bucketIndex(got) - bucketIndex(truth)) <= 1, `q${q}: got ${got}, truth ${truth}`);
    assert.ok(Math.abs(got - truth) / truth <= 0.1, `q${q}: got ${got}, truth ${truth} (>10% off)`);
  }
});

test('a 5 s call reads back as about 5 s, not 9.75 s', () => {
  const h = new Histogram();
  for (let i = 0; i < 100; i++) h.record(5000);
  assert.equal(h.quantile(0.99), 5000);
  h.record(5100);
  const p = h.quantile(0.995);
  assert.ok(p >= 5000 && p <= 5100, String(p));
});

test('merge adds arrays; serialisation is sparse and round-trips', () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 0; i < 500; i++) a.record(1 + (i % 50));
  for (let i = 0; i < 500; i++) b.record(200 + i);
  const both = new Histogram();
  for (let i = 0; i < 500; i++) both.record(1 + (i % 50));
  for (let i = 0; i < 500; i++) both.record(200 + i);
  const merged = new Histogram().merge(a).merge(b);
  assert.deepEqual([...merged.counts], [...both.counts]);
  assert.equal(merged.quantile(0.9), both.quantile(0.9));
  const json = JSON.parse(JSON.stringify(b.toJSON()));
  assert.ok(json.c.length < BUCKETS, 'sparse');
  const back = Histogram.fromJSON(json);
  assert.deepEqual([...back.counts], [...b.counts]);
  assert.equal(back.min, 200);
  assert.equal(back.max, 699);
  b.reset();
  assert.equal(b.count, 0);
  assert.ok(Number.isNaN(b.quantile(0.5)));
  assert.deepEqual(b.toJSON().c, []);
});

test('overflow values are counted and quantiles clamp to the max seen', () => {
  const h = new Histogram();
  h.record(90_000);
  h.record(0.01);
  assert.equal(h.counts[OVERFLOW], 1);
  assert.equal(h.counts[0], 1);
  assert.equal(h.quantile(1), 90_000);
  const p99 = h.quantile(0.99);
  assert.ok(p99 >= 60_000 && p99 <= 90_000, String(p99));
  assert.equal(h.countBelow(0.1), 1);
});
