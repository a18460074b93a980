/**
 * `gatehouse demo` run as the real command: its first line is the demo's (no
 * warning), it prints the commands to try once (no status line every few
 * seconds), those commands work as printed (run with bash and curl), the
 * not-granted client and its secret are among them, the Alerts page has the
 * calculator's rules, and stopping one of the demo's own replicas ("stop 2"
 * on stdin) makes the success-rate rule fire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support/gateway.js';
import { CALC_ALERTS } from '../src/demo/scenario.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Alert {
  rule: string;
  state: string;
  value: number | null;
}

test('demo: commands printed once and working, no warning first, alert rules that fire when a replica stops', async () => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(tmpdir(), 'gh-demo-'));
  const env = { ...process.env };
  delete env.CALC_CLIENT_SECRET;
  delete env.CALC_OTHER_SECRET;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'demo',
      `--port=${port}`,
      `--admin-port=${adminPort}`,
      '--replicas=2',
      '--rate=20',
      '--workers=1',
      `--datadir=${data}`,
    ],
    { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const admin = `http://127.0.0.1:${adminPort}`;
  try {
    assert.ok(await eventually(() => out.includes('Ctrl-C stops everything.'), 60_000, 100), `demo did not come up:\n${out}\n${err}`);
    const lines = out.split('\n');
    assert.match(lines[0] ?? '', /^Gatehouse demo: 2 calculator replicas behind the gateway on :\d+, add-cli calling/);
    assert.equal(err, '', 'nothing on stderr (no warning before or after the commands)');
    // The not-granted client and its secret are printed, for the refused case.
    assert.match(out, /export CALC_OTHER_SECRET='[A-Za-z0-9_-]{20,}'/);
    assert.match(out, /OTHER=\$\(curl .*client_id=0f9b3c9e-7c52-4a3e-9f0e-2b8f3a6d4c21/);

    // The printed token flow, run as printed.
    const script = lines
      .filter((l) => /^ {2}(export |TOKEN=|OTHER=|curl )/.test(l))
      .filter((l) => l.includes('/secure/') || /^ {2}(export|TOKEN=|OTHER=)/.test(l))
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .map((l) => (l.startsWith('curl') ? `${l.replace(/^curl /, 'curl -s -o /dev/null -w "%{http_code}\\n" ')}` : l))
      .join('\n');
    const ran = spawnSync('bash', ['-c', `set -e\n${script}`], { encoding: 'utf8', timeout: 30_000, env });
    assert.equal(ran.status, 0, ran.stderr);
    // 401 without a token, 20 (200) with the granted client's token, refused with the not-granted one.
    assert.deepEqual(ran.stdout.trim().split('\n'), ['401', '200', '401'], script);

    // The Alerts page is not empty: the calculator's success-rate and latency rules.
    const rules = async (): Promise<Alert[]> => (await (await fetch(`${admin}/api/gatehouse/alerts`)).json()) as Alert[];
    const names = (await rules()).map((a) => a.rule).sort();
    assert.deepEqual(
      names,
      [`default/${CALC_ALERTS.latency}`, `default/${CALC_ALERTS.successRate}`, `default/${CALC_ALERTS.certificates}`].sort(),
    );

    // No status line every few seconds: wait past two former report periods.
    const before = out;
    await new Promise((r) => setTimeout(r, 11_000));
    assert.equal(out, before, 'the demo printed again after its commands');

    // Stop one of the demo's replicas: the success-rate rule fires.
    child.stdin.write('stop 2\n');
    assert.ok(await eventually(() => /replica add-2 \(127\.0\.0\.3:\d+\) stopped/.test(out), 15_000, 100), out);
    let last: Alert[] = [];
    const fired = await eventually(
      async () => {
        last = await rules();
        return last.some((a) => a.rule === `default/${CALC_ALERTS.successRate}` && a.state === 'firing');
      },
      60_000,
      500,
    );
    assert.ok(fired, `no firing alert: ${JSON.stringify(last)}`);
    child.stdin.write('start 2\n');
    assert.ok(await eventually(() => /replica add-2 \(127\.0\.0\.3:\d+\) started/.test(out), 15_000, 100), out);
  } finally {
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    assert.equal(code, 0, `demo exit: ${String(code)}\n${err}`);
  }
});
