/**
 * deploy/kubernetes/: the real `kubectl kustomize` (kustomize 5.x built into
 * kubectl) renders both overlays and the CRDs, and this test checks what it
 * renders: the kinds, the Deployment (replicas, security, probes, grace
 * period), the seed's Service 80 → 8000, RBAC verbs exactly the least-privilege
 * set, that `gatehouse check --offline` accepts the container's flags, and,
 * rendered with the admission-webhook component, that the webhook is wired:
 * Service, TLS entry point, cert-manager Certificate and inject annotation, the
 * Secret mounted, the dynamic configuration reading it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CRD_KINDS, OPTIONAL_KINDS } from '../src/providers/kubernetes/kinds.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML, read field by field
type Obj = Record<string, any>;

function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
}
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind} ${name ?? ''}`);
  return found[0]!;
};

const KINDS = [
  'ClusterRole',
  'ClusterRoleBinding',
  'Deployment',
  'HorizontalPodAutoscaler',
  'Namespace',
  'PodDisruptionBudget',
  'Role',
  'RoleBinding',
  'Service',
  'ServiceAccount',
].sort();

const key = (r: Obj): string[] => {
  const out: string[] = [];
  for (const g of r.apiGroups as string[])
    for (const res of r.resources as string[]) for (const v of r.verbs as string[]) out.push(`${g}/${res}:${v}`);
  return out;
};

/** The least-privilege set, written out: reading what the provider watches, writing status, events and the lease. */
function expectedClusterRules(): string[] {
  const out: string[] = [];
  const read = ['get', 'list', 'watch'];
  for (const r of ['services', 'endpoints', 'secrets']) for (const v of read) out.push(`/${r}:${v}`);
  for (const v of read) out.push(`discovery.k8s.io/endpointslices:${v}`);
  for (const k of [...CRD_KINDS, ...OPTIONAL_KINDS]) for (const v of read) out.push(`${k.group}/${k.plural}:${v}`);
  for (const g of ['traefik.io', 'traefik.containo.us']) {
    for (const r of ['ingressroutes', 'middlewares', 'traefikservices'])
      for (const v of ['update', 'patch']) out.push(`${g}/${r}/status:${v}`);
  }
  out.push('/events:create', '/events:patch');
  return out.sort();
}

/** The overlay rendered with `components: [../../components/admission-webhook]` added (a copy of deploy/kubernetes). */
function renderWithWebhook(overlay: string): Obj[] {
  const copy = mkdtempSync(join(tmpdir(), 'gh-webhook-'));
  try {
    cpSync('deploy/kubernetes', copy, { recursive: true });
    const k = join(copy, 'overlays', overlay, 'kustomization.yaml');
    writeFileSync(k, `${readFileSync(k, 'utf8')}\ncomponents:\n  - ../../components/admission-webhook\n`);
    return render(join(copy, 'overlays', overlay));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * The admission-webhook component in an overlay: the webhook calls the webhook Service of
 * the overlay's namespace on a port that reaches the TLS entry point; cert-manager injects
 * the CA of the Certificate whose Secret the Deployment mounts; the certificate is for the
 * Service's name; the file provider reads the ConfigMap with the router to api@internal and
 * the certificate files from that mount.
 */
function checkWebhookComponent(overlay: string, ns: string): void {
  const objs = renderWithWebhook(overlay);
  assert.deepEqual(
    [...new Set(objs.map((o) => o.kind as string))].sort(),
    [...KINDS, 'Certificate', 'ConfigMap', 'Issuer', 'ValidatingWebhookConfiguration'].sort(),
  );
  const vwc = one(objs, 'ValidatingWebhookConfiguration');
  if (overlay === 'dev') assert.equal(vwc.metadata.name, 'gatehouse-validate-dev', 'dev and prod webhook configurations must not clash');
  const hook = vwc.webhooks[0];
  assert.equal(hook.failurePolicy, 'Ignore', 'Ignore by default (docs/kubernetes.md)');
  assert.equal(hook.sideEffects, 'None');
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.equal(hook.clientConfig.url, undefined);
  assert.equal(hook.clientConfig.caBundle, undefined, 'injected by cert-manager');
  const ref = hook.clientConfig.service;
  assert.equal(ref.path, '/api/admission/validate');
  const svc = one(objs, 'Service', ref.name);
  assert.equal(ref.namespace, ns, 'the webhook calls the Service of this namespace');
  assert.equal(svc.metadata.namespace, ns);
  const port = (svc.spec.ports as Obj[]).find((p) => p.port === ref.port);
  assert.ok(port, `the Service has port ${ref.port}`);

  // The Service's target port is the container port of the webhook entry point, which serves TLS.
  const dep = one(objs, 'Deployment');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const cport = (c.ports as Obj[]).find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
  assert.ok(cport, `container port ${String(port.targetPort)}`);
  const args = c.args as string[];
  const epArg = args.find((a) => a.endsWith(`.address=:${cport.containerPort}`))!;
  assert.ok(epArg, `an entry point listens on ${cport.containerPort}`);
  const ep = /^--entrypoints\.([^.]+)\.address=/.exec(epArg)![1]!;
  assert.ok(args.includes(`--entrypoints.${ep}.http.tls=true`), `entry point ${ep} serves TLS`);
  assert.ok(args.includes('--entrypoints.web.asdefault=true'), 'routers without entryPoints stay on web');

  // cert-manager: the inject annotation names the Certificate whose Secret the Deployment mounts.
  const [certNs, certName] = (vwc.metadata.annotations['cert-manager.io/inject-ca-from'] as string).split('/');
  assert.equal(certNs, ns);
  const cert = one(objs, 'Certificate', certName);
  assert.equal(cert.metadata.namespace, ns);
  assert.equal(cert.spec.secretName, 'gatehouse-webhook-tls');
  assert.ok((cert.spec.dnsNames as string[]).includes(`${ref.name}.${ns}.svc`), 'the certificate is for the name the API server calls');
  const issuer = one(objs, 'Issuer', cert.spec.issuerRef.name);
  // Its issuer is a CA whose key pair is a CA Certificate issued by a self-signed Issuer.
  const caCert = (objs as Obj[]).find((o) => o.kind === 'Certificate' && o.spec.secretName === issuer.spec.ca.secretName)!;
  assert.equal(caCert.spec.isCA, true);
  assert.deepEqual(one(objs, 'Issuer', caCert.spec.issuerRef.name).spec.selfSigned, {});
  const tlsVolume = (pod.volumes as Obj[]).find((v) => v.secret?.secretName === cert.spec.secretName);
  assert.ok(tlsVolume, 'the Deployment mounts the Secret');
  const tlsMount = (c.volumeMounts as Obj[]).find((m) => m.name === tlsVolume.name)!;
  assert.equal(tlsMount.readOnly, true);

  // The file provider reads the ConfigMap: the router to api@internal on that entry point, the certificate from the mount.
  const dirArg = args.find((a) => a.startsWith('--providers.file.directory='))!;
  const cmMount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dirArg.split('=')[1])!;
  assert.ok(cmMount, 'the file provider directory is mounted');
  const cm = one(objs, 'ConfigMap');
  assert.equal((pod.volumes as Obj[]).find((v) => v.name === cmMount.name)!.configMap.name, cm.metadata.name);
  const dyn = parseAllDocuments(cm.data['dynamic.yaml'] as string)[0]!.toJSON() as Obj;
  const router = Object.values(dyn.http.routers as Record<string, Obj>)[0]!;
  assert.deepEqual([router.entryPoints, router.rule, router.service], [[ep], 'Path(`/api/admission/validate`)', 'api@internal']);
  assert.ok(router.tls);
  assert.deepEqual(dyn.tls.certificates, [{ certFile: `${tlsMount.mountPath}/tls.crt`, keyFile: `${tlsMount.mountPath}/tls.key` }]);
  assert.ok(args.includes('--api'), 'api@internal is enabled');
}

for (const overlay of ['dev', 'prod'] as const) {
  test(`kubectl kustomize overlays/${overlay} renders what the docs promise`, () => {
    const objs = render(`deploy/kubernetes/overlays/${overlay}`);
    const ns = overlay === 'prod' ? 'gatehouse' : 'gatehouse-dev';
    assert.deepEqual([...new Set(objs.map((o) => o.kind as string))].sort(), KINDS);
    assert.equal(one(objs, 'Namespace').metadata.name, ns);
    for (const o of objs) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration'].includes(o.kind)) continue;
      assert.equal(o.metadata.namespace, ns, `${o.kind} ${o.metadata.name} namespace`);
    }

    const dep = one(objs, 'Deployment');
    assert.equal(dep.spec.replicas, overlay === 'prod' ? 3 : 1);
    const pod = dep.spec.template.spec;
    assert.equal(pod.serviceAccountName, one(objs, 'ServiceAccount').metadata.name);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    const c = pod.containers[0];
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.readinessProbe.httpGet.path, '/ping');
    assert.equal(c.livenessProbe.httpGet.path, '/ping');
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.ok(pod.topologySpreadConstraints.length >= 1);
    // The datadir is a writable emptyDir (the root filesystem is read-only).
    const datadir = (c.args as string[]).find((a) => a.startsWith('--datadir='))!.slice('--datadir='.length);
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === datadir)!;
    assert.ok(mount, 'datadir mounted');
    assert.ok((pod.volumes as Obj[]).find((v) => v.name === mount.name)!.emptyDir);
    // Terminating: requestAcceptGraceTimeout + graceTimeOut (default 10s) < terminationGracePeriodSeconds.
    const seconds = (flag: string, dflt: number): number => {
      const a = (c.args as string[]).find((x) => x.toLowerCase().startsWith(`--entrypoints.web.transport.lifecycle.${flag}=`));
      return a === undefined ? dflt : Number(a.split('=')[1]!.replace(/s$/, ''));
    };
    assert.equal(seconds('requestacceptgracetimeout', 0), 5);
    assert.ok(pod.terminationGracePeriodSeconds > seconds('requestacceptgracetimeout', 0) + seconds('gracetimeout', 10));
    assert.ok((c.args as string[]).includes('--providers.kubernetescrd'));
    assert.equal(c.env.find((e: Obj) => e.name === 'GATEHOUSE_LOG_LEVEL').value, overlay === 'dev' ? 'DEBUG' : 'INFO');
    if (overlay === 'prod') assert.equal(c.resources.requests.cpu, '1');

    const svc = one(objs, 'Service', 'gatehouse');
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.deepEqual(
      svc.spec.ports.map((p: Obj) => [p.port, p.targetPort]),
      [[80, 8000]],
    );
    assert.ok((c.ports as Obj[]).some((p) => p.containerPort === 8000));
    const admin = one(objs, 'Service', 'gatehouse-admin');
    assert.equal(admin.spec.type, 'ClusterIP');
    assert.deepEqual(
      admin.spec.ports.map((p: Obj) => [p.port, p.targetPort]),
      [[8080, 8080]],
    );
    assert.ok((c.args as string[]).includes('--entrypoints.web.address=:8000'));
    assert.ok((c.args as string[]).includes('--entrypoints.traefik.address=:8080'));

    assert.equal(one(objs, 'PodDisruptionBudget').spec.minAvailable, overlay === 'prod' ? 1 : 0);
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.spec.scaleTargetRef.name, dep.metadata.name);
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.equal(hpa.spec.minReplicas, overlay === 'prod' ? 3 : 1);

    // RBAC: exactly the least-privilege set, bound to the pod's ServiceAccount in its namespace.
    const cr = one(objs, 'ClusterRole');
    assert.deepEqual((cr.rules as Obj[]).flatMap(key).sort(), expectedClusterRules());
    const crb = one(objs, 'ClusterRoleBinding');
    assert.equal(crb.roleRef.name, cr.metadata.name);
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ns }]);
    const role = one(objs, 'Role');
    assert.deepEqual((role.rules as Obj[]).flatMap(key).sort(), [
      'coordination.k8s.io/leases:create',
      'coordination.k8s.io/leases:get',
      'coordination.k8s.io/leases:update',
    ]);
    const rb = one(objs, 'RoleBinding');
    assert.equal(rb.roleRef.name, role.metadata.name);
    assert.deepEqual(rb.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ns }]);
    // The admission webhook is an opt-in component (it needs cert-manager, docs/kubernetes.md): rendered with it, it is wired end to end.
    checkWebhookComponent(overlay, ns);
    if (overlay === 'dev') assert.equal(cr.metadata.name, 'gatehouse-dev', 'dev and prod ClusterRoles must not clash');
  });

  test(`gatehouse check --offline accepts every container flag of overlays/${overlay}`, () => {
    const c = one(render(`deploy/kubernetes/overlays/${overlay}`), 'Deployment').spec.template.spec.containers[0];
    const args = c.args as string[];
    assert.equal(args[0], 'serve');
    const dir = mkdtempSync(join(tmpdir(), 'gh-manifests-'));
    try {
      const file = join(dir, 'dyn.yaml');
      writeFileSync(
        file,
        'http:\n  routers:\n    r: { rule: "PathPrefix(`/`)", service: s }\n  services:\n    s: { loadBalancer: { servers: [ { url: "http://127.0.0.1:9" } ] } }\n',
      );
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
      for (const e of c.env as Obj[]) if (typeof e.value === 'string') env[e.name] = e.value;
      const run = (extra: string[]) =>
        spawnSync(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'check', '--offline', ...extra, `--providers.file.filename=${file}`],
          {
            encoding: 'utf8',
            timeout: 60_000,
            env,
          },
        );
      const ok = run(args.slice(1));
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /configuration is valid/);
      // And the check can fail: a misspelt flag is refused.
      const bad = run([...args.slice(1), '--entrypoints.web.adress=:8000']);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr + bad.stdout, /unknown flag/);

      // With the admission-webhook component: its flags, and its dynamic configuration reading a certificate where the Secret is mounted.
      const w = renderWithWebhook(overlay);
      const wc = one(w, 'Deployment').spec.template.spec.containers[0];
      const mount = (wc.volumeMounts as Obj[]).find((m) => m.name === 'webhook-tls')!.mountPath as string;
      const conf = join(dir, 'conf');
      mkdirSync(conf);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=webhook',
        ].concat(['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')]),
        { stdio: 'ignore', timeout: 30_000 },
      );
      writeFileSync(join(conf, 'dynamic.yaml'), (one(w, 'ConfigMap').data['dynamic.yaml'] as string).replaceAll(`${mount}/`, `${dir}/`));
      const wargs = (wc.args as string[])
        .slice(1)
        .map((a) => (a.startsWith('--providers.file.directory=') ? `--providers.file.directory=${conf}` : a));
      const hook = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check', '--offline', ...wargs], {
        encoding: 'utf8',
        timeout: 60_000,
        env,
      });
      assert.equal(hook.status, 0, hook.stdout + hook.stderr);
      assert.match(hook.stdout, /admission-webhook@file +enabled +\[webhook\] +Path\(`\/api\/admission\/validate`\) +→ api@internal/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('kubectl kustomize deploy/kubernetes/crds renders every CRD', () => {
  const objs = render('deploy/kubernetes/crds');
  assert.equal(objs.length, CRD_KINDS.length);
  assert.ok(objs.every((o) => o.kind === 'CustomResourceDefinition'));
});

test('the admission webhook without cert-manager: the patch docs/kubernetes.md gives renders without cert-manager kinds, with caBundle', () => {
  const doc = readFileSync('docs/kubernetes.md', 'utf8');
  const at = doc.indexOf('and in the overlay, after the component:');
  assert.ok(at > 0, 'the manual alternative is in docs/kubernetes.md');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at))![1]!;
  const copy = mkdtempSync(join(tmpdir(), 'gh-webhook-manual-'));
  try {
    cpSync('deploy/kubernetes', copy, { recursive: true });
    const k = join(copy, 'overlays', 'prod', 'kustomization.yaml');
    // The overlay already has `patches:`: the documented entries are appended to it.
    const entries = block.replace(/^patches:\n/, '');
    writeFileSync(k, `${readFileSync(k, 'utf8')}${entries}components:\n  - ../../components/admission-webhook\n`);
    const objs = render(join(copy, 'overlays', 'prod'));
    assert.deepEqual(
      objs.filter((o) => String(o.apiVersion).startsWith('cert-manager.io/')),
      [],
    );
    const vwc = one(objs, 'ValidatingWebhookConfiguration');
    assert.equal(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
    assert.match(vwc.webhooks[0].clientConfig.caBundle, /^LS0tLS1CRUdJTi/);
    const pod = one(objs, 'Deployment').spec.template.spec;
    assert.ok(
      (pod.volumes as Obj[]).some((v) => v.secret?.secretName === 'gatehouse-webhook-tls'),
      'the Secret you create is mounted',
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
