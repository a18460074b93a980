/**
 * Key Vault secrets with `--workers 2` (docs/secrets.md, "How it runs"): the
 * secret store runs in the primary; a rotated value (a new version in the
 * stand-in vault) reaches both workers without a restart: each worker, told
 * apart by which process holds the accepted connection, accepts the new
 * password and refuses the old one; `GET /api/secrets` shows the new version
 * and fingerprint. The store's status is a provider's (Flux-style Ready
 * condition naming the secret that failed, lastHandledAt, history) in
 * `GET /api/providers`, `gatehouse providers` and
 * `gatehouse_provider_ready{provider="azurekeyvault"}`, and says so when the
 * vault is down while the last value keeps serving.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startVaultWithIdentity, type VaultWithIdentity } from './support/keyvault-standin.js';
import { providersMain } from '../src/cli/providers.js';
import type { ProviderStatus } from '../src/providers/types.js';

const sha = (pw: string): string => createHash('sha1').update(pw, 'utf8').digest('base64');
const line = (user: string, pw: string): string => `${user}:{SHA}${sha(pw)}`;

let env: VaultWithIdentity;
let gw: TestGateway;
let backend: Server;

const CONF = `apiVersion: spv.no/v2beta1
kind: AzureKeyVaultSecret
metadata: { name: web-users, namespace: default }
spec:
  vault:
    name: gatehouse-kv
    object: { name: web-users, type: secret }
  output:
    secret: { name: web-users, dataKey: users }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: web-auth, namespace: default }
spec:
  basicAuth: { secret: web-users }
`;

before(async () => {
  env = await startVaultWithIdentity();
  env.kv.setSecret('gatehouse-kv', 'web-users', line('alice', 'pw-one'));
  backend = createServer((_req, res) => res.end('backend'));
  const port = await listenLoopback(backend);
  gw = await startGateway({
    workers: 2,
    files: {
      'akv.yaml': CONF,
      'routes.yaml': `http:\n  routers:\n    kv:\n      entryPoints: [web]\n      rule: PathPrefix(\`/kv\`)\n      middlewares: [default-web-auth@kubernetescrd]\n      service: backend\n  services:\n    backend:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${port}" }]\n`,
    },
    flags: [
      '--api.insecure',
      '--metrics.prometheus',
      '--metrics.prometheus.entrypoint=traefik',
      ...env.flags(),
      '--secrets.refreshinterval=1s',
    ],
  });
});

after(async () => {
  await gw?.close();
  await env?.close();
  backend?.close();
});

/** The inode of the gateway's end of the connection from local port `clientPort` (/proc/net/tcp, IPv4 loopback). */
function serverInode(gatewayPort: number, clientPort: number): string | null {
  const hex = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
  for (const l of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f[1] === `0100007F:${hex(gatewayPort)}` && f[2] === `0100007F:${hex(clientPort)}`) return f[9] ?? null;
  }
  return null;
}

/** The pid of the worker whose file descriptors hold socket `inode`. */
function workerHolding(inode: string): number | null {
  for (const w of Object.values(cluster.workers ?? {})) {
    const pid = w?.process.pid;
    if (pid === undefined) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return null;
}

/** One request on a new connection: the status and the worker that served it. */
function fresh(user: string, pw: string): Promise<{ status: number; worker: number | null }> {
  return new Promise((resolve, reject) => {
    const s = connect(gw.port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer within 5s'));
    }, 5000);
    let buf = '';
    s.on('connect', () =>
      s.write(`GET /kv/x HTTP/1.1\r\nHost: kv.test\r\nAuthorization: Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}\r\n\r\n`),
    );
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m === null || !buf.includes('\r\n\r\n')) return;
      // The connection is kept alive: the worker that answered still holds it.
      const inode = serverInode(gw.port, s.localPort as number);
      const worker = inode === null ? null : workerHolding(inode);
      clearTimeout(timer);
      s.destroy();
      resolve({ status: Number(m[1]), worker });
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** `n` new connections: the statuses seen by each worker. */
async function spread(user: string, pw: string, n = 12): Promise<Map<number, Set<number>>> {
  const by = new Map<number, Set<number>>();
  for (let i = 0; i < n; i++) {
    const r = await fresh(user, pw);
    assert.ok(r.worker !== null, 'the worker holding the connection was found');
    by.set(r.worker, (by.get(r.worker) ?? new Set()).add(r.status));
  }
  return by;
}

async function json<T>(path: string): Promise<T> {
  const r = await request(`${gw.admin}${path}`);
  return (await r.body.json()) as T;
}

async function readyMetric(): Promise<string | null> {
  const r = await request(`${gw.admin}/metrics`);
  const m = /^gatehouse_provider_ready\{provider="azurekeyvault"\} (\S+)/m.exec(await r.body.text());
  return m === null ? null : (m[1] as string);
}

const kvStatus = async (): Promise<ProviderStatus | undefined> =>
  (await json<ProviderStatus[]>('/api/providers')).find((p) => p.name === 'azurekeyvault');

async function providersCli(): Promise<{ code: number; text: string }> {
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  const code = await providersMain(['--admin', gw.admin], {}, out as never, out as never);
  return { code, text };
}

test('a rotated Key Vault value reaches both workers without a restart', { timeout: 60_000 }, async () => {
  assert.equal(Object.keys(cluster.workers ?? {}).length, 2, 'two workers run');
  assert.ok(await eventually(async () => (await fresh('alice', 'pw-one')).status === 200, 10_000), 'the value from Key Vault serves');
  const first = await spread('alice', 'pw-one');
  assert.equal(first.size, 2, `both workers were reached (${[...first.keys()].join(', ')})`);
  for (const [w, st] of first) assert.deepEqual([...st], [200], `worker ${w} accepts the first password`);
  const before = (await json<Array<Record<string, string>>>('/api/secrets')).find((s) => s.object === 'web-users')!;

  const v2 = env.kv.setSecret('gatehouse-kv', 'web-users', line('alice', 'pw-two'));
  assert.ok(
    await eventually(async () => {
      const s = (await json<Array<Record<string, string>>>('/api/secrets')).find((x) => x.object === 'web-users');
      return s?.version === v2;
    }, 10_000),
    'GET /api/secrets shows the new version',
  );
  const after = (await json<Array<Record<string, string>>>('/api/secrets')).find((s) => s.object === 'web-users')!;
  assert.notEqual(after.fingerprint, before.fingerprint, 'the fingerprint changed');
  assert.match(after.fingerprint, /^hmac-sha256:[0-9a-f]{16}$/);

  // The snapshot carrying the new value reaches each worker: both accept the new password and refuse the old one.
  assert.ok(
    await eventually(async () => {
      const by = await spread('alice', 'pw-two', 6);
      return [...by.values()].every((st) => st.size === 1 && st.has(200)) && by.size === 2;
    }, 10_000),
    'both workers accept the rotated password',
  );
  const now = await spread('alice', 'pw-two');
  const old = await spread('alice', 'pw-one');
  assert.equal(now.size, 2, 'both workers reached with the new password');
  assert.equal(old.size, 2, 'both workers reached with the old password');
  for (const [w, st] of now) assert.deepEqual([...st], [200], `worker ${w} accepts the new password`);
  for (const [w, st] of old) assert.deepEqual([...st], [401], `worker ${w} refuses the old password`);
});

test(
  'the secret store is a provider: Ready condition, history, gatehouse providers, gatehouse_provider_ready',
  { timeout: 60_000 },
  async () => {
    assert.ok(await eventually(async () => (await kvStatus())?.conditions?.[0]?.status === 'True', 10_000), 'Ready True');
    const ok = (await kvStatus())!;
    assert.equal(ok.type, 'azurekeyvault');
    assert.equal(ok.url, env.kv.template);
    assert.equal(ok.conditions?.[0]?.reason, 'ReconciliationSucceeded');
    assert.match(ok.lastHandledAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.ok(
      (ok.history ?? []).some((h) => h.result === 'applied' && /web-users/.test(h.message)),
      'history holds the reads',
    );
    assert.ok(await eventually(async () => (await readyMetric()) === '1', 10_000), 'gatehouse_provider_ready 1');
    const cliOk = await providersCli();
    assert.match(cliOk.text, /^azurekeyvault\s+azurekeyvault\s+\d+\s+True\b/m);

    env.kv.setDown(true);
    try {
      assert.ok(await eventually(async () => (await kvStatus())?.conditions?.[0]?.status === 'False', 10_000), 'Ready False');
      const down = (await kvStatus())!;
      const ready = down.conditions![0]!;
      assert.equal(ready.reason, 'FetchFailed');
      assert.match(ready.message, /secret web-users of vault gatehouse-kv/, 'the message names the secret');
      assert.match(ready.message, /unreachable/);
      assert.match(ready.message, /last value, version [0-9a-f]{32}, keeps serving/);
      assert.equal(down.state, 'degraded');
      assert.equal(down.history?.[0]?.result, 'failed');
      assert.ok(await eventually(async () => (await readyMetric()) === '0', 10_000), 'gatehouse_provider_ready 0');
      const cli = await providersCli();
      assert.equal(cli.code, 1, 'gatehouse providers exits 1 when a provider is not ready');
      assert.match(cli.text, /^azurekeyvault\s+azurekeyvault\s+\d+\s+False\s+\S+\s+secret web-users of vault gatehouse-kv/m);
      // The last value keeps serving on both workers.
      const by = await spread('alice', 'pw-two', 6);
      for (const [w, st] of by) assert.deepEqual([...st], [200], `worker ${w} still accepts the last value`);
    } finally {
      env.kv.setDown(false);
    }
    assert.ok(await eventually(async () => (await kvStatus())?.conditions?.[0]?.status === 'True', 10_000), 'Ready again');
    assert.ok(await eventually(async () => (await readyMetric()) === '1', 10_000), 'gatehouse_provider_ready 1 again');
    assert.ok(!JSON.stringify(await json('/api/providers')).includes(sha('pw-two')), 'no value in /api/providers');
  },
);
