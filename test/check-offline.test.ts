/**
 * `gatehouse check` and flag handling, run as the real CLI (a child process):
 * a valid configuration prints routers/services/middlewares and exits 0; an
 * invalid one prints every error with file and line and exits 1; the seed's
 * container arguments parse; an unknown flag names the closest known one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEED_CALC_YAML, addServiceYaml } from '../src/demo/scenario.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

function gatehouse(args: string[], _cwd: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, GATEHOUSE_ADMIN: 'http://127.0.0.1:1' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('check: the seed configuration with the seed container arguments is valid', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-check-'));
  try {
    writeFileSync(join(dir, 'seed.yaml'), SEED_CALC_YAML);
    writeFileSync(join(dir, 'svc.yaml'), addServiceYaml([{ host: '127.0.0.1', port: 9 }]));
    const r = gatehouse(
      [
        'check',
        '--api',
        '--accesslog',
        '--entrypoints.web.Address=:8000',
        '--entrypoints.web.forwardedheaders.insecure=true',
        '--providers.kubernetescrd',
        '--ping',
        '--accesslog=true',
        '--log=true',
        `--providers.file.directory=${dir}`,
      ],
      dir,
    );
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /✔ add-calc-svc-[0-9a-f]+@kubernetescrd\s+enabled\s+\[web\]/);
    assert.match(r.out, /✔ add-calcheader@kubernetescrd\s+enabled\s+headers/);
    assert.match(r.out, /configuration is valid/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check: every error with file, line, object and field; exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-check-'));
  try {
    writeFileSync(
      join(dir, 'bad.yaml'),
      `http:
  routers:
    r1:
      rule: Host(\`a\`) && Pathh(\`/\`)
      service: s1
    r2:
      rule: Host(\`b\`)
      service: missing
      middlewares: [nope]
  middlewares:
    m1:
      headerz: {}
  services:
    s1:
      loadBalancer:
        servers: [{ url: "ftp://x" }]
`,
    );
    const r = gatehouse(['check', '--entrypoints.web.address=:8000', `--providers.file.directory=${dir}`], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /bad\.yaml:\d+: router "r1@file": field rule: invalid rule: .*Pathh/);
    assert.match(r.err, /router "r2@file": field service: the service "missing@file" does not exist/);
    assert.match(r.err, /the middleware "nope@file" does not exist/);
    assert.match(r.err, /middleware "m1@file": field headerz: unknown middleware type "headerz" \(did you mean "headers"\?\)/);
    assert.match(r.err, /service "s1@file": field loadBalancer\.servers\[0\]\.url: unsupported scheme "ftp"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown flag names the closest known one', () => {
  const r = gatehouse(['check', '--entrypoints.web.adress=:8000'], tmpdir());
  assert.notEqual(r.code, 0);
  assert.match(r.err, /entrypoints\.web\.address/i);
});
