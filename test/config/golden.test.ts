/**
 * Golden cases for the configuration pipeline, the way Envoy Gateway tests
 * its translator: every `cases/<name>.in.yaml` runs through the format
 * converters, the compiler and the build (golden-case.ts); the result must
 * equal `cases/<name>.out.json`. `UPDATE_GOLDEN=1` rewrites the outputs:
 * read every changed one before committing it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runCase } from './golden-case.js';

const DIR = new URL('./cases/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const inputs = readdirSync(DIR)
  .filter((f) => f.endsWith('.in.yaml'))
  .sort();

for (const file of inputs) {
  const name = file.slice(0, -'.in.yaml'.length);
  test(`golden: ${name}`, async () => {
    const actual = await runCase(file, readFileSync(new URL(file, DIR), 'utf8'));
    const out = new URL(`${name}.out.json`, DIR);
    if (UPDATE) {
      writeFileSync(out, `${pretty(actual, '')}\n`);
      return;
    }
    assert.ok(existsSync(out), `${name}.out.json is missing: run with UPDATE_GOLDEN=1 and read it`);
    assert.deepEqual(actual, JSON.parse(readFileSync(out, 'utf8')));
  });
}

/** JSON, one item per line: objects open up, arrays of strings and issue objects stay on one line. */
function pretty(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => x === null || typeof x !== 'object')) return JSON.stringify(v);
    return `[\n${v.map((x) => `${indent}  ${JSON.stringify(x)}`).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, x]) => `${indent}  ${JSON.stringify(k)}: ${pretty(x, `${indent}  `)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

test('golden: every output has its input, and there are at least 40 cases', () => {
  const outputs = readdirSync(DIR).filter((f) => f.endsWith('.out.json'));
  for (const o of outputs) assert.ok(inputs.includes(o.replace(/\.out\.json$/, '.in.yaml')), `${o} has no input`);
  assert.ok(inputs.length >= 40, `only ${inputs.length} cases`);
});
