/**
 * docs/errors.md and the code agree in both directions (fastify's
 * errors test): the answer codes (src/http/answer-codes.ts), the issue and
 * error codes (src/errors.ts) and the CLI's exit codes (src/cli/exit-codes.ts).
 * Every defined code is raised somewhere in src/ outside its definition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ANSWERS } from '../src/http/answer-codes.js';
import { EXIT } from '../src/cli/exit-codes.js';

const doc = readFileSync('docs/errors.md', 'utf8');

/** The rows of the markdown table that follows `heading`. */
function tableAfter(heading: string): string[][] {
  const start = doc.indexOf(heading);
  assert.ok(start >= 0, `docs/errors.md has the section "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of doc.slice(start).split('\n').slice(1)) {
    if (line.startsWith('|')) {
      inTable = true;
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells);
    } else if (inTable) break;
  }
  return rows.slice(1); // without the header row
}

const codeOf = (cell: string): string => cell.replace(/`/g, '');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.contract.ts')) out.push(p);
  }
  return out;
}
const sources = sourceFiles('src').map((f) => ({ f, text: readFileSync(f, 'utf8') }));

function raisedOutside(code: string, definition: string): string[] {
  return sources.filter((s) => s.f !== definition && s.text.includes(`'${code}'`)).map((s) => s.f);
}

/** The members of a string-literal union type in src/errors.ts. */
function unionMembers(name: string): string[] {
  const text = readFileSync('src/errors.ts', 'utf8');
  const m = new RegExp(`export type ${name} =([^;]*);`).exec(text);
  assert.ok(m !== null, `src/errors.ts defines ${name}`);
  return [...m[1]!.matchAll(/'(GH_[A-Z_]+)'/g)].map((x) => x[1]!);
}

test('every answer code is documented with its status and body, and every documented one exists', () => {
  const rows = tableAfter("## What clients see: the gateway's own answers");
  const documented = new Map(rows.map((r) => [codeOf(r[0]!), r]));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ANSWERS).sort());
  for (const [code, a] of Object.entries(ANSWERS)) {
    const row = documented.get(code)!;
    if (row[1] !== 'as the auth server') assert.equal(row[1], String(a.status), `${code}: status`);
    if (a.body !== '' && !row[2]!.startsWith('`max connections'))
      assert.ok(row[2]!.startsWith(`\`${a.body.trim()}\``), `${code}: body ${JSON.stringify(a.body)} documented as ${row[2]}`);
  }
});

test('every issue and error code is documented, and every documented one exists', () => {
  const rows = tableAfter('## Configuration issues and errors');
  const documented = rows.map((r) => codeOf(r[0]!)).sort();
  const defined = unionMembers('ErrorCode').concat(unionMembers('IssueCode')).sort();
  assert.deepEqual(documented, [...new Set(defined)].sort());
});

test('every defined code is raised somewhere in src/', () => {
  for (const code of Object.keys(ANSWERS))
    assert.ok(raisedOutside(code, join('src', 'http', 'answer-codes.ts')).length > 0, `${code} is never raised`);
  for (const code of new Set([...unionMembers('ErrorCode'), ...unionMembers('IssueCode')]))
    assert.ok(raisedOutside(code, join('src', 'errors.ts')).length > 0, `${code} is never raised`);
});

test('no code in src/ is missing from the catalogues', () => {
  const known = new Set([...Object.keys(ANSWERS), ...unionMembers('ErrorCode'), ...unionMembers('IssueCode')]);
  for (const s of sources)
    for (const m of s.text.matchAll(/'(GH_[A-Z_]+)'/g)) assert.ok(known.has(m[1]!), `${s.f}: ${m[1]} is in no catalogue`);
});

test('the exit codes are documented as defined', () => {
  const rows = tableAfter('## Exit codes of the `gatehouse` command');
  assert.deepEqual(
    rows.map((r) => [Number(r[0]), codeOf(r[1]!)]).sort(),
    Object.entries(EXIT)
      .map(([k, v]) => [v, k])
      .sort(),
  );
});
