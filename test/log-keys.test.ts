/**
 * JSON log lines carry each key once: a child logger that re-binds a key of
 * its parent (the file provider under `provider: file`), or a log call whose
 * object repeats a bound key (`pid`), used to print the key twice. Checked on
 * the real lines of a running gateway that refuses a broken file, and on the
 * logger directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve } from '../src/server/serve.js';
import { eventually } from './support/gateway.js';

/** Keys that appear more than once in one object of a JSON text (JSON.parse keeps the last silently). */
export function duplicateKeys(text: string): string[] {
  let i = 0;
  const dups: string[] = [];
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) dups.push(k);
        seen.add(k);
        ws();
        i++; // :
        value();
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') str();
    else while (i < text.length && !',}] \t\r\n'.includes(text[i] as string)) i++;
  };
  value();
  return dups;
}

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let buf = '';
  stream.on('data', (c: Buffer) => (buf += c.toString()));
  return { stream, lines: () => buf.split('\n').filter((l) => l.trim() !== '') };
}

test('the duplicate-key finder sees repeats (so the checks below can fail)', () => {
  assert.deepEqual(duplicateKeys('{"pid":1,"a":{"b":1,"b":2},"pid":2}'), ['b', 'pid']);
  assert.deepEqual(duplicateKeys('{"a":[{"x":1},{"x":2}],"s":"p\\"id"}'), []);
});

test('a running gateway refusing a broken file and emptying another logs lines with each key once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gh-logkeys-'));
  const dir = join(root, 'conf');
  mkdirSync(dir);
  writeFileSync(join(dir, 'bad.yaml'), 'http:\n  routers:\n    r: {rule: "Host(`a`)", service: s\n');
  const good = 'http:\n  routers:\n    g: {rule: "Host(`g`)", service: noop@internal}\n';
  writeFileSync(join(dir, 'good.yaml'), good);
  const out = capture();
  const cfg = parseStaticConfig({
    argv: [
      '--entrypoints.web.address=127.0.0.1:0',
      `--providers.file.directory=${dir}`,
      '--providers.file.watch',
      '--workers=1',
      `--datadir=${join(root, 'data')}`,
    ],
    env: {},
    cwd: root,
  });
  const running = await serve(serveOptionsFromStatic(cfg, root), { log: createLogger('debug', out.stream) });
  try {
    assert.ok(
      await eventually(() => out.lines().some((l) => l.includes('bad.yaml')), 5000),
      `no log line names the broken file:\n${out.lines().join('\n')}`,
    );
    // Emptying a file is logged by the file provider (a child of a child of the primary's `provider: file` logger).
    writeFileSync(join(dir, 'good.yaml'), '');
    assert.ok(
      await eventually(() => out.lines().some((l) => l.includes('good.yaml')), 5000),
      `no log line names the emptied file:\n${out.lines().join('\n')}`,
    );
  } finally {
    await running.close();
    rmSync(root, { recursive: true, force: true });
  }
  const lines = out.lines();
  assert.ok(
    lines.some((l) => /"provider":"file"/.test(l)),
    'a line bound to the file provider',
  );
  for (const l of lines) assert.deepEqual(duplicateKeys(l), [], l);
});

test('child bindings and call objects never repeat a key; the innermost value wins', () => {
  const out = capture();
  const log = createLogger('info', out.stream);
  const file = log.child({ provider: 'file' }).child({ provider: 'file', file: 'a.yaml' });
  file.info('same value re-bound');
  file.child({ file: 'b.yaml' }).info('different value re-bound');
  log.error({ pid: 4242, code: 1 }, 'worker exited');
  log.child({ service: 'x' }).warn({ service: 'x', n: 1 }, 'equal value repeated by the call');
  const lines = out.lines();
  assert.equal(lines.length, 4);
  for (const l of lines) assert.deepEqual(duplicateKeys(l), [], l);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(parsed[0]?.provider, 'file');
  assert.equal(parsed[0]?.pid, process.pid);
  assert.equal(parsed[1]?.file, 'b.yaml');
  assert.equal(parsed[2]?.pid, 4242);
  assert.equal(parsed[2]?.code, 1);
  assert.equal(parsed[3]?.service, 'x');
  assert.equal(parsed[3]?.n, 1);
});

test('levels, redaction and child levels still hold', () => {
  const out = capture();
  const log = createLogger('warn', out.stream);
  log.info('dropped');
  const c = log.child({ router: 'r' });
  c.info('dropped too');
  c.warn({ headers: { authorization: 'Bearer x' } }, 'kept');
  const debug = log.child({ a: 1 }, { level: 'debug' });
  debug.debug('kept at debug');
  const lines = out.lines();
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0] as string, /"router":"r".*"authorization":"\[redacted\]"/);
  assert.match(lines[1] as string, /"a":1.*kept at debug/);
});
