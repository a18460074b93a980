/**
 * `gatehouse check` as the real command against a running gateway: it names
 * the address it checked and where that address came from, checks no gateway
 * unless told which (never whatever answers on :8080), checks only the
 * running gateway when given no configuration flags, and exits 1 listing each
 * file the running gateway refuses with file:line, message, since when and
 * the last good version it still serves.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, eventually, type TestGateway } from './support/gateway.js';
import { configurationChecks, refusedLine, renderLiveChecks } from '../src/cli/check-command.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

const GOOD = 'http:\n  routers:\n    r:\n      rule: Host(`a.test`)\n      service: noop@internal\n';
const BROKEN = 'http:\n  routers:\n    r:\n      rule: Host(`a.test`)\n      service: [noop@internal\n';

let gw: TestGateway;
let conf: string;

before(async () => {
  gw = await startGateway({ flags: ['--api.insecure'], files: { 'routes.yaml': GOOD } });
  conf = mkdtempSync(join(tmpdir(), 'gh-check-live-'));
  writeFileSync(join(conf, 'ok.yaml'), GOOD);
});

after(async () => {
  await gw.close();
  rmSync(conf, { recursive: true, force: true });
});

/** The real CLI, asynchronously (the gateway runs in this process and must keep answering). */
function gatehouse(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (env.GATEHOUSE_ADMIN === undefined) delete e.GATEHOUSE_ADMIN;
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: e });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

test('without --admin or GATEHOUSE_ADMIN no running gateway is checked, not even one on :8080', async () => {
  // Something answering on 127.0.0.1:8080 must not be contacted (when this machine lets us take the port).
  let hits = 0;
  const decoy: Server = createServer((_req, res) => {
    hits++;
    res.end('{}');
  });
  const bound = await new Promise<boolean>((resolve) => {
    decoy.once('error', () => resolve(false));
    decoy.listen(8080, '127.0.0.1', () => resolve(true));
  });
  try {
    const r = await gatehouse(['check', `--providers.file.directory=${conf}`]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /configuration is valid/);
    assert.match(r.out, /no running gateway checked: pass --admin URL \(or set GATEHOUSE_ADMIN\)/);
    assert.ok(!r.out.includes('RUNNING GATEWAY'), r.out);
    if (bound) assert.equal(hits, 0, 'check contacted whatever answers on :8080');
  } finally {
    if (bound) decoy.close();
  }
});

test('--admin: the address checked is named, with where it came from; alone it checks only the running gateway', async () => {
  const r = await gatehouse(['check', '--admin', gw.admin]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.ok(!r.out.includes('ROUTERS'), 'no local configuration compiled without configuration flags');
  assert.match(r.out, new RegExp(`^RUNNING GATEWAY at ${gw.admin} \\(from --admin\\)$`, 'm'));
  assert.match(r.out, new RegExp(`^✔ the admin API answers at ${gw.admin} \\(Gatehouse `, 'm'));
  const env = await gatehouse(['check', `--providers.file.directory=${conf}`], { GATEHOUSE_ADMIN: gw.admin });
  assert.match(env.out, /^ROUTERS$/m);
  assert.match(env.out, new RegExp(`^RUNNING GATEWAY at ${gw.admin} \\(from GATEHOUSE_ADMIN\\)$`, 'm'));
  const down = await gatehouse(['check', '--admin', 'http://127.0.0.1:1']);
  assert.equal(down.code, 1);
  assert.match(
    down.out,
    /RUNNING GATEWAY at http:\/\/127\.0\.0\.1:1 \(from --admin\)\n✖ cannot reach the gateway's admin API at http:\/\/127\.0\.0\.1:1/,
  );
});

test('a file the running gateway refuses: exit 1 with file:line, message, since and the last good version served', async () => {
  gw.write('routes.yaml', BROKEN);
  assert.ok(
    await eventually(async () => {
      const ov = (await (await fetch(`${gw.admin}/api/overview`)).json()) as { configuration?: { refused: unknown[] } };
      return (ov.configuration?.refused.length ?? 0) > 0;
    }, 5000),
    'the gateway reports the refused file in /api/overview (configuration.refused)',
  );
  const r = await gatehouse(['check', '--admin', gw.admin]);
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, /^✖ the running gateway refuses 1 configuration file\(s\)$/m);
  assert.match(
    r.out,
    /^ {4}\S*routes\.yaml:\d+(:\d+)?: .+ refused since \d{4}-\d\d-\d\dT[\d:.]+Z; serving the last good version from \d{4}-\d\d-\d\dT[\d:.]+Z$/m,
  );
  gw.write('routes.yaml', GOOD);
  assert.ok(
    await eventually(async () => (await gatehouse(['check', '--admin', gw.admin])).code === 0, 15_000, 500),
    'valid again once fixed',
  );
});

test('refused files render with position, field, code and what is served', () => {
  const base = {
    provider: 'file',
    file: 'conf/a.yaml',
    code: 'GH_PARSE_ERROR',
    message: 'bad indentation',
    since: '2026-01-02T03:04:05.000Z',
  };
  assert.equal(
    refusedLine({ ...base, line: 3, column: 7, lastGood: '2026-01-01T00:00:00.000Z' }),
    'conf/a.yaml:3:7: bad indentation [GH_PARSE_ERROR, file provider] refused since 2026-01-02T03:04:05.000Z; serving the last good version from 2026-01-01T00:00:00.000Z',
  );
  assert.match(
    refusedLine({ ...base, field: 'spec.x', lastGood: null }),
    /^conf\/a\.yaml: field spec\.x: bad indentation .*; nothing of this file is served$/,
  );
  const checks = configurationChecks({
    http: { routers: { total: 1, errors: 0 } },
    configuration: {
      healthy: false,
      refused: [{ ...base, line: 3, lastGood: null }],
      lastReload: { revision: 4, at: base.since, success: false },
    },
  });
  assert.equal(checks.length, 1);
  assert.match(renderLiveChecks(checks), /^✖ the running gateway refuses 1 configuration file\(s\)\n {4}conf\/a\.yaml:3: .*\n {4}see: /);
  const unhealthy = configurationChecks({
    http: {},
    revision: 4,
    configuration: { healthy: false, refused: [], lastReload: { revision: 4, at: base.since, success: false } },
  });
  assert.equal(unhealthy[0]?.ok, false);
  assert.equal(configurationChecks({ http: {}, revision: 4, configuration: { healthy: true, refused: [] } })[0]?.ok, true);
});
