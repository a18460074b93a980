import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../log.js';
import { FileSource, type FileDocuments } from './file-source.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gh-file-'));
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const values = (s: FileDocuments): unknown[] => s.documents.map((d) => d.value);

test('a directory read recursively: YAML (multi-doc), TOML, JSON; hidden, temp and other files ignored', async () => {
  const dir = tmp();
  const p = new FileSource({ directory: dir, watch: false, log: silentLogger });
  try {
    writeFileSync(join(dir, 'a.yaml'), 'a: 1\n---\n---\nb: 2\n');
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'c.toml'), 'c = 3\n');
    writeFileSync(join(dir, 'sub', 'deeper', 'd.json'), '{"d": 4}');
    writeFileSync(join(dir, 'sub', 'e.yml'), 'e: 5\n');
    writeFileSync(join(dir, '.hidden.yaml'), 'h: 1\n');
    writeFileSync(join(dir, 'a.yaml~'), 'x: 1\n');
    writeFileSync(join(dir, '#a.yaml#'), 'x: 1\n');
    writeFileSync(join(dir, 'notes.txt'), 'x: 1\n');
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'f.yaml'), 'x: 1\n');
    const s = await p.load();
    assert.deepEqual(s.issues, []);
    assert.deepEqual(values(s), [{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }, { e: 5 }]);
    assert.deepEqual(
      s.documents.map((d) => [d.index, d.lineOf([])]),
      [
        [0, 1],
        [2, 4],
        [0, 1],
        [0, 1],
        [0, 1],
      ],
    );
    assert.equal(s.documents[1]?.lineOf(['b']), 4);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that does not parse keeps its last good documents; a removed file loses them', async () => {
  const dir = tmp();
  const p = new FileSource({ directory: dir, watch: false, log: silentLogger });
  try {
    writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
    writeFileSync(join(dir, 'b.yaml'), 'b: 1\n');
    assert.deepEqual(values(await p.load()), [{ a: 1 }, { b: 1 }]);
    writeFileSync(join(dir, 'a.yaml'), 'a: 2\nbroken: [\n');
    writeFileSync(join(dir, 'b.yaml'), 'b: 2\n');
    const s = await p.load();
    assert.deepEqual(values(s), [{ a: 1 }, { b: 2 }]);
    assert.equal(s.issues.length, 1);
    assert.equal(s.issues[0]?.file, join(dir, 'a.yaml'));
    assert.equal(typeof s.issues[0]?.line, 'number');
    assert.match(s.issues[0]?.message ?? '', /invalid YAML.*keeping the last good version/);
    writeFileSync(join(dir, 'new.yaml'), ': : :\n  - [');
    const s2 = await p.load();
    assert.deepEqual(values(s2), [{ a: 1 }, { b: 2 }]);
    assert.equal(s2.issues.length, 2);
    unlinkSync(join(dir, 'a.yaml'));
    unlinkSync(join(dir, 'new.yaml'));
    const s3 = await p.load();
    assert.deepEqual(values(s3), [{ b: 2 }]);
    assert.deepEqual(s3.issues, []);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing single file is an issue, not a crash', async () => {
  const dir = tmp();
  const p = new FileSource({ filename: join(dir, 'nope.yaml'), watch: false, log: silentLogger });
  try {
    const s = await p.load();
    assert.deepEqual(s.documents, []);
    assert.deepEqual(s.issues, [{ file: join(dir, 'nope.yaml'), code: 'GH_CONFIG_PARSE', message: 'file not found' }]);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watching a directory: an editor save (write + rename) is one reload within a second; new sub-directories and deletes are seen', async () => {
  const dir = tmp();
  const p = new FileSource({ directory: dir, watch: true, log: silentLogger });
  const seen: FileDocuments[] = [];
  try {
    writeFileSync(join(dir, 'a.yaml'), 'v: 1\n');
    await p.load();
    p.watch((s) => seen.push(s));
    // An editor's save: write a temp file, then rename it over the original.
    const t0 = Date.now();
    writeFileSync(join(dir, '.a.yaml.swp'), 'v: 2\n');
    renameSync(join(dir, '.a.yaml.swp'), join(dir, 'a.yaml'));
    writeFileSync(join(dir, '4913'), '');
    unlinkSync(join(dir, '4913'));
    const s1 = await waitFor('the edit', () => seen[0]);
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(values(s1), [{ v: 2 }]);
    await sleep(400);
    assert.equal(seen.length, 1, 'one save is one reload');

    mkdirSync(join(dir, 'sub'));
    await sleep(300); // the new directory gets its own watcher
    writeFileSync(join(dir, 'sub', 'b.yaml'), 'w: 1\n');
    const s2 = await waitFor('the new sub-directory file', () => seen.find((s) => s.documents.length === 2));
    assert.deepEqual(values(s2), [{ v: 2 }, { w: 1 }]);
    writeFileSync(join(dir, 'sub', 'b.yaml'), 'w: 2\n');
    await waitFor('the edit in the sub-directory', () => seen.find((s) => JSON.stringify(values(s)) === '[{"v":2},{"w":2}]'));
    unlinkSync(join(dir, 'a.yaml'));
    const s3 = await waitFor('the delete', () => seen.find((s) => s.documents.length === 1 && JSON.stringify(values(s)) === '[{"w":2}]'));
    assert.deepEqual(s3.issues, []);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a single file replaced by rename, and a ConfigMap-style symlink swap', async () => {
  const dir = tmp();
  const file = join(dir, 'dynamic.yaml');
  const p = new FileSource({ filename: file, watch: true, log: silentLogger });
  const seen: FileDocuments[] = [];
  try {
    writeFileSync(file, 'v: 1\n');
    assert.deepEqual(values(await p.load()), [{ v: 1 }]);
    p.watch((s) => seen.push(s));
    writeFileSync(join(dir, 'dynamic.yaml.tmp'), 'v: 2\n');
    renameSync(join(dir, 'dynamic.yaml.tmp'), file);
    await waitFor('the rename', () => seen.find((s) => JSON.stringify(values(s)) === '[{"v":2}]'));
    writeFileSync(file, 'v: 3\n');
    await waitFor('a write after the rename', () => seen.find((s) => JSON.stringify(values(s)) === '[{"v":3}]'));
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // Kubernetes mounts: dir/config.yaml -> ..data/config.yaml, ..data -> ..v1; an update swaps ..data.
  const cm = tmp();
  const q = new FileSource({ filename: join(cm, 'config.yaml'), watch: true, log: silentLogger });
  const got: FileDocuments[] = [];
  try {
    mkdirSync(join(cm, '..v1'));
    writeFileSync(join(cm, '..v1', 'config.yaml'), 'v: 1\n');
    symlinkSync('..v1', join(cm, '..data'));
    symlinkSync(join('..data', 'config.yaml'), join(cm, 'config.yaml'));
    assert.deepEqual(values(await q.load()), [{ v: 1 }]);
    q.watch((s) => got.push(s));
    mkdirSync(join(cm, '..v2'));
    writeFileSync(join(cm, '..v2', 'config.yaml'), 'v: 2\n');
    symlinkSync('..v2', join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    rmSync(join(cm, '..v1'), { recursive: true });
    await waitFor('the symlink swap', () => got.find((s) => JSON.stringify(values(s)) === '[{"v":2}]'));
  } finally {
    await q.close();
    rmSync(cm, { recursive: true, force: true });
  }
});

test('falls back to polling when the directory cannot be watched, and close stops everything', async () => {
  const base = tmp();
  const dir = join(base, 'later');
  const p = new FileSource({ directory: dir, watch: true, log: silentLogger, pollMs: 100 });
  const seen: FileDocuments[] = [];
  try {
    const s0 = await p.load();
    assert.match(s0.issues[0]?.message ?? '', /cannot read directory: ENOENT/);
    p.watch((s) => seen.push(s)); // fs.watch fails: ENOENT
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), 'v: 1\n');
    await waitFor('the polled change', () => seen.find((s) => s.documents.length === 1));
    writeFileSync(join(dir, 'a.yaml'), 'v: 2\n');
    await waitFor('a watched change', () => seen.find((s) => JSON.stringify(values(s)) === '[{"v":2}]'));
    await p.close();
    const n = seen.length;
    writeFileSync(join(dir, 'a.yaml'), 'v: 3\n');
    await sleep(400);
    assert.equal(seen.length, n, 'no reload after close');
  } finally {
    await p.close();
    rmSync(base, { recursive: true, force: true });
  }
});
