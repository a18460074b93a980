/**
 * Every `gatehouse` command answers `--help` and `-h` with its usage and
 * flags, exit 0, and runs nothing (`gatehouse check --help` used to say
 * "unknown flag --help"). In-process over the command table, and through the
 * real binary for a few.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { COMMANDS, mainHelp, runCli } from '../src/cli/commands.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

class Buf {
  s = '';
  write(x: string): boolean {
    this.s += x;
    return true;
  }
}

test('every command answers --help and -h with its usage and flags', async () => {
  assert.ok(COMMANDS.length >= 14);
  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const out = new Buf();
      const err = new Buf();
      const code = await runCli([c.name, flag], out, err);
      assert.equal(code, 0, `${c.name} ${flag}: ${err.s}`);
      assert.equal(err.s, '', `${c.name} ${flag}`);
      assert.ok(out.s.startsWith(`usage: gatehouse ${c.name}`), `${c.name} ${flag}:\n${out.s}`);
      if (!['version', 'help'].includes(c.name)) assert.match(out.s, /\n\s+--[a-z]/, `${c.name} lists its flags`);
    }
  }
  // After other flags and arguments too, but not as a value after `--`.
  const out = new Buf();
  assert.equal(await runCli(['stat', 'routers', '-o', 'wide', '-h'], out, new Buf()), 0);
  assert.match(out.s, /^usage: gatehouse stat/);
});

test('the main help lists every command; an unknown command is a usage error', async () => {
  const help = mainHelp();
  for (const c of COMMANDS) assert.match(help, new RegExp(`^  ${c.name} +\\S`, 'm'), c.name);
  const err = new Buf();
  assert.equal(await runCli(['chek'], new Buf(), err), 2);
  assert.match(err.s, /unknown command "chek"/);
});

test('the real binary: check --help, add -h, demo -h print usage and exit 0', () => {
  for (const args of [
    ['check', '--help'],
    ['add', '-h'],
    ['demo', '-h'],
    ['help', 'tap'],
  ]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: gatehouse ${args[0] === 'help' ? args[1] : args[0]}`), r.stdout);
  }
});
