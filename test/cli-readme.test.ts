/**
 * The README's "Running it" commands run as written in an empty directory
 * (a fresh clone has no `conf/`): the shell blocks are taken from README.md,
 * `npx gatehouse` is this checkout's CLI, and the ports are swapped for free
 * ones so the test never meets another gateway. Also: a router to
 * `api@internal` without `--api` is told to add `--api`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;
/** tsx by absolute URL: the scripts run in a directory without node_modules. */
const TSX = import.meta.resolve('tsx');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The ```sh blocks of one README section. */
function shBlocks(section: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README has no "## ${section}"`);
  const end = readme.indexOf('\n## ', start + 4);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/** Run a script with bash in `cwd`, `npx gatehouse` being this checkout's CLI; background jobs are left running. */
function bash(script: string, cwd: string): { done: Promise<{ code: number; out: string; err: string }>; child: ChildProcess } {
  const prelude = `gatehouse_cli() { node --import ${TSX} ${JSON.stringify(MAIN)} "$@"; }\n`;
  const body = script.replace(/\bnpx gatehouse\b/g, 'gatehouse_cli');
  const child = spawn('bash', ['-c', `set -e\n${prelude}${body}\nwait_for_jobs=$(jobs -p)\necho "JOBS:$wait_for_jobs"`], {
    cwd,
    env: { ...process.env, GATEHOUSE_ADMIN: '' },
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<{ code: number; out: string; err: string }>((resolve) => {
    // Background jobs keep the pipes open: resolve when the script itself reports its jobs.
    const poll = setInterval(() => {
      if (out.includes('JOBS:')) {
        clearInterval(poll);
        resolve({ code: 0, out, err });
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, out, err });
    });
  });
  return { done, child };
}

async function until(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

test('README "Running it": every command runs as written in an empty directory', async () => {
  const blocks = shBlocks('Running it');
  assert.equal(blocks.length, 3, 'setup, run and check, the seed arguments');
  const [web, admin, backend] = [await freePort(), await freePort(), await freePort()];
  const ports = (s: string): string =>
    s
      .replace(/:8000\b/g, `:${web}`)
      .replace(/:8080\b/g, `:${admin}`)
      .replace(/8081\b/g, String(backend))
      // --api.insecure puts the API on the traefik entry point; give it the free admin port too.
      .replace(/--api\.insecure/g, `--api.insecure --entrypoints.traefik.address=127.0.0.1:${admin}`)
      .replace(/--ping /g, `--ping --entrypoints.traefik.address=127.0.0.1:${admin} `);
  const dir = mkdtempSync(join(tmpdir(), 'gh-readme-'));
  const children: ChildProcess[] = [];
  try {
    // 1. The backend and conf/.
    const setup = bash(ports(blocks[0] as string), dir);
    children.push(setup.child);
    const s = await setup.done;
    assert.equal(s.code, 0, s.err);
    assert.ok(await until(async () => (await fetch(`http://127.0.0.1:${backend}/add/1/1`)).ok, 30_000), `the calculator answers\n${s.err}`);

    // 2. check, serve, curl, check the running gateway: run the lines one by one, serve in the background.
    const lines = (blocks[1] as string).split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 4);
    const checkConf = bash(ports(lines[0] as string), dir);
    const c1 = await checkConf.done;
    assert.equal(c1.code, 0, c1.out + c1.err);
    assert.match(c1.out, /✔ calc@file\s+enabled/);
    assert.match(c1.out, /configuration is valid/);
    const serve = bash(ports(lines[1] as string), dir);
    children.push(serve.child);
    assert.ok(
      await until(async () => (await fetch(`http://127.0.0.1:${web}/add/10/10`)).ok, 30_000),
      `the gateway answers\n${(await Promise.race([serve.done, Promise.resolve(null)]))?.err ?? ''}`,
    );
    const curl = await bash(ports(lines[2] as string), dir).done;
    assert.equal(curl.out.split('JOBS:')[0]?.trim(), '20');
    const live = await bash(ports(lines[3] as string), dir).done;
    assert.equal(live.code, 0, live.out + live.err);
    assert.match(live.out, new RegExp(`RUNNING GATEWAY at http://127\\.0\\.0\\.1:${admin} \\(from --admin\\)`));
    assert.ok(!/✖/.test(live.out), live.out);
    process.kill(-(serve.child.pid as number), 'SIGTERM');

    // 3. The seed's container arguments, as `serve`.
    const seed = bash(ports(blocks[2] as string).replace(/\\\n/g, ' '), dir);
    children.push(seed.child);
    assert.ok(
      await until(
        async () => (await fetch(`http://127.0.0.1:${admin}/ping`)).ok && (await fetch(`http://127.0.0.1:${web}/add/1/2`)).ok,
        30_000,
      ),
      'the seed arguments serve',
    );
  } finally {
    for (const c of children) {
      try {
        process.kill(-(c.pid as number), 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a router to api@internal without --api is told to add --api (not a look-alike service)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-readme-api-'));
  try {
    writeFileSync(join(dir, 'api.yaml'), 'http:\n  routers:\n    dash:\n      rule: PathPrefix(`/api`)\n      service: api@internal\n');
    const r = await bash(`npx gatehouse check --ping --metrics.prometheus --providers.file.directory=${dir} --offline`, dir).done;
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /router "dash@file": field service: the service "api@internal" does not exist: enable it with --api \(or --api\.insecure\)/,
    );
    assert.ok(!/did you mean/.test(r.err), r.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
