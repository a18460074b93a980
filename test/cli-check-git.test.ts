/**
 * `gatehouse check --providers.git.url=… --providers.git.branch=…` validates a
 * branch before it is merged (issue 12, "Status you can see"): the same git
 * provider and compiler as serve, read once. A good branch passes (exit 0);
 * a branch with a broken rule fails (exit 1) naming the file in the
 * repository, its line and the field; a branch that does not exist fails
 * naming it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRepo } from './support/git-repo.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;

function gatehouse(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, GATEHOUSE_ADMIN: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out });
    });
  });
}

const route = (rule: string): string =>
  `http:\n  routers:\n    add:\n      rule: ${rule}\n      service: calc\n  services:\n    calc:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:9\n`;

const repo = new TestRepo();
const data = mkdtempSync(join(tmpdir(), 'gh-check-git-'));
repo.commit({ 'config/routes.yaml': route('PathPrefix(`/add`)') }, 'main');
repo.git('checkout', '--quiet', '-b', 'feature-x');
repo.commit({ 'config/routes.yaml': route('PathPrefix(`/add`) &&') }, 'a broken rule');
repo.git('checkout', '--quiet', 'main');

after(() => {
  repo.remove();
  rmSync(data, { recursive: true, force: true });
});

const flags = (branch: string): string[] => [
  'check',
  `--providers.git.url=${repo.url}`,
  `--providers.git.branch=${branch}`,
  '--providers.git.paths=config',
  `--datadir=${join(data, branch)}`,
  '--entrypoints.web.address=127.0.0.1:0',
];

test('check on a good branch: valid, exit 0', { timeout: 90_000 }, async () => {
  const r = await gatehouse(flags('main'));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /add@git/);
  assert.match(r.out, /configuration is valid/);
});

test('check on a branch with a broken rule: exit 1, the file in the repository, its line and the field', { timeout: 90_000 }, async () => {
  const r = await gatehouse(flags('feature-x'));
  assert.equal(r.code, 1, r.out);
  assert.match(
    r.out,
    /config\/routes\.yaml:3: router "add@git": field rule: revision feature-x@sha1:[0-9a-f]{40} of the git provider refused/,
  );
  assert.match(r.out, /field rule/);
  assert.doesNotMatch(r.out, /configuration is valid/);
});

test('check on a branch that does not exist: exit 1, naming the branch', { timeout: 90_000 }, async () => {
  const r = await gatehouse(flags('no-such-branch'));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /branch "no-such-branch" not found/);
});
