/**
 * Status write-back, Events and Lease leader election of the live
 * kubernetescrd provider, against the API server stand-in, read back with
 * the real kubectl: a broken IngressRoute → Ready=False with the reason and
 * an Event (deduplicated), the rest serving; fixed → Ready=True with
 * observedGeneration; writes skipped when unchanged; two replicas → only the
 * Lease holder writes, and the other takes over once the Lease expires.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { send } from './support/http-request.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { addServiceYaml, LOCAL_CALC_YAML, SEED_CALC_YAML } from '../src/demo/scenario.js';
import { KubernetesProvider, type KubernetesProviderStatus } from '../src/providers/kubernetes/index.js';
import { ConfigWatcher } from '../src/server/config-watcher.js';
import { compileConfig } from '../src/config/compile.js';
import { builtinRegistry } from '../src/middlewares/builtin.js';
import { builtinServices } from '../src/services/builtin.js';
import { silentLogger } from '../src/log.js';

let api: KubeApiServer;
let calc: RunningAddServer;
let gw: TestGateway;

const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '--validate=false', '-f', '-'], yaml);
const jsonpath = (args: string[], path: string): Promise<string> => api.kubectlOk([...args, '-o', `jsonpath=${path}`]);
const ready = (name: string, ns = 'add'): Promise<string> =>
  jsonpath(
    ['get', 'ingressroute.traefik.io', name, '-n', ns],
    '{.status.conditions[0].type}|{.status.conditions[0].status}|{.status.conditions[0].reason}|{.status.conditions[0].observedGeneration}|{.status.conditions[0].message}',
  ).catch((err: unknown) => String(err));
const events = (ns: string): Promise<string> =>
  jsonpath(
    ['get', 'events', '-n', ns],
    '{range .items[*]}{.involvedObject.kind}/{.involvedObject.name}|{.type}|{.reason}|{.count}|{.reportingInstance}|{.message}{"\\n"}{end}',
  );

const brokenRoute = (ns: string, match: string): string => `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: broken, namespace: ${ns} }
spec:
  routes:
    - match: ${match}
      kind: Rule
      services: [{ name: add-svc, port: 80 }]
`;

async function get(path: string, host: string): Promise<{ status: number; body: string }> {
  const r = await send(`${gw.url}${path}`, { headers: { host } });
  return { status: r.status, body: r.body };
}

/** Status PUTs and Event writes seen by the stand-in, per User-Agent substring. */
function writesBy(agent: string, from = 0): { status: number; events: number } {
  let status = 0;
  let events = 0;
  for (let i = from; i < api.requests.length; i++) {
    if (!(api.userAgents[i] ?? '').includes(agent)) continue;
    const r = api.requests[i]!;
    if (/^PUT \/apis\/[^ ]+\/status(\?|$)/.test(r)) status++;
    if (/^(POST|PATCH) \/api\/v1\/namespaces\/[^/]+\/events/.test(r)) events++;
  }
  return { status, events };
}

before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 500 });
  calc = await startAddServer({ grpcPort: null });
  await apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: add }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: lead }\n');
  const port = Number(new URL(calc.httpUrl).port);
  await apply([SEED_CALC_YAML, LOCAL_CALC_YAML, addServiceYaml([{ host: '127.0.0.1', port }])].join('---\n'));
  gw = await startGateway({
    flags: [
      '--api.insecure',
      `--providers.kubernetescrd.endpoint=${api.url}`,
      `--providers.kubernetescrd.token=${api.token}`,
      `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
      '--providers.kubernetescrd.throttleduration=200ms',
      '--providers.kubernetescrd.namespaces=add',
      '--providers.kubernetescrd.leasenamespace=kube-system',
      '--metrics.prometheus',
      '--metrics.prometheus.entrypoint=traefik',
    ],
  });
});
after(async () => {
  await gw?.close();
  await calc?.close();
  await api?.close();
});

test('a broken IngressRoute → Ready=False with the reason and an Event; the rest serving; fixed → Ready=True with observedGeneration', async () => {
  // The gateway holds the Lease in the namespace of the flag.
  assert.ok(
    await eventually(
      async () =>
        (await jsonpath(['get', 'lease', 'gatehouse-status', '-n', 'kube-system'], '{.spec.holderIdentity}').catch(() => '')) !== '',
      10_000,
    ),
    'the gatehouse-status Lease is held',
  );
  const lease = await jsonpath(
    ['get', 'lease', 'gatehouse-status', '-n', 'kube-system'],
    '{.spec.holderIdentity}|{.spec.leaseDurationSeconds}',
  );
  assert.match(lease, new RegExp(`_${process.pid}\\|15$`), 'holder = host name + pid, 15 s');
  // Leadership shows in GET /api/providers and in gatehouse_kubernetes_leader.
  const entry = async (): Promise<Record<string, unknown> | undefined> =>
    ((await (await fetch(`${gw.admin}/api/providers`)).json()) as Array<Record<string, unknown>>).find((p) => p.name === 'kubernetescrd');
  assert.ok(await eventually(async () => (await entry())?.leader === true, 5000), JSON.stringify(await entry()));
  const e = await entry();
  assert.equal(e?.lease, 'kube-system/gatehouse-status');
  assert.equal(e?.leaseHolder, lease.split('|')[0]);
  assert.equal(e?.leaseTransitions, 0);
  const metric = async (): Promise<string> =>
    (await (await fetch(`${gw.admin}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('gatehouse_kubernetes_leader'))
      .join('\n');
  assert.ok(
    await eventually(async () => (await metric()) === 'gatehouse_kubernetes_leader{provider="kubernetescrd"} 1', 5000),
    await metric(),
  );
  // The good objects are Ready=True (both API groups, Middlewares too).
  assert.ok(
    await eventually(async () => (await ready('calc-local')).startsWith('Ready|True|Accepted|1|'), 10_000),
    await ready('calc-local'),
  );
  const seed = await jsonpath(
    ['get', 'ingressroute.traefik.containo.us', 'calc-svc', '-n', 'add'],
    '{.status.conditions[?(@.type=="Ready")].status}',
  );
  assert.equal(seed, 'True');
  assert.equal(
    await jsonpath(['get', 'middleware.traefik.containo.us', 'calcheader', '-n', 'add'], '{.status.conditions[0].status}'),
    'True',
  );

  await apply(brokenRoute('add', 'Host(`broken.test`'));
  assert.ok(await eventually(async () => (await ready('broken')).startsWith('Ready|False|InvalidRule|1|'), 10_000), await ready('broken'));
  const cond = await ready('broken');
  assert.match(cond, /field rule: invalid rule: /, 'the message names the field and says what is wrong');
  // The same text the gateway reports for the router.
  const routers = (await (await fetch(`${gw.admin}/api/http/routers`)).json()) as Array<{ name: string; status: string; error?: unknown }>;
  const router = routers.find((r) => r.name.startsWith('add-broken-'));
  assert.equal(router?.status, 'disabled');
  const said = cond.slice(cond.indexOf('invalid rule: '));
  assert.ok(
    ((router.error as string[] | undefined) ?? []).some((e) => said.includes(e)),
    `${JSON.stringify(router.error)} ⊇ ${said}`,
  );
  // An Event on the object.
  assert.ok(
    await eventually(async () => (await events('add')).includes('IngressRoute/broken|Warning|InvalidRule|'), 10_000),
    await events('add'),
  );
  assert.match(await events('add'), /IngressRoute\/broken\|Warning\|InvalidRule\|1\|[^|]+\|[^\n]*invalid rule: /);
  assert.equal((await events('add')).split('\n').filter((l) => l.startsWith('IngressRoute/broken|')).length, 1);
  assert.doesNotMatch(await events('add'), /calc-local|calc-svc/, 'no Event on the good objects');
  // The rest keeps serving.
  assert.equal((await get('/add/10/10', 'calc.1.1.1.1.xip.io')).body.trim(), '20');
  assert.equal((await get('/add/1/2', 'localhost')).body.trim(), '3');

  // Unchanged conditions are not written again (a change elsewhere compiles a new snapshot).
  const before = writesBy('gatehouse').status;
  await apply(addServiceYaml([{ host: '127.0.0.1', port: Number(new URL(calc.httpUrl).port) }]).replace('app: add', 'app: add2'));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(writesBy('gatehouse').status, before, 'no status write when nothing changed');

  // Fixed: Ready=True, observedGeneration = metadata.generation (2), lastTransitionTime moved.
  const t0 = await jsonpath(['get', 'ingressroute.traefik.io', 'broken', '-n', 'add'], '{.status.conditions[0].lastTransitionTime}');
  await new Promise((r) => setTimeout(r, 1100));
  await apply(brokenRoute('add', 'Host(`broken.test`)'));
  const generation = await jsonpath(['get', 'ingressroute.traefik.io', 'broken', '-n', 'add'], '{.metadata.generation}');
  assert.equal(generation, '2');
  assert.ok(await eventually(async () => (await ready('broken')).startsWith('Ready|True|Accepted|2|'), 10_000), await ready('broken'));
  const t1 = await jsonpath(['get', 'ingressroute.traefik.io', 'broken', '-n', 'add'], '{.status.conditions[0].lastTransitionTime}');
  assert.notEqual(t1, t0, 'lastTransitionTime changes with the status');
  assert.equal((await get('/add/2/3', 'broken.test')).body.trim(), '5');
  await api.kubectlOk(['delete', 'ingressroute.traefik.io', 'broken', '-n', 'add']);
});

/** The leadership fields of a kubernetescrd provider status. */
function pick(st: KubernetesProviderStatus): Pick<KubernetesProviderStatus, 'leader' | 'lease' | 'leaseHolder' | 'leaseTransitions'> {
  return { leader: st.leader, lease: st.lease, leaseHolder: st.leaseHolder, leaseTransitions: st.leaseTransitions };
}

/** A replica: the provider, a configuration watcher compiling its messages, the snapshot given back (as primary.ts). */
async function replica(identity: string, releaseOnStop = true): Promise<{ provider: KubernetesProvider; watcher: ConfigWatcher }> {
  const provider = new KubernetesProvider({
    config: {
      source: 'flags',
      endpoint: api.url,
      token: api.token,
      certAuthFilePath: api.certs.caFile,
      namespaces: ['lead'],
      allowCrossNamespace: false,
      allowExternalNameServices: false,
      allowEmptyServices: false,
      throttleMs: 100,
      leaseNamespace: 'lead',
    },
    log: silentLogger,
    statusTiming: { identity, leaseDurationMs: 2000, renewMs: 250, eventIntervalMs: 400, releaseOnStop },
  });
  const registry = builtinRegistry();
  const services = builtinServices();
  const watcher = new ConfigWatcher({
    providers: [provider],
    compile: ({ fragments, issues, revision }) => {
      const snap = compileConfig({
        fragments,
        entryPoints: ['web'],
        defaultEntryPoints: ['web'],
        defaultRuleSyntax: 'v3',
        registry,
        services,
        revision,
      });
      snap.issues.unshift(...issues);
      return snap;
    },
    throttleMs: 0,
    log: silentLogger,
  });
  watcher.addListener((s) => provider.onSnapshot(s));
  await watcher.start();
  return { provider, watcher };
}

test('two replicas: only the Lease holder writes status and Events (deduplicated); the other takes over when the Lease expires', async () => {
  const port = Number(new URL(calc.httpUrl).port);
  await apply(addServiceYaml([{ host: '127.0.0.1', port }]).replaceAll('namespace: add', 'namespace: lead'));
  await apply(brokenRoute('lead', 'Host(`x.test`) && Bogus(`y`)'));
  const from = api.requests.length;
  // These two leave without handing the Lease back (as after a crash): the Lease must expire.
  const a = await replica('replica-a', false);
  const b = await replica('replica-b', false);
  let c: Awaited<ReturnType<typeof replica>> | null = null;
  let both = 0;
  const sampler = setInterval(() => {
    if (a.provider.leader && b.provider.leader) both++;
  }, 20);
  try {
    assert.ok(await eventually(() => a.provider.leader || b.provider.leader, 5000), 'one becomes the leader');
    const [leader, follower, leaderId, followerId] = a.provider.leader
      ? [a, b, 'replica-a', 'replica-b']
      : [b, a, 'replica-b', 'replica-a'];
    assert.equal(await jsonpath(['get', 'lease', 'gatehouse-status', '-n', 'lead'], '{.spec.holderIdentity}'), leaderId);
    // Each replica's status (GET /api/providers) says whether it leads and who holds the Lease.
    assert.deepEqual(pick(leader.provider.status()), {
      leader: true,
      lease: 'lead/gatehouse-status',
      leaseHolder: leaderId,
      leaseTransitions: 0,
    });
    assert.ok(
      await eventually(() => follower.provider.status().leaseHolder === leaderId, 3000),
      JSON.stringify(pick(follower.provider.status())),
    );
    assert.equal(follower.provider.status().leader, false);
    const changes: boolean[] = [];
    follower.provider.onLeaderChange((l) => changes.push(l));
    assert.ok(
      await eventually(async () => (await ready('broken', 'lead')).startsWith('Ready|False|'), 10_000),
      await ready('broken', 'lead'),
    );
    assert.match(await ready('broken', 'lead'), /Bogus/);
    // More snapshots with the same error: one Event, its count grows (at most one write per 400 ms here).
    for (let i = 0; i < 4; i++) {
      await apply(
        addServiceYaml([{ host: '127.0.0.1', port }])
          .replaceAll('namespace: add', 'namespace: lead')
          .replace('app: add', `app: add${i}`),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(
      await eventually(async () => {
        const lines = (await events('lead')).split('\n').filter((l) => l.startsWith('IngressRoute/broken|'));
        return lines.length === 1 && Number(lines[0]!.split('|')[3]) >= 2;
      }, 5000),
      `one Event, count ≥ 2: ${await events('lead')}`,
    );
    assert.match(await events('lead'), new RegExp(`\\|${leaderId}\\|`));
    const eventWrites = writesBy(leaderId, from).events;
    const eventCount = Number((await events('lead')).split('|')[3]);
    assert.ok(eventWrites <= eventCount, `deduplicated: ${eventWrites} writes for count ${eventCount}`);
    assert.ok(writesBy(leaderId, from).status >= 1);
    assert.deepEqual(writesBy(followerId, from), { status: 0, events: 0 }, 'the follower writes nothing');

    // The leader stops (without releasing the Lease): the follower takes over once it has expired.
    const stoppedAt = Date.now();
    await leader.watcher.close();
    assert.ok(await eventually(() => follower.provider.leader, 8000), 'the follower takes over');
    const took = Date.now() - stoppedAt;
    assert.ok(took >= 1500, `not before the Lease expired (${took} ms)`);
    assert.equal(
      await jsonpath(['get', 'lease', 'gatehouse-status', '-n', 'lead'], '{.spec.holderIdentity}|{.spec.leaseTransitions}'),
      `${followerId}|1`,
    );
    assert.deepEqual(pick(follower.provider.status()), {
      leader: true,
      lease: 'lead/gatehouse-status',
      leaseHolder: followerId,
      leaseTransitions: 1,
    });
    assert.deepEqual(changes, [true], 'onLeaderChange (the metric follows it)');
    await apply(brokenRoute('lead', 'Host(`x.test`)'));
    assert.ok(
      await eventually(async () => (await ready('broken', 'lead')).startsWith('Ready|True|Accepted|2|'), 10_000),
      await ready('broken', 'lead'),
    );
    assert.ok(writesBy(followerId, from).status >= 1, 'the new leader writes');
    assert.equal(both, 0, 'never two leaders at once');

    // A leader that stops cleanly hands the Lease back: the next replica takes over at its next try, not after expiry.
    const third = await replica('replica-c');
    c = third;
    const d = await replica('replica-d');
    try {
      await follower.watcher.close(); // no release: c or d waits for the Lease to expire
      assert.ok(await eventually(() => third.provider.leader || d.provider.leader, 8000), 'c or d takes over');
      const [cleanLeader, next] = third.provider.leader ? [third, d] : [d, third];
      const released = Date.now();
      await cleanLeader.watcher.close();
      assert.ok(await eventually(() => next.provider.leader, 5000), 'the last replica takes over');
      const tookOver = Date.now() - released;
      assert.ok(tookOver < 1500, `released, so taken over before the 2 s Lease could expire (${tookOver} ms)`);
      assert.match(
        await jsonpath(['get', 'lease', 'gatehouse-status', '-n', 'lead'], '{.spec.holderIdentity}|{.spec.leaseTransitions}'),
        /^replica-[cd]\|3$/,
      );
      assert.equal(both, 0, 'never two leaders at once');
    } finally {
      await d.watcher.close();
    }
  } finally {
    clearInterval(sampler);
    await a.watcher.close();
    await b.watcher.close();
    await c?.watcher.close();
  }
});
