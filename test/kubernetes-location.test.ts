/**
 * Where the live kubernetescrd provider finds the API server when no
 * `.endpoint` flag is given, against the API server stand-in: only
 * `KUBECONFIG=<file>` (the stand-in's kubeconfig: server, CA file, token);
 * in-cluster (`KUBERNETES_SERVICE_HOST`/`PORT` and a service-account
 * directory — moved for the test with GATEHOUSE_SERVICEACCOUNT_DIR, never
 * /var/run), including a rotated service-account token that is read again.
 * The gateway runs in this process, so the environment is set around its start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { send } from './support/http-request.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { addServiceYaml, SEED_CALC_YAML } from '../src/demo/scenario.js';
import { SERVICE_ACCOUNT_DIR_ENV } from '../src/providers/kubernetes/options.js';

let api: KubeApiServer;
let calc: RunningAddServer;

const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '--validate=false', '-f', '-'], yaml);
const ENV_KEYS = ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'POD_NAMESPACE', SERVICE_ACCOUNT_DIR_ENV];

/** Start a gateway with only `--providers.kubernetescrd` and these variables set (restored once it runs). */
async function gatewayWithEnv(env: Record<string, string>): Promise<TestGateway> {
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await startGateway({
      flags: ['--api.insecure', '--providers.kubernetescrd', '--providers.kubernetescrd.throttleduration=200ms'],
    });
  } finally {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

const calcHost = (host: string): string => SEED_CALC_YAML.replace('calc.1.1.1.1.xip.io', host);

async function body(gw: TestGateway, host: string): Promise<string> {
  const r = await send(`${gw.url}/add/20/22`, { headers: { host } });
  return r.status === 200 ? r.body.trim() : `HTTP ${r.status}`;
}

async function providerEntry(gw: TestGateway): Promise<Record<string, unknown> | undefined> {
  const list = (await (await fetch(`${gw.admin}/api/providers`)).json()) as Array<Record<string, unknown>>;
  return list.find((p) => p.name === 'kubernetescrd');
}

before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 500 });
  calc = await startAddServer({ grpcPort: null });
  await apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: add }\n');
  await apply([SEED_CALC_YAML, addServiceYaml([{ host: '127.0.0.1', port: Number(new URL(calc.httpUrl).port) }])].join('---\n'));
});
after(async () => {
  await calc?.close();
  await api?.close();
});

test('only KUBECONFIG=<file> (server, CA file, token of its current context): the objects are watched and served', async () => {
  const gw = await gatewayWithEnv({ KUBECONFIG: api.kubeconfig });
  try {
    assert.ok(
      await eventually(async () => (await body(gw, 'calc.1.1.1.1.xip.io')) === '42', 10_000),
      await body(gw, 'calc.1.1.1.1.xip.io'),
    );
    const entry = await providerEntry(gw);
    assert.equal(entry?.url, api.url, 'the status names the API server of the kubeconfig');
    assert.ok(!JSON.stringify(entry).includes(api.token), 'never the token');
    // A change is followed (the watch works, not only the first list).
    await apply(calcHost('kubeconfig.test'));
    assert.ok(await eventually(async () => (await body(gw, 'kubeconfig.test')) === '42', 10_000), await body(gw, 'kubeconfig.test'));
  } finally {
    await gw.close();
    await apply(SEED_CALC_YAML);
  }
});

test('in-cluster: KUBERNETES_SERVICE_HOST/PORT + the service-account token, CA and namespace; a rotated token file is read again', async () => {
  const sa = api.serviceAccountDir('add');
  const url = new URL(api.url);
  const gw = await gatewayWithEnv({
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port,
    [SERVICE_ACCOUNT_DIR_ENV]: sa,
  });
  try {
    assert.ok(
      await eventually(async () => (await body(gw, 'calc.1.1.1.1.xip.io')) === '42', 10_000),
      await body(gw, 'calc.1.1.1.1.xip.io'),
    );
    assert.equal((await providerEntry(gw))?.url, `https://${url.hostname}:${url.port}`);
    // The Lease is in the namespace of the service-account `namespace` file (no flag, no POD_NAMESPACE).
    assert.ok(
      await eventually(
        async () =>
          (await api
            .kubectlOk(['get', 'lease', 'gatehouse-status', '-n', 'add', '-o', 'jsonpath={.spec.holderIdentity}'])
            .catch(() => '')) !== '',
        10_000,
      ),
      'the gatehouse-status Lease is held in namespace add',
    );

    // The kubelet rotates the projected token: the API server accepts only the new one from now on.
    const old = api.token;
    api.rotateToken(join(sa, 'token'));
    assert.notEqual((await api.kubectl(['--token', old, 'get', 'namespaces'])).code, 0, 'the old token is refused by the API server');
    // Watches opened with the old token end (as at the API server's watch timeout): every new request needs the new token.
    api.endWatches();
    await apply(calcHost('rotated.test'));
    assert.ok(
      await eventually(async () => (await body(gw, 'rotated.test')) === '42', 15_000),
      `a change after the rotation is seen (${await body(gw, 'rotated.test')}; ${JSON.stringify(await providerEntry(gw))})`,
    );
    const entry = await providerEntry(gw);
    assert.equal((entry?.conditions as Array<{ status: string }> | undefined)?.[0]?.status, 'True', JSON.stringify(entry));
    assert.ok(!JSON.stringify(entry).includes(api.token) && !JSON.stringify(entry).includes(old), 'never a token');
  } finally {
    await gw.close();
    await apply(SEED_CALC_YAML);
  }
});
