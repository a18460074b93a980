/**
 * The Kubernetes API server stand-in (test/support/kube-apiserver/) on its own,
 * driven by the real kubectl: apply, get, patch, delete; watches with
 * increasing resourceVersions, BOOKMARK, 410 Gone after compaction; the status
 * subresource; label and field selectors; restart on the same port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { openWatch } from './support/kube-apiserver/watch-client.js';

let api: KubeApiServer;
before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 200 });
});
after(async () => {
  await api.close();
});

const route = (name: string, host: string, labels = ''): string => `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: ${name}
  namespace: demo
${labels !== '' ? `  labels: { ${labels} }\n` : ''}spec:
  routes:
    - match: Host(\`${host}\`)
      kind: Rule
      services: [{ name: calc, port: 80 }]
`;
const NS = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: demo }\n';

function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  token = api.token,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      { method, ca: api.certs.ca, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const rvOf = (o: { metadata?: Record<string, unknown> }): number => Number(o.metadata?.resourceVersion);

test('kubectl applies, reads back with jsonpath, edits and deletes; a watch sees ADDED, MODIFIED, DELETED with increasing resourceVersions', async () => {
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], NS);
  const w = await openWatch(
    api,
    '/apis/traefik.io/v1alpha1/namespaces/demo/ingressroutes?watch=1&resourceVersion=' + String(api.store.resourceVersion),
  );
  try {
    const out = await api.kubectlOk(['apply', '--validate=false', '-f', '-'], route('calc', 'a.test'));
    assert.match(out, /ingressroute.traefik.io\/calc created/);
    assert.equal(
      await api.kubectlOk(['get', 'ingressroute', 'calc', '-n', 'demo', '-o', 'jsonpath={.spec.routes[0].match}|{.metadata.generation}']),
      'Host(`a.test`)|1',
    );
    // Client-side apply of a change: GET, then a JSON merge patch with the last-applied annotation.
    assert.match(await api.kubectlOk(['apply', '--validate=false', '-f', '-'], route('calc', 'b.test')), /configured/);
    assert.equal(
      await api.kubectlOk(['get', 'ingressroute', 'calc', '-n', 'demo', '-o', 'jsonpath={.spec.routes[0].match}|{.metadata.generation}']),
      'Host(`b.test`)|2',
    );
    assert.ok(
      api.requests.some((r) => r.startsWith('PATCH /apis/traefik.io/v1alpha1/namespaces/demo/ingressroutes/calc')),
      'kubectl patched',
    );
    // kubectl patch (JSON patch) of a label: metadata only, generation unchanged.
    await api.kubectlOk([
      'patch',
      'ingressroute',
      'calc',
      '-n',
      'demo',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/labels","value":{"team":"a"}}]',
    ]);
    assert.equal(
      await api.kubectlOk(['get', 'ingressroute', 'calc', '-n', 'demo', '-o', 'jsonpath={.metadata.labels.team}|{.metadata.generation}']),
      'a|2',
    );
    assert.match(await api.kubectlOk(['delete', 'ingressroute', 'calc', '-n', 'demo']), /deleted/);
    const get = await api.kubectl(['get', 'ingressroute', 'calc', '-n', 'demo']);
    assert.notEqual(get.code, 0);
    assert.match(get.stderr, /NotFound|not found/);
    await w.until((e) => e.some((x) => x.type === 'DELETED'), 5000, 'the DELETED event');
    const types = w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => e.type);
    assert.deepEqual(types, ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    const rvs = w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => rvOf(e.object));
    for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i]! > rvs[i - 1]!, `increasing resourceVersions ${rvs.join(',')}`);
  } finally {
    w.close();
  }
});

test('watch: BOOKMARK events when asked, a replay from an old resourceVersion, 410 Gone once compacted, timeoutSeconds ends the stream', async () => {
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], NS);
  const from = api.store.resourceVersion;
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], route('one', 'one.test'));
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], route('two', 'two.test'));
  const w = await openWatch(api, `/apis/traefik.io/v1alpha1/ingressroutes?watch=1&allowWatchBookmarks=true&resourceVersion=${from}`);
  try {
    await w.until(
      (e) => e.filter((x) => x.type === 'ADDED').length === 2 && e.some((x) => x.type === 'BOOKMARK'),
      5000,
      'replay and a bookmark',
    );
    const bm = w.events.find((e) => e.type === 'BOOKMARK')!;
    assert.ok(rvOf(bm.object) >= from + 2, 'the bookmark carries the current resourceVersion');
  } finally {
    w.close();
  }
  api.compact();
  const gone = await openWatch(api, `/apis/traefik.io/v1alpha1/ingressroutes?watch=1&resourceVersion=${from}`);
  await gone.ended;
  assert.equal(gone.events.length, 1);
  assert.equal(gone.events[0]!.type, 'ERROR');
  assert.equal(gone.events[0]!.object.code, 410);
  assert.equal(gone.events[0]!.object.reason, 'Expired');
  // A current resourceVersion still watches, and timeoutSeconds ends it.
  const t0 = Date.now();
  const short = await openWatch(
    api,
    `/apis/traefik.io/v1alpha1/ingressroutes?watch=1&timeoutSeconds=1&resourceVersion=${api.store.resourceVersion}`,
  );
  await short.ended;
  assert.ok(Date.now() - t0 >= 900 && Date.now() - t0 < 5000, 'ended after about a second');
});

test('status subresource, selectors, strategic merge on built-in kinds only, bad token, restart on the same port', async () => {
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], NS);
  await api.kubectlOk(
    ['apply', '--validate=false', '-f', '-'],
    route('s1', 's1.test', 'app: "x"') + '---\n' + route('s2', 's2.test', 'app: "y"'),
  );
  const path = '/apis/traefik.io/v1alpha1/namespaces/demo/ingressroutes';
  // /status changes only the status; the main resource ignores a status.
  const st = await call(
    'PATCH',
    `${path}/s1/status`,
    { status: { conditions: [{ type: 'Ready', status: 'True' }] }, spec: { routes: [] } },
    'application/merge-patch+json',
  );
  assert.equal(st.status, 200);
  const s1 = (await call('GET', `${path}/s1`)).json as { spec: { routes: unknown[] }; status: unknown; metadata: { generation: number } };
  assert.equal(s1.spec.routes.length, 1, 'spec untouched by /status');
  assert.deepEqual(s1.status, { conditions: [{ type: 'Ready', status: 'True' }] });
  assert.equal(await api.kubectlOk(['get', 'ingressroute', 's1', '-n', 'demo', '-o', 'jsonpath={.status.conditions[0].status}']), 'True');
  await call('PATCH', `${path}/s1`, { status: { conditions: [] } }, 'application/merge-patch+json');
  assert.deepEqual(((await call('GET', `${path}/s1`)).json as { status: unknown }).status, {
    conditions: [{ type: 'Ready', status: 'True' }],
  });
  // Selectors.
  const names = async (q: string): Promise<string[]> =>
    ((await call('GET', `${path}?${q}`)).json.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name).sort();
  assert.deepEqual(await names('labelSelector=app%3Dx'), ['s1']);
  assert.deepEqual(await names('labelSelector=app%20in%20(x%2Cy)'), ['s1', 's2']);
  assert.deepEqual(await names('labelSelector=app!%3Dx'), ['one', 's2', 'two'], 'absent labels match !=');
  assert.deepEqual(await names('labelSelector=app%2Capp!%3Dx'), ['s2']);
  assert.deepEqual(await names('fieldSelector=metadata.name%3Ds2'), ['s2']);
  // Strategic merge patch: refused on custom resources (415), as the real server does.
  assert.equal((await call('PATCH', `${path}/s1`, { spec: {} }, 'application/strategic-merge-patch+json')).status, 415);
  // Built-in list items come without apiVersion/kind, custom ones with them.
  await api.kubectlOk(
    ['apply', '--validate=false', '-f', '-'],
    'apiVersion: v1\nkind: Secret\nmetadata: { name: sec, namespace: demo }\nstringData: { k: v }\n',
  );
  // Protobuf bodies (kubectl create <generator>) are refused clearly.
  assert.match((await api.kubectl(['create', 'secret', 'generic', 'pb', '-n', 'demo', '--from-literal=k=v'])).stderr, /JSON only/);
  const secrets = (await call('GET', '/api/v1/namespaces/demo/secrets')).json as {
    items: Array<Record<string, unknown>>;
    metadata: { resourceVersion: string };
  };
  assert.equal(secrets.items[0]!.kind, undefined);
  assert.equal((secrets.items[0]!.data as Record<string, string>).k, Buffer.from('v').toString('base64'));
  // Authentication.
  assert.equal((await call('GET', path, undefined, 'application/json', 'wrong')).status, 401);
  // Stop and restart on the same port keeps objects and resourceVersions.
  const rv = api.store.resourceVersion;
  const url = api.url;
  await api.stop();
  assert.notEqual((await api.kubectl(['get', 'ingressroutes', '-n', 'demo'], undefined, 10_000)).code, 0, 'kubectl fails while stopped');
  await api.restart();
  assert.equal(api.url, url);
  assert.match(await api.kubectlOk(['get', 'ingressroutes', '-n', 'demo', '-o', 'name']), /s1[\s\S]*s2/);
  assert.equal(api.store.resourceVersion, rv);
});
