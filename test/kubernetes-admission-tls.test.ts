/**
 * The admission webhook over HTTPS, end to end, with what deploy/kubernetes
 * ships: the prod overlay rendered with the admission-webhook component gives
 * the gateway's webhook flags (entry point `webhook`, TLS), the dynamic
 * configuration of its ConfigMap (the router to api@internal and the
 * certificate files, here made by openssl for gatehouse-webhook.gatehouse.svc),
 * the Service and the ValidatingWebhookConfiguration. The configuration is
 * `kubectl apply`-ed to the API server stand-in with the CA as caBundle (what
 * cert-manager's CA injector does); the stand-in then calls
 * https://gatehouse-webhook.gatehouse.svc:443 (reached through the Service's
 * Endpoints, verified against caBundle for that name) as the API server does.
 *
 * Shown: a broken IngressRoute refused with the gateway's message, a good one
 * applied; a caBundle of another CA → the stand-in cannot verify → Ignore (the
 * manifest's default) admits the object, Fail refuses it with the TLS error; a
 * Service name the certificate is not for → refused the same way; the stand-in
 * refuses a webhook configuration over http:// or without sideEffects.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { addServiceYaml } from '../src/demo/scenario.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML, read field by field
type Obj = Record<string, any>;

const NS = 'gatehouse';
const HOOK = 'validate.gatehouse.dev';
let api: KubeApiServer;
let gw: TestGateway;
let dir: string;
let manifests: Obj[];
let webhookPort: number;
let caPem: string;
let otherCaPem: string;

/** The prod overlay with the admission-webhook component, rendered by the real kubectl. */
function renderWithComponent(): Obj[] {
  const copy = mkdtempSync(join(tmpdir(), 'gh-webhook-render-'));
  try {
    cpSync('deploy/kubernetes', copy, { recursive: true });
    const k = join(copy, 'overlays', 'prod', 'kustomization.yaml');
    writeFileSync(k, `${readFileSync(k, 'utf8')}\ncomponents:\n  - ../../components/admission-webhook\n`);
    const out = execFileSync('kubectl', ['kustomize', join(copy, 'overlays', 'prod')], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
const one = (kind: string, name?: string): Obj => {
  const found = manifests.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind} ${name ?? ''}`);
  return structuredClone(found[0]!);
};

const EC = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1';
/** Runs openssl in the test's directory (arguments separated by spaces; none contains one). */
function openssl(args: string): void {
  execFileSync('openssl', args.split(' '), { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}
/** A CA (`<name>.crt`, `<name>.key`), made by openssl. */
function makeCa(name: string): string {
  openssl(`req -x509 ${EC} -nodes -keyout ${name}.key -out ${name}.crt -days 2 -subj /CN=${name}`);
  return readFileSync(join(dir, `${name}.crt`), 'utf8');
}

/** The webhook configuration as rendered, with a caBundle (and optionally another failurePolicy or Service). */
function webhookYaml(ca: string, opts: { failurePolicy?: 'Ignore' | 'Fail'; service?: string } = {}): string {
  const vwc = one('ValidatingWebhookConfiguration');
  const w = vwc.webhooks[0];
  w.clientConfig.caBundle = Buffer.from(ca).toString('base64');
  if (opts.failurePolicy !== undefined) w.failurePolicy = opts.failurePolicy;
  if (opts.service !== undefined) w.clientConfig.service.name = opts.service;
  return stringify(vwc);
}

/** A Service like the manifest's, and its Endpoints pointing at the gateway's webhook port (what the Service's pods would be). */
function serviceYaml(name: string): string {
  const svc = one('Service', 'gatehouse-webhook');
  svc.metadata.name = name;
  const port = svc.spec.ports[0];
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: NS },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: port.name, port: webhookPort, protocol: 'TCP' }] }],
  };
  return `${stringify(svc)}---\n${stringify(endpoints)}`;
}

const ingressRoute = (name: string, middleware: string, rule = `Host(\`${name}.test\`)`): string => `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: ${name}, namespace: add }
spec:
  routes:
    - match: ${rule}
      kind: Rule
      middlewares: [{ name: ${middleware} }]
      services: [{ name: add-svc, port: 80 }]
`;

before(async () => {
  manifests = renderWithComponent();
  dir = mkdtempSync(join(tmpdir(), 'gh-webhook-tls-'));
  // The serving certificate for the Service's name, signed by a CA (as the component's cert-manager Issuer does).
  caPem = makeCa('webhook-ca');
  otherCaPem = makeCa('other-ca');
  const dnsNames = one('Certificate', 'gatehouse-webhook').spec.dnsNames as string[];
  assert.ok(dnsNames.includes(`gatehouse-webhook.${NS}.svc`));
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  const tlsDir = join(dir, 'webhook-tls');
  mkdirSync(tlsDir);
  openssl(`req ${EC} -nodes -keyout ${join(tlsDir, 'tls.key')} -out server.csr -subj /CN=gatehouse-webhook.${NS}.svc`);
  openssl(
    `x509 -req -in server.csr -CA webhook-ca.crt -CAkey webhook-ca.key -CAcreateserial -out ${join(tlsDir, 'tls.crt')} -days 2 -extfile ext.cnf`,
  );

  // The container's webhook flags and the ConfigMap's dynamic configuration, with the Secret's mount path moved here.
  const pod = one('Deployment').spec.template.spec;
  const c = pod.containers[0];
  const secretVolume = (pod.volumes as Obj[]).find((v) => v.secret?.secretName === 'gatehouse-webhook-tls')!;
  const mountPath = (c.volumeMounts as Obj[]).find((m) => m.name === secretVolume.name)!.mountPath as string;
  const dynamic = (one('ConfigMap').data['dynamic.yaml'] as string).replaceAll(`${mountPath}/`, `${tlsDir}/`);
  assert.ok(dynamic.includes(join(tlsDir, 'tls.crt')), 'the dynamic configuration reads the mounted Secret');
  const flags = (c.args as string[])
    .filter((a) => a.startsWith('--entrypoints.webhook.') || a === '--entrypoints.web.asdefault=true' || a === '--api')
    // Not the drain on SIGTERM (requestAcceptGraceTimeout): no load balancer to leave here, it would only slow the close.
    .filter((a) => !a.includes('.transport.lifecycle.'))
    .map((a) => (a.startsWith('--entrypoints.webhook.address=') ? '--entrypoints.webhook.address=127.0.0.1:0' : a));
  assert.ok(flags.includes('--entrypoints.webhook.http.tls=true'), flags.join(' '));

  api = await KubeApiServer.start({ bookmarkMs: 500 });
  for (const ns of ['add', NS])
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`);
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], addServiceYaml([{ host: '127.0.0.1', port: 9 }]));
  await api.kubectlOk(
    ['apply', '--validate=false', '-f', '-'],
    'apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: { name: strip, namespace: add }\nspec: { stripPrefix: { prefixes: [/x] } }\n',
  );
  gw = await startGateway({
    files: { 'webhook.yaml': dynamic },
    flags: [
      ...flags,
      `--providers.kubernetescrd.endpoint=${api.url}`,
      `--providers.kubernetescrd.token=${api.token}`,
      `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
      '--providers.kubernetescrd.throttleduration=200ms',
    ],
  });
  webhookPort = gw.running.addresses.webhook!.port;
  // Ready when the webhook answers over TLS for its name (GET: 405 from the admission handler) and holds the Middleware.
  assert.ok(await eventually(async () => (await probe()) === 405, 15_000, 200), 'the webhook entry point answers over TLS');
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], serviceYaml('gatehouse-webhook'));
});

after(async () => {
  await gw?.close();
  await api?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** GET the webhook path over TLS, verifying the certificate for the Service's name against the CA. */
function probe(): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: webhookPort,
        path: '/api/admission/validate',
        servername: `gatehouse-webhook.${NS}.svc`,
        ca: caPem,
        agent: false,
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function remove(name: string): Promise<void> {
  await api.kubectl(['delete', 'ingressroute', name, '-n', 'add', '--ignore-not-found']);
}

test('kubectl apply of the rendered ValidatingWebhookConfiguration with caBundle: a broken IngressRoute is refused over HTTPS', async () => {
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], webhookYaml(caPem));
  assert.match(await api.kubectlOk(['get', 'validatingwebhookconfiguration', '-o', 'name']), /gatehouse-validate/);
  const failuresBefore = api.webhooks.failures.length;
  const callsBefore = api.webhooks.calls.get(HOOK) ?? 0;
  try {
    const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], ingressRoute('broken', 'missing-mw'));
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(
      r.stderr,
      /admission webhook "validate\.gatehouse\.dev" denied the request: IngressRoute\/add\/broken .*the middleware "add-missing-mw@kubernetescrd" does not exist/,
    );
    assert.equal((await api.kubectl(['get', 'ingressroute', 'broken', '-n', 'add'])).code, 1, 'not stored');
    // The good version goes in; breaking its rule in an update is refused.
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], ingressRoute('broken', 'strip'));
    const u = await api.kubectl(['apply', '--validate=false', '-f', '-'], ingressRoute('broken', 'strip', 'Host(`broken.test`'));
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /denied the request: .*field rule: invalid rule/);
    assert.ok((api.webhooks.calls.get(HOOK) ?? 0) >= callsBefore + 3);
    assert.deepEqual(api.webhooks.failures.slice(failuresBefore), [], 'every call went through TLS verification');
  } finally {
    await remove('broken');
  }
});

test('a caBundle of another CA: Ignore (the default) admits the object, Fail refuses it with the TLS error', async () => {
  try {
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], webhookYaml(otherCaPem));
    const failuresBefore = api.webhooks.failures.length;
    // failurePolicy Ignore: the call fails, the broken object is let in (and the gateway reports it in its status).
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], ingressRoute('ignored', 'missing-mw'));
    assert.match(await api.kubectlOk(['get', 'ingressroute', 'ignored', '-n', 'add', '-o', 'name']), /ignored/);
    const failed = api.webhooks.failures.slice(failuresBefore);
    assert.equal(failed.length, 1, JSON.stringify(failed));
    assert.equal(failed[0]!.webhook, HOOK);
    assert.match(failed[0]!.error, /certificate signed by unknown authority/);

    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], webhookYaml(otherCaPem, { failurePolicy: 'Fail' }));
    const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], ingressRoute('failed', 'strip'));
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(
      r.stderr,
      /failed calling webhook "validate\.gatehouse\.dev": failed to call webhook: Post "https:\/\/gatehouse-webhook\.gatehouse\.svc:443\/api\/admission\/validate\?timeout=5s": tls: failed to verify certificate: x509: certificate signed by unknown authority/,
    );
    assert.equal((await api.kubectl(['get', 'ingressroute', 'failed', '-n', 'add'])).code, 1, 'not stored');
  } finally {
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], webhookYaml(caPem));
    await remove('ignored');
    await remove('failed');
  }
});

test('the right CA but a Service name the certificate is not for: the name does not verify (Fail refuses)', async () => {
  await api.kubectlOk(['apply', '--validate=false', '-f', '-'], serviceYaml('gatehouse-hook-other'));
  try {
    await api.kubectlOk(
      ['apply', '--validate=false', '-f', '-'],
      webhookYaml(caPem, { failurePolicy: 'Fail', service: 'gatehouse-hook-other' }),
    );
    const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], ingressRoute('misnamed', 'strip'));
    assert.notEqual(r.code, 0, r.stdout);
    // The gateway has no certificate for that name: it answers with its generated default one, which the CA did not sign.
    assert.match(r.stderr, /Post "https:\/\/gatehouse-hook-other\.gatehouse\.svc:443\/.*": tls: failed to verify certificate: x509: /);
  } finally {
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], webhookYaml(caPem));
    await remove('misnamed');
  }
});

test('the stand-in refuses a webhook configuration the API server refuses: http:// URLs, no sideEffects', async () => {
  const bad = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: bad-hook }
webhooks:
  - name: bad.gatehouse.dev
    admissionReviewVersions: [v1]
    clientConfig: { url: "http://127.0.0.1:${webhookPort}/api/admission/validate" }
    rules: [{ apiGroups: [traefik.io], apiVersions: [v1alpha1], operations: [CREATE], resources: [ingressroutes] }]
`;
  const r = await api.kubectl(['apply', '--validate=false', '-f', '-'], bad);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /webhooks\[0\]\.clientConfig\.url: Invalid value: "http:\/\/127\.0\.0\.1:\d+\/api\/admission\/validate": 'https' is the only allowed URL scheme/,
  );
  assert.match(r.stderr, /webhooks\[0\]\.sideEffects: Required value/);
  assert.equal((await api.kubectl(['get', 'validatingwebhookconfiguration', 'bad-hook'])).code, 1);
});
