/** The file provider passes the shared provider behaviour table, and warns when a file's routers all go. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../log.js';
import type { ProviderMessage } from '../types.js';
import { runProviderContract } from '../provider.contract.js';
import { FileProvider } from './file-provider.js';

runProviderContract({
  name: 'file',
  fileFragment: 'file',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-file-provider-'));
    return {
      provider: new FileProvider({ directory: dir, watch: true, kubernetes: {}, log: silentLogger, debounceMs: 20 }),
      async write(path, content) {
        const target = join(dir, path);
        mkdirSync(dirname(target), { recursive: true });
        // Atomic replace, as editors and config management tools do.
        const tmp = join(dir, `.${Math.random().toString(36).slice(2)}.tmp`);
        writeFileSync(tmp, content);
        renameSync(tmp, target);
      },
      async remove(path) {
        rmSync(join(dir, path), { force: true });
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

test('an emptied file removes its routers and says so at warn level, naming them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-file-provider-'));
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const doc = `http:
  routers:
    calc: { rule: "Host(\`calc.test\`)", service: s }
    admin: { rule: "Host(\`admin.test\`)", service: s }
  services:
    s: { loadBalancer: { servers: [{ url: "http://127.0.0.1:1" }] } }
`;
  writeFileSync(join(dir, 'routes.yaml'), doc);
  writeFileSync(join(dir, 'other.yaml'), doc.replace('calc:', 'keep:').replace('admin:', 'keep2:'));
  const p = new FileProvider({ directory: dir, watch: true, kubernetes: {}, log: createLogger('warn', sink), debounceMs: 20 });
  const messages: ProviderMessage[] = [];
  try {
    await p.start((m) => messages.push(m));
    assert.equal(lines.length, 0, 'nothing to say on the first load');
    writeFileSync(join(dir, 'routes.yaml'), '');
    const end = Date.now() + 5000;
    while (Date.now() < end && !lines.some((l) => String(l.msg).includes('no longer defines'))) await new Promise((r) => setTimeout(r, 20));
    const warn = lines.find((l) => String(l.msg).includes('no longer defines'));
    assert.ok(warn !== undefined, `a warning (${JSON.stringify(lines)})`);
    assert.equal(warn.level, 40, 'warn level');
    assert.match(String(warn.msg), /routes\.yaml/);
    assert.match(String(warn.msg), /admin@file, calc@file/);
    assert.deepEqual(warn.routers, ['admin@file', 'calc@file']);
    const last = messages[messages.length - 1]!;
    const routers = Object.keys(last.fragments.find((f) => f.provider === 'file')!.routers).sort();
    assert.deepEqual(routers, ['keep', 'keep2'], 'the other file is untouched');
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
