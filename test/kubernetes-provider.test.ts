/**
 * The live kubernetescrd provider against the API server stand-in, driven by
 * the real kubectl: the seed's objects applied → traffic through the gateway;
 * edits and deletes followed within the throttle; a broken IngressRoute
 * disables only itself; the API server stopped (and its history compacted)
 * → serving never stops, the status says why, and the watch resumes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { send } from './support/http-request.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { addServiceYaml, LOCAL_CALC_YAML, SEED_CALC_YAML } from '../src/demo/scenario.js';
import { KubernetesProvider } from '../src/providers/kubernetes/index.js';
import { silentLogger } from '../src/log.js';
import type { ProviderMessage } from '../src/providers/types.js';

const THROTTLE_MS = 300;
let api: KubeApiServer;
let calc: RunningAddServer;
let gw: TestGateway;

const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '--validate=false', '-f', '-'], yaml);

/** GET through the gateway with a Host header (fetch cannot set Host). */
async function get(path: string, host: string): Promise<{ status: number; body: string }> {
  const r = await send(`${gw.url}${path}`, { headers: { host } });
  return { status: r.status, body: r.body };
}

before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 500 });
  calc = await startAddServer({ grpcPort: null });
  await apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: add }\n');
  const port = Number(new URL(calc.httpUrl).port);
  await apply([SEED_CALC_YAML, LOCAL_CALC_YAML, addServiceYaml([{ host: '127.0.0.1', port }])].join('---\n'));
  gw = await startGateway({
    flags: [
      '--api.insecure',
      `--providers.kubernetescrd.endpoint=${api.url}`,
      `--providers.kubernetescrd.token=${api.token}`,
      `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
      `--providers.kubernetescrd.throttleduration=${THROTTLE_MS}ms`,
    ],
  });
});
after(async () => {
  await gw?.close();
  await calc?.close();
  await api?.close();
});

test("the seed's IngressRoute, Middleware, Service and Endpoints applied with kubectl serve /add/10/10 → 20", async () => {
  const r = await get('/add/10/10', 'calc.1.1.1.1.xip.io');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body.trim(), '20');
  assert.equal((await get('/add/1/2', 'localhost')).body.trim(), '3');
  // The objects came from the API (watched), not from files: the routers are name@kubernetescrd.
  const routers = (await (await fetch(`${gw.admin}/api/http/routers`)).json()) as Array<{ name: string }>;
  assert.ok(
    routers.some((x) => /calc-svc.*@kubernetescrd/.test(x.name)),
    JSON.stringify(routers.map((x) => x.name)),
  );
  const providers = JSON.stringify(await (await fetch(`${gw.admin}/api/providers`)).json());
  assert.match(providers, /kubernetescrd/);
  assert.ok(providers.includes(api.url), 'the status names the API server');
  assert.ok(!providers.includes(api.token), 'never the token');
  assert.ok(!api.requests.some((r) => /^GET \/api\/v1\/secrets/.test(r)), 'never all Secrets of the cluster');
  assert.ok(
    api.requests.some((r) => /^GET \/apis\/traefik\.io\/v1alpha1\/ingressroutes\?.*watch=true.*allowWatchBookmarks=true/.test(r)),
    'watches with bookmarks',
  );
});

test('an IngressRoute edited with kubectl apply, then deleted: routing follows within the throttle', async () => {
  await apply(LOCAL_CALC_YAML.replace('Host(`localhost`)', 'Host(`edited.test`)'));
  const t0 = Date.now();
  assert.ok(await eventually(async () => (await get('/add/2/2', 'edited.test')).body.trim() === '4', 5000), 'the edited host serves');
  assert.ok(Date.now() - t0 < THROTTLE_MS + 3000, `within the throttle (${Date.now() - t0} ms)`);
  assert.equal((await get('/add/2/2', 'localhost')).status, 404, 'the old host no longer routes');
  await api.kubectlOk(['delete', 'ingressroute', 'calc-local', '-n', 'add']);
  assert.ok(await eventually(async () => (await get('/add/2/2', 'edited.test')).status === 404, 5000), 'deleted → 404');
  assert.equal((await get('/add/10/10', 'calc.1.1.1.1.xip.io')).body.trim(), '20', 'the other route keeps serving');
});

test('a broken IngressRoute is disabled with its error shown; the rest keeps serving', async () => {
  await apply(`apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: broken, namespace: add }
spec:
  routes:
    - match: Host(\`broken.test\`)
      kind: Rule
      middlewares: [{ name: does-not-exist }]
      services: [{ name: add-svc, port: 80 }]
`);
  assert.ok(
    await eventually(
      async () => JSON.stringify(await (await fetch(`${gw.admin}/api/http/routers`)).json()).includes('does-not-exist'),
      5000,
    ),
    'the broken reference is reported on the router',
  );
  assert.notEqual((await get('/add/1/1', 'broken.test')).status, 200);
  assert.equal((await get('/add/10/10', 'calc.1.1.1.1.xip.io')).body.trim(), '20');
  await api.kubectlOk(['delete', 'ingressroute', 'broken', '-n', 'add']);
});

test('the API server stopped: serving never stops and the status says why; restarted (history compacted: 410) → the watch resumes', async () => {
  await api.stop();
  const providers = async (): Promise<string> => JSON.stringify(await (await fetch(`${gw.admin}/api/providers`)).json());
  assert.ok(await eventually(async () => /WatchFailed/.test(await providers()), 10_000), `Ready=False WatchFailed (${await providers()})`);
  for (let i = 0; i < 5; i++) {
    assert.equal((await get('/add/10/10', 'calc.1.1.1.1.xip.io')).body.trim(), '20', 'still serving while the API server is down');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Changes made while the gateway could not see them, and a history that no longer reaches its resourceVersion.
  api.compact(); // while stopped: every resumed watch's resourceVersion is now too old (410 Gone)
  const since = api.requests.length;
  await api.restart();
  await apply(SEED_CALC_YAML.replace('calc.1.1.1.1.xip.io', 'after-restart.test'));
  assert.ok(
    await eventually(async () => (await get('/add/5/5', 'after-restart.test')).body.trim() === '10', 20_000),
    `the change made after the restart applies (${await providers()})`,
  );
  assert.ok(await eventually(async () => /"status":"True"/.test(await providers()) && !/WatchFailed/.test(await providers()), 10_000));
  const relists = api.requests
    .slice(since)
    .filter((r) => /^GET \/apis\/traefik\.containo\.us\/v1alpha1\/ingressroutes(\?|$)/.test(r) && !r.includes('watch='));
  assert.ok(relists.length >= 1, `relisted after 410 Gone (${api.requests.slice(since).slice(0, 10).join(', ')})`);
});

test('an API server that is down is retried with back-off, not in a busy loop', async () => {
  // A port that accepts connections and closes them at once (a dead API server behind a load balancer).
  let connections = 0;
  const sockets = new Set<Socket>();
  const dead = createServer((s) => {
    connections++;
    sockets.add(s);
    s.destroy();
  });
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as { port: number }).port;
  const p = new KubernetesProvider({
    config: {
      source: 'flags',
      endpoint: `https://127.0.0.1:${port}`,
      token: 't',
      certAuthFilePath: api.certs.caFile,
      namespaces: ['add'],
      allowCrossNamespace: false,
      allowExternalNameServices: false,
      allowEmptyServices: false,
      throttleMs: 100,
    },
    log: silentLogger,
    startTimeoutMs: 1000,
    backoff: { initialMs: 200, maxMs: 2000 },
  });
  const messages: ProviderMessage[] = [];
  try {
    await p.start((m) => messages.push(m));
    assert.equal(p.status().state, 'degraded');
    assert.match(p.status().conditions?.[0]?.message ?? '', /cannot be watched/);
    const at = connections;
    await new Promise((r) => setTimeout(r, 3000));
    const per = (connections - at) / 3 / 22; // 22 informers (both Traefik groups, Gatehouse kinds, Services, EndpointSlices, Endpoints)
    assert.ok(connections - at >= 22, `it keeps retrying (${connections - at} connections in 3 s)`);
    assert.ok(per < 3, `about one attempt per informer per back-off step, not a busy loop (${connections - at} connections in 3 s)`);
    assert.deepEqual(
      messages[0]!.fragments.flatMap((f) => Object.keys(f.routers)),
      [],
    );
  } finally {
    await p.close();
    dead.close();
  }
});
