/**
 * deploy/kubernetes/: the real `kubectl kustomize` (kustomize 5.x built into
 * kubectl) renders both overlays and the CRDs, and this test checks what it
 * renders: the kinds, the Deployment (replicas, security, probes, grace
 * period), the seed's Service 80 → 8000, RBAC verbs exactly the least-privilege
 * set, and that `gatehouse check --offline` accepts the container's flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CRD_KINDS } from '../src/providers/kubernetes/kinds.js';

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
  for (const k of CRD_KINDS) for (const v of read) out.push(`${k.group}/${k.plural}:${v}`);
  for (const g of ['traefik.io', 'traefik.containo.us']) {
    for (const r of ['ingressroutes', 'middlewares', 'traefikservices'])
      for (const v of ['update', 'patch']) out.push(`${g}/${r}/status:${v}`);
  }
  out.push('/events:create', '/events:patch');
  return out.sort();
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
    // The admission webhook is an opt-in component (HTTPS only, docs/kubernetes.md): with it, it calls this namespace's admin Service.
    const copy = mkdtempSync(join(tmpdir(), 'gh-webhook-'));
    try {
      cpSync('deploy/kubernetes', copy, { recursive: true });
      const k = join(copy, 'overlays', overlay, 'kustomization.yaml');
      writeFileSync(k, `${readFileSync(k, 'utf8')}\ncomponents:\n  - ../../components/admission-webhook\n`);
      const hook = one(render(join(copy, 'overlays', overlay)), 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.service;
      assert.deepEqual([hook.name, hook.namespace], [admin.metadata.name, ns], 'the webhook calls the admin Service of this namespace');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
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
