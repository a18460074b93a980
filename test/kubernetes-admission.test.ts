/**
 * The validating admission webhook (`POST /api/admission/validate`) of a
 * gateway watching the API server stand-in: direct AdmissionReviews (allowed,
 * each refusal kind with the gateway's own message, malformed, DELETE, size
 * cap) and, through the stand-in calling the webhook, the real kubectl:
 * a broken IngressRoute refused with the message on kubectl's stderr, a good
 * one applied, a webhook that cannot be reached → Ignore lets in, Fail refuses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { findResource } from './support/kube-apiserver/resources.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { addServiceYaml } from '../src/demo/scenario.js';

let api: KubeApiServer;
let calc: RunningAddServer;
let gw: TestGateway;
let hook: string;

const route = (name: string, match: string, extra = ''): Record<string, unknown> => ({
  apiVersion: 'traefik.io/v1alpha1',
  kind: 'IngressRoute',
  metadata: { name, namespace: 'add' },
  spec: { routes: [{ match, kind: 'Rule', services: [{ name: 'add-svc', port: 80 }], ...(extra !== '' ? JSON.parse(extra) : {}) }] },
});

function review(object: unknown, operation = 'CREATE', uid = 'uid-1'): Record<string, unknown> {
  const o = object as { kind: string; apiVersion: string; metadata: { name: string } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: o.apiVersion.split('/')[0], version: 'v1alpha1', kind: o.kind },
      operation,
      namespace: 'add',
      name: o.metadata.name,
      object: operation === 'DELETE' ? null : object,
    },
  };
}

async function post(
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the AdmissionReview JSON, read field by field
): Promise<{ status: number; json: any }> {
  const r = await fetch(hook, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  api = await KubeApiServer.start({ bookmarkMs: 500 });
  calc = await startAddServer({ grpcPort: null });
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: { name: add }\n');
  await api.kubectlOk(
    ['apply', '--validate=false', '-f', '-'],
    addServiceYaml([{ host: '127.0.0.1', port: Number(new URL(calc.httpUrl).port) }]),
  );
  await api.kubectlOk(
    ['apply', '--validate=false', '-f', '-'],
    `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: strip, namespace: add }
spec: { stripPrefix: { prefixes: [/x] } }
`,
  );
  gw = await startGateway({
    flags: [
      '--api.insecure',
      `--providers.kubernetescrd.endpoint=${api.url}`,
      `--providers.kubernetescrd.token=${api.token}`,
      `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
      '--providers.kubernetescrd.throttleduration=200ms',
    ],
  });
  hook = `${gw.admin}/api/admission/validate`;
  // The gateway holds the Middleware before any review runs.
  assert.ok(
    await eventually(
      async () => JSON.stringify(await (await fetch(`${gw.admin}/api/http/middlewares`)).json()).includes('add-strip'),
      10_000,
    ),
  );
});
after(async () => {
  await gw?.close();
  await calc?.close();
  await api?.close();
});

test('a good IngressRoute is allowed; request.uid is echoed', async () => {
  const r = await post(review(route('good', 'Host(`good.test`)', '{"middlewares":[{"name":"strip"}]}'), 'CREATE', 'abc-123'));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.apiVersion, 'admission.k8s.io/v1');
  assert.equal(r.json.kind, 'AdmissionReview');
  assert.equal(r.json.response.uid, 'abc-123');
  assert.equal(r.json.response.allowed, true, JSON.stringify(r.json));
});

test('a bad rule is refused with the message the gateway reports for the same object', async () => {
  const bad = route('badrule', 'Host(`a.test`');
  const r = await post(review(bad));
  assert.equal(r.json.response.allowed, false);
  assert.equal(r.json.response.status.code, 400);
  const message: string = r.json.response.status.message;
  assert.match(
    message,
    /IngressRoute\/add\/badrule \(https:\/\/127\.0\.0\.1:\d+\): router "add-badrule-[0-9a-f]+@kubernetescrd": field rule: invalid rule/,
  );
  // The same object let in behind the webhook's back: the gateway's own errors for it are the same text.
  api.store.create(findResource('traefik.io', 'v1alpha1', 'ingressroutes')!, 'add', bad);
  let errors: string[] = [];
  assert.ok(
    await eventually(async () => {
      const ov = (await (await fetch(`${gw.admin}/api/overview`)).json()) as { errors: string[] };
      errors = ov.errors.filter((e) => e.includes('IngressRoute/add/badrule '));
      return errors.length > 0;
    }, 10_000),
  );
  assert.equal(message, errors.join('; '));
  await api.kubectlOk(['delete', 'ingressroute', 'badrule', '-n', 'add']);
});

test('an unknown middleware type, a bad regular expression and an unresolvable reference are refused', async () => {
  const unknownType = {
    apiVersion: 'traefik.containo.us/v1alpha1',
    kind: 'Middleware',
    metadata: { name: 'odd', namespace: 'add' },
    spec: { noSuchMiddleware: {} },
  };
  let r = await post(review(unknownType));
  assert.equal(r.json.response.allowed, false);
  assert.match(
    r.json.response.status.message,
    /Middleware\/add\/odd .*middleware "add-odd@kubernetescrd": field noSuchMiddleware: unknown middleware type "noSuchMiddleware"/,
  );

  r = await post(review(route('regex', 'PathRegexp(`^/(a`)')));
  assert.equal(r.json.response.allowed, false);
  assert.match(r.json.response.status.message, /IngressRoute\/add\/regex .*field rule: /);

  r = await post(review(route('ref', 'Host(`ref.test`)', '{"middlewares":[{"name":"does-not-exist"}]}')));
  assert.equal(r.json.response.allowed, false);
  assert.match(r.json.response.status.message, /field middlewares: the middleware "add-does-not-exist@kubernetescrd" does not exist/);

  r = await post(
    review({
      ...route('svc', 'Host(`svc.test`)'),
      spec: { routes: [{ match: 'Host(`svc.test`)', services: [{ name: 'nope', port: 80 }] }] },
    }),
  );
  assert.equal(r.json.response.allowed, false);
  assert.match(r.json.response.status.message, /Kubernetes Service add\/nope not found/);
});

test('DELETE is allowed; malformed 400; non-JSON 415; GET 405; over 1 MiB 413', async () => {
  const d = await post(review(route('x', 'Host(`a`'), 'DELETE', 'del-1'));
  assert.equal(d.status, 200);
  assert.deepEqual([d.json.response.uid, d.json.response.allowed], ['del-1', true]);
  assert.equal((await post('{not json')).status, 400);
  assert.equal((await post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })).status, 400);
  assert.equal((await post({ kind: 'AdmissionReview', apiVersion: 'v1beta9', request: {} })).status, 400);
  assert.equal((await post(review(route('x', 'Host(`a`)')), { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await fetch(hook)).status, 405);
  const big = JSON.stringify(
    review({ ...route('big', 'Host(`a`)'), metadata: { name: 'big', namespace: 'add', annotations: { a: 'x'.repeat(1024 * 1024) } } }),
  );
  assert.equal((await post(big)).status, 413);
});

test('through the stand-in with kubectl: a broken IngressRoute is refused with the message; a good one is applied', async () => {
  api.webhooks.register({
    name: 'validate.gatehouse.dev',
    url: hook,
    failurePolicy: 'Fail',
    timeoutSeconds: 5,
    rules: [{ apiGroups: ['traefik.io', 'traefik.containo.us', 'gatehouse.dev'], resources: ['*'] }],
  });
  try {
    const broken = `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: broken, namespace: add }
spec:
  routes:
    - match: Host(\`broken.test\`)
      kind: Rule
      middlewares: [{ name: missing-mw }]
      services: [{ name: add-svc, port: 80 }]
`;
    const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], broken);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /admission webhook "validate\.gatehouse\.dev" denied the request: .*the middleware "add-missing-mw@kubernetescrd" does not exist/,
    );
    assert.equal((await api.kubectl(['get', 'ingressroute', 'broken', '-n', 'add'])).code, 1, 'not stored');
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], broken.replace('missing-mw', 'strip'));
    assert.match(await api.kubectlOk(['get', 'ingressroute', 'broken', '-n', 'add', '-o', 'name']), /broken/);
    // An UPDATE that breaks it is refused too (kubectl apply → PATCH).
    const u = await api.kubectl(['apply', '--validate=false', '-f', '-'], broken.replace('Host(`broken.test`)', 'Host(`broken.test`'));
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /denied the request: .*field rule: invalid rule/);
    assert.ok((api.webhooks.calls.get('validate.gatehouse.dev') ?? 0) >= 3);
    await api.kubectlOk(['delete', 'ingressroute', 'broken', '-n', 'add']);
  } finally {
    api.webhooks.unregister('validate.gatehouse.dev');
  }
});

test('the webhook unreachable: failurePolicy Ignore lets the object in, Fail refuses it', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/api/admission/validate`;
  const rules = [{ apiGroups: ['traefik.io'], resources: ['ingressroutes'] }];
  const obj = (n: string): string =>
    `apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: { name: ${n}, namespace: add }\nspec: { routes: [{ match: "Host(\`x\`)", kind: Rule, services: [{ name: add-svc, port: 80 }] }] }\n`;
  api.webhooks.register({ name: 'down.gatehouse.dev', url, failurePolicy: 'Ignore', timeoutSeconds: 2, rules });
  try {
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], obj('ignored'));
    api.webhooks.register({ name: 'down.gatehouse.dev', url, failurePolicy: 'Fail', timeoutSeconds: 2, rules });
    const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], obj('failed'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed calling webhook "down\.gatehouse\.dev"/);
    assert.equal((await api.kubectl(['get', 'ingressroute', 'failed', '-n', 'add'])).code, 1);
  } finally {
    api.webhooks.unregister('down.gatehouse.dev');
    await api.kubectl(['delete', 'ingressroute', 'ignored', '-n', 'add']);
  }
});
