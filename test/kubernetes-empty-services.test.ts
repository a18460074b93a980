/**
 * `--providers.kubernetescrd.allowemptyservices` against the API server
 * stand-in, driven by the real kubectl: a Service scaled to zero endpoints →
 * with the default (false) its route is gone (404), the IngressRoute is
 * Ready=False (reason NoEndpoints, the message saying which Service and which
 * flag) with an Event, and the other routes keep serving; with the flag → the
 * route stays and answers 503, the IngressRoute Ready=True with a warning.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { send } from './support/http-request.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { addServiceYaml, SEED_CALC_YAML } from '../src/demo/scenario.js';

let api: KubeApiServer;
let calc: RunningAddServer;
let port = 0;

const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '--validate=false', '-f', '-'], yaml);
const ready = (name: string): Promise<string> =>
  api
    .kubectlOk([
      'get',
      'ingressroute.traefik.io',
      name,
      '-n',
      'add',
      '-o',
      'jsonpath={.status.conditions[0].status}|{.status.conditions[0].reason}|{.status.conditions[0].message}',
    ])
    .catch((err: unknown) => String(err));

/** A second Service whose Endpoints the test scales, and the IngressRoute that uses it. */
const SCALED = (addresses: readonly string[]): string => `apiVersion: v1
kind: Service
metadata: { name: scaled, namespace: add }
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: scaled, namespace: add }
subsets:
${addresses.length === 0 ? '  []' : `  - addresses: [${addresses.map((a) => `{ ip: ${a} }`).join(', ')}]\n    ports: [{ name: http, port: ${port} }]`}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: scaled, namespace: add }
spec:
  routes:
    - match: Host(\`scaled.test\`)
      kind: Rule
      services: [{ name: scaled, port: 80 }]
`;

function gateway(extra: string[]): Promise<TestGateway> {
  return startGateway({
    flags: [
      '--api.insecure',
      `--providers.kubernetescrd.endpoint=${api.url}`,
      `--providers.kubernetescrd.token=${api.token}`,
      `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
      '--providers.kubernetescrd.throttleduration=200ms',
      '--providers.kubernetescrd.namespaces=add',
      ...extra,
    ],
  });
}

async function status(gw: TestGateway, host: string): Promise<number> {
  return (await send(`${gw.url}/add/1/2`, { headers: { host } })).status;
}

before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 500 });
  calc = await startAddServer({ grpcPort: null });
  port = Number(new URL(calc.httpUrl).port);
  await apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: add }\n');
  await apply([SEED_CALC_YAML, addServiceYaml([{ host: '127.0.0.1', port }]), SCALED(['127.0.0.1'])].join('---\n'));
});
after(async () => {
  await calc?.close();
  await api?.close();
});

test('allowemptyservices=false (default): a Service scaled to zero → its route is gone (404), Ready=False NoEndpoints and an Event; the rest serves', async () => {
  const gw = await gateway([]);
  try {
    assert.ok(await eventually(async () => (await status(gw, 'scaled.test')) === 200, 10_000), 'serves while it has an endpoint');
    assert.ok(await eventually(async () => (await ready('scaled')).startsWith('True|Accepted|'), 10_000), await ready('scaled'));

    await apply(SCALED([]));
    assert.ok(await eventually(async () => (await status(gw, 'scaled.test')) === 404, 10_000), 'no endpoints → no route → 404');
    assert.ok(await eventually(async () => (await ready('scaled')).startsWith('False|NoEndpoints|'), 10_000), await ready('scaled'));
    assert.match(
      await ready('scaled'),
      /service add\/scaled has no endpoints; set --providers\.kubernetescrd\.allowemptyservices=true to serve 503 instead/,
    );
    // Visible where every other error is: the overview's issues and an Event on the object.
    const overview = JSON.stringify(await (await fetch(`${gw.admin}/api/overview`)).json());
    assert.match(overview, /add\/scaled has no endpoints/);
    assert.ok(
      await eventually(
        async () =>
          /IngressRoute\/scaled\|Warning\|NoEndpoints/.test(
            await api.kubectlOk([
              'get',
              'events',
              '-n',
              'add',
              '-o',
              'jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name}|{.type}|{.reason}{"\\n"}{end}',
            ]),
          ),
        10_000,
      ),
      'an Event with reason NoEndpoints',
    );
    assert.equal((await send(`${gw.url}/add/10/10`, { headers: { host: 'calc.1.1.1.1.xip.io' } })).body.trim(), '20', 'the rest serves');

    // Scaled up again: the route is back, Ready=True.
    await apply(SCALED(['127.0.0.1']));
    assert.ok(await eventually(async () => (await status(gw, 'scaled.test')) === 200, 10_000), 'an endpoint again → 200');
    assert.ok(await eventually(async () => (await ready('scaled')).startsWith('True|Accepted|'), 10_000), await ready('scaled'));
  } finally {
    await gw.close();
  }
});

test('allowemptyservices=true: a Service scaled to zero keeps its route and answers 503; Ready=True with the warning', async () => {
  await apply(SCALED([]));
  const gw = await gateway(['--providers.kubernetescrd.allowemptyservices=true']);
  try {
    assert.ok(await eventually(async () => (await status(gw, 'scaled.test')) === 503, 10_000), 'no servers → 503');
    // This gateway holds the Lease once the first one released it on close.
    assert.ok(
      await eventually(
        async () => /^True\|Accepted\|.*has no ready endpoint|^True\|Accepted\|.*answers 503/.test(await ready('scaled')),
        15_000,
      ),
      await ready('scaled'),
    );
    await apply(SCALED(['127.0.0.1']));
    assert.ok(await eventually(async () => (await status(gw, 'scaled.test')) === 200, 10_000), 'scaled up → 200');
  } finally {
    await gw.close();
  }
});
