/**
 * The CLI's live views against the real gateway with the demo's identity
 * setup: `stat <kind> <name>` shows that one item, no column that is always
 * `-`, callers by display name (the id in wide output), `edges` too, `tap`
 * prints one caller for a request and its response, and `top` writes no
 * terminal escape codes when its output is not a terminal.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import { startGateway, eventually, type TestGateway, listenLoopback } from './support/gateway.js';
import { statMain } from '../src/cli/stat.js';
import { edgesMain } from '../src/cli/edges.js';
import { tapMain } from '../src/cli/tap.js';
import { topMain } from '../src/cli/top.js';
import { IDENTITY_YAML, protectedCalcYaml, TENANT_ID, CLIENT_APP_ID, SCOPE } from '../src/demo/identity-scenario.js';

class Buf {
  s = '';
  write(x: string): boolean {
    this.s += x;
    return true;
  }
}

let gw: TestGateway;
let up: Server;
let token = '';
const SECRET = 'views-test-secret-1234567890';

before(async () => {
  process.env.CALC_CLIENT_SECRET = SECRET;
  up = createServer((req, res) => {
    const m = /^\/add\/(-?\d+)\/(-?\d+)$/.exec(req.url ?? '');
    res.end(m !== null ? String(Number(m[1]) + Number(m[2])) : 'ok');
  });
  const port = await listenLoopback(up);
  gw = await startGateway({
    flags: ['--api.insecure', '--identity.insecure'],
    files: {
      'identity.yaml': IDENTITY_YAML,
      'idle.yaml': 'http:\n  routers:\n    idle:\n      rule: Host(`idle.test`)\n      service: noop@internal\n',
    },
  });
  gw.write(
    'calc.yaml',
    protectedCalcYaml(gw.admin, 'add') +
      `  services:\n    add:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${port}" }]\n`,
  );
  assert.ok(
    await eventually(async () => {
      const r = await request(`${gw.url}/secure/add/1/1`);
      await r.body.dump();
      return r.statusCode === 401;
    }, 5000),
    'protected route is up',
  );
  const t = await request(`${gw.admin}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT_APP_ID,
      client_secret: SECRET,
      scope: SCOPE,
    }).toString(),
  });
  token = ((await t.body.json()) as { access_token: string }).access_token;
  for (let i = 0; i < 5; i++) assert.equal(await calc(), 200);
});

after(async () => {
  await gw.close();
  up.close();
});

async function calc(): Promise<number> {
  const r = await request(`${gw.url}/secure/add/2/3`, { headers: { authorization: `Bearer ${token}` } });
  await r.body.dump();
  return r.statusCode;
}

async function run(
  main: (argv: string[], env: NodeJS.ProcessEnv, out: Buf, err: Buf) => Promise<number>,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out = new Buf();
  const err = new Buf();
  const code = await main([...argv, '--admin', gw.admin], {}, out, err);
  return { code, out: out.s, err: err.s };
}

test('stat callers: the display name, the id in wide output', async () => {
  const plain = await run(statMain, ['callers']);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /^add-cli\s+100\.00%/m);
  assert.ok(!plain.out.includes(CLIENT_APP_ID), plain.out);
  const wide = await run(statMain, ['callers', '-o', 'wide']);
  assert.match(wide.out, /^NAME\s+ID\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+REQUESTS$/m);
  assert.match(wide.out, new RegExp(`^add-cli\\s+${CLIENT_APP_ID}\\s+100\\.00%`, 'm'));
});

test('stat: no column that is always "-"; TCP_CONN where connections are counted', async () => {
  for (const kind of ['routers', 'services', 'callers']) {
    const r = await run(statMain, [kind]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes('TCP_CONN'), `${kind}:\n${r.out}`);
    const header = r.out.split('\n')[0] as string;
    for (const line of r.out.trim().split('\n').slice(1)) {
      const cells = line.split(/\s{3,}/);
      assert.equal(cells.length, header.split(/\s{3,}/).length, line);
    }
  }
  const eps = await run(statMain, ['entrypoints']);
  assert.match(eps.out, /^NAME\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN$/m);
  assert.match(eps.out, /^web\s+.*\s\d+$/m);
});

test('stat <kind> <name>: that one item, by full or short name; one without traffic; an unknown one', async () => {
  const one = await run(statMain, ['routers', 'calc-secure@file']);
  assert.equal(one.code, 0, one.err);
  const lines = one.out.trim().split('\n');
  assert.equal(lines.length, 2, one.out);
  assert.match(lines[1] as string, /^calc-secure@file\s+100\.00%/);
  const short = await run(statMain, ['routers', 'calc-secure', '-o', 'json']);
  assert.equal((JSON.parse(short.out) as { name: string }).name, 'calc-secure@file');
  const caller = await run(statMain, ['callers', 'add-cli']);
  assert.equal(caller.out.trim().split('\n').length, 2, caller.out);
  const idle = await run(statMain, ['routers', 'idle@file']);
  assert.equal(idle.code, 0, idle.err);
  assert.equal(idle.out, 'No traffic for router idle@file in the last 1m.\n');
  const unknown = await run(statMain, ['routers', 'calc-secur@file']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no router "calc-secur@file" with traffic in the last 1m \(did you mean "calc-secure@file"\?\)/);
});

test('edges: callers by display name', async () => {
  const r = await run(edgesMain, []);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^add-cli\s+calc-secure@file\s+add@file\s+http:\/\/127\.0\.0\.1:\d+/m);
});

test('tap: a request and its response show the same caller', async () => {
  const ac = new AbortController();
  const out = new Buf();
  const err = new Buf();
  const tapping = tapMain(['--count', '1', '--path', '/secure/', '--admin', gw.admin], {}, out, err, ac.signal);
  // The tap stream opens asynchronously: call until an exchange shows up.
  const seen = await eventually(
    async () => {
      await calc();
      return out.s.includes('\nend ') || out.s.startsWith('end ');
    },
    10_000,
    200,
  );
  ac.abort();
  assert.equal(await tapping, 0, err.s);
  assert.ok(seen, out.s);
  const lines = out.s.trim().split('\n');
  const rsp = lines.find((l) => l.startsWith('rsp ')) as string;
  const id = /id=(\S+)/.exec(rsp)?.[1] as string;
  const req = lines.find((l) => l.startsWith(`req id=${id} `));
  assert.ok(req !== undefined, out.s);
  const callerOf = (l: string): string => /caller=(\S+)/.exec(l)?.[1] as string;
  assert.equal(callerOf(rsp), 'add-cli');
  assert.equal(callerOf(req), callerOf(rsp), out.s);
  assert.match(req, /router=calc-secure@file service=add@file/);
});

test('top: frames without terminal escape codes when the output is not a terminal', async () => {
  const ac = new AbortController();
  const out = new Buf(); // no isTTY: a pipe or a file
  const topping = topMain(['--admin', gw.admin], {}, out, new Buf(), ac.signal);
  assert.ok(await eventually(() => (out.s.match(/\(gatehouse top/g) ?? []).length >= 2, 10_000, 100), out.s);
  ac.abort();
  assert.equal(await topping, 0);
  assert.ok(!out.s.includes('\x1b'), JSON.stringify(out.s.slice(0, 200)));
  assert.match(out.s, /GET\s+\/secure\/add\/\{n\}\/\{n\}/);
  // On a terminal the screen is cleared for each frame.
  const ac2 = new AbortController();
  const tty = Object.assign(new Buf(), { isTTY: true });
  const t2 = topMain(['--admin', gw.admin], {}, tty, new Buf(), ac2.signal);
  assert.ok(await eventually(() => tty.s.includes('(gatehouse top'), 10_000, 100));
  ac2.abort();
  await t2;
  assert.ok(tty.s.startsWith('\x1b[2J\x1b[H'));
});
