/**
 * `gatehouse serve` as a process (issue 11 §3 and §5): it says where it
 * listens at the default log level; a port in use ends it with one line
 * naming the entry point and the address, a non-zero exit and no restart
 * loop (1 and 2 workers); with 2 workers, killing every worker at once
 * leaves the primary up and it respawns them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createHttp } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { eventually, listenLoopback } from './support/gateway.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;

interface Run {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function freePort(): Promise<number> {
  const s = createServer();
  const p = await listenLoopback(s);
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function confDir(origin: number): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
  mkdirSync(join(root, 'conf'));
  writeFileSync(
    join(root, 'conf', 'r.yaml'),
    `http:\n  routers:\n    r:\n      rule: PathPrefix(\`/\`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${origin}\n`,
  );
  return root;
}

for (const workers of [1, 2]) {
  test(
    `a port in use: one line naming the entry point and address, exit 1, no restart loop (--workers ${workers})`,
    { timeout: 60_000 },
    async () => {
      const taken: Server = createServer();
      const port = await listenLoopback(taken);
      const root = confDir(1);
      try {
        const r = run([
          `--providers.file.directory=${join(root, 'conf')}`,
          `--entrypoints.web.address=127.0.0.1:${port}`,
          `--entrypoints.traefik.address=127.0.0.1:${await freePort()}`,
          `--workers=${workers}`,
          `--datadir=${join(root, 'data')}`,
        ]);
        const timer = setTimeout(() => r.child.kill('SIGKILL'), 30_000);
        const code = await r.exited;
        clearTimeout(timer);
        const out = r.out();
        assert.equal(code, 1, `exit code 1 (output: ${out})`);
        const lines = out.split('\n').filter((l) => l.includes('cannot listen'));
        assert.equal(lines.length, 1, `one line says it: ${out}`);
        assert.match(lines[0]!, new RegExp(`entry point "web" cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
        assert.doesNotMatch(out, /^\s+at /m, 'no stack trace');
        assert.doesNotMatch(out, /starting a new one/, 'no restart');
      } finally {
        taken.close();
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
}

test(
  'serve says where it listens at the default log level; killing every worker leaves the primary up and it respawns them',
  { timeout: 90_000 },
  async () => {
    const origin = createHttp((_q, s) => s.end('ok'));
    const root = confDir(await listenLoopback(origin));
    const web = await freePort();
    const admin = await freePort();
    const r = run([
      `--providers.file.directory=${join(root, 'conf')}`,
      `--entrypoints.web.address=127.0.0.1:${web}`,
      `--entrypoints.traefik.address=127.0.0.1:${admin}`,
      '--api.insecure',
      '--workers=2',
      `--datadir=${join(root, 'data')}`,
    ]);
    try {
      const get = async (): Promise<number> => {
        try {
          const res = await request(`http://127.0.0.1:${web}/`, { headersTimeout: 2000, bodyTimeout: 2000 });
          await res.body.dump();
          return res.statusCode;
        } catch {
          return 0;
        }
      };
      assert.ok(await eventually(async () => (await get()) === 200, 30_000, 200), `serves (output: ${r.out()})`);
      assert.ok(await eventually(() => r.out().includes('gatehouse ready'), 5000), `the ready line (output: ${r.out()})`);
      const out = r.out();
      assert.match(out, new RegExp(`entry point web listening on http://127\\.0\\.0\\.1:${web}`));
      assert.match(out, new RegExp(`entry point traefik listening on http://127\\.0\\.0\\.1:${admin}`));
      assert.match(
        out,
        new RegExp(`admin: API http://127\\.0\\.0\\.1:${admin}/api/overview, dashboard http://127\\.0\\.0\\.1:${admin}/dashboard/`),
      );

      // Every worker at once.
      const kids = readFileSync(`/proc/${r.child.pid}/task/${r.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      assert.equal(kids.length, 2, `two workers (${kids.join(',')})`);
      for (const pid of kids) process.kill(pid, 'SIGKILL');
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(r.child.exitCode, null, `the primary is still up (output: ${r.out()})`);
      // A respawned worker takes connections only once it has its configuration: never a 503 "not loaded yet".
      const seen: number[] = [];
      assert.ok(
        await eventually(
          async () => {
            const st = await get();
            seen.push(st);
            return st === 200;
          },
          30_000,
          20,
        ),
        `serves again after the respawn (output: ${r.out()})`,
      );
      assert.ok(!seen.includes(503), `no 503 while the workers came back (${[...new Set(seen)].join(',')})`);
      const now = readFileSync(`/proc/${r.child.pid}/task/${r.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      assert.equal(now.length, 2, 'two workers again');
    } finally {
      r.child.kill('SIGTERM');
      const t = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
      await r.exited;
      clearTimeout(t);
      origin.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
