/**
 * GitOps through the real gateway: a real repository (file://) with the
 * seed's layout (kustomize/base, dev, prod with namespaces and patches, a
 * Flux v1 .flux.yaml, a plain config/ folder) rendered by the real kustomize
 * and serving traffic; a commit that breaks the build, one that breaks a
 * rule, one that duplicates an object across overlays (each refused whole,
 * the last good revision serving, the error in the status); a change outside
 * the watched paths (no reconcile); a restart with the remote gone (the last
 * good revision from --datadir serves at once).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve, type RunningGatehouse } from '../src/server/serve.js';
import { silentLogger } from '../src/log.js';
import type { ProviderStatus } from '../src/providers/types.js';
import { eventually, listenLoopback } from './support/gateway.js';
import { TestRepo, calcOverlays } from './support/git-repo.js';

let up: Server;
let upPort = 0;
let repo: TestRepo;
let root: string;
let gw: RunningGatehouse | null = null;
let web = '';

const base = (port: number): Record<string, string> => ({
  ...calcOverlays(port),
  // prod: the seed's Flux v1 layout (.flux.yaml with the kustomize generator and a patch file).
  'kustomize/prod/kustomization.yaml': 'namespace: prod\nresources: [../base]\n',
  'kustomize/prod/.flux.yaml': `version: 1
patchUpdated:
  generators:
    - command: kustomize build .
  patchFile: flux-patch.yaml
`,
  'kustomize/prod/flux-patch.yaml': `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: calc
  namespace: prod
spec:
  routes:
    - match: Host(\`prod.calc.test\`)
      kind: Rule
      services: [{ name: calc, port: 80 }]
`,
  'config/plain.yaml': `http:
  routers:
    plain:
      rule: Host(\`plain.test\`)
      service: plain
  services:
    plain:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
  'README.md': '# configuration\n',
});

function devPatch(match: string): string {
  return `- op: replace
  path: /spec/routes/0/match
  value: ${match}
`;
}

async function start(): Promise<RunningGatehouse> {
  const argv = [
    '--entrypoints.web.address=127.0.0.1:0',
    '--entrypoints.traefik.address=127.0.0.1:0',
    '--api.insecure',
    `--providers.git.url=${repo.url}`,
    '--providers.git.paths=config',
    '--providers.git.kustomizeroot=kustomize',
    '--providers.git.interval=150ms',
    '--providers.git.timeout=30s',
    '--providers.providersThrottleDuration=0s',
    '--workers=1',
    '--log.level=ERROR',
    `--datadir=${join(root, 'data')}`,
  ];
  const o = serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root);
  const running = await serve(o, { log: silentLogger });
  web = `http://127.0.0.1:${running.addresses.web!.port}`;
  return running;
}

async function get(host: string): Promise<number> {
  const r = await request(web, { headers: { host } });
  await r.body.dump();
  return r.statusCode;
}

function git(): ProviderStatus {
  const s = gw!.watcher.providerStatuses().find((p) => p.name === 'git');
  assert.ok(s !== undefined, 'a git provider');
  return s;
}
const ready = (s: ProviderStatus): { status: string; reason: string; message: string } => s.conditions!.find((c) => c.type === 'Ready')!;

async function until(what: string, pred: (s: ProviderStatus) => boolean, ms = 20_000): Promise<ProviderStatus> {
  assert.ok(await eventually(() => pred(git()), ms, 50), `${what} (status: ${JSON.stringify(git())})`);
  return git();
}

before(async () => {
  up = createServer((_req, res) => res.end('calc'));
  upPort = await listenLoopback(up);
  root = mkdtempSync(join(tmpdir(), 'gatehouse-gitops-'));
  repo = new TestRepo(join(root, 'origin'));
  repo.commit(base(upPort), 'the seed layout');
  gw = await start();
});

after(async () => {
  await gw?.close();
  up.close();
  rmSync(root, { recursive: true, force: true });
});

test('the seed layout serves: dev and prod overlays discovered (not base), the plain config folder, names @git and @kubernetescrd', async () => {
  const s = await until('applied', (x) => ready(x).status === 'True');
  assert.equal(s.type, 'git');
  assert.equal(s.url, repo.url);
  assert.match(s.lastAppliedRevision!, /^main@sha1:[0-9a-f]{40}$/);
  assert.equal(s.lastAppliedRevision, `main@sha1:${repo.head()}`);
  assert.equal(ready(s).reason, 'ReconciliationSucceeded');
  assert.equal(await get('dev.calc.test'), 200, 'the dev overlay (json6902 patch)');
  assert.equal(await get('prod.calc.test'), 200, 'the prod overlay (.flux.yaml patchFile)');
  assert.equal(await get('calc.test'), 404, 'base is not applied on its own');
  assert.equal(await get('plain.test'), 200, 'config/ read as plain files');
  const routers = Object.keys(gw!.watcher.snapshot!.routers);
  assert.ok(routers.includes('plain@git'), routers.join(', '));
  assert.ok(
    routers.some((r) => r.startsWith('dev-calc') && r.endsWith('@kubernetescrd')),
    routers.join(', '),
  );
});

test('a commit that breaks the build is refused whole: the last good revision serves, BuildFailed names the file', async () => {
  const before = git().lastAppliedRevision;
  const snap = gw!.watcher.snapshot!.revision;
  const sha = repo.commit(
    {
      'kustomize/dev/patch.yaml': devPatch('Host(`dev2.calc.test`)'),
      'kustomize/prod/kustomization.yaml': 'namespace: prod\nresources: [../base, missing.yaml]\n',
    },
    'break the build',
  );
  const s = await until('BuildFailed', (x) => x.history![0]?.revision === `main@sha1:${sha}` && ready(x).status === 'False');
  assert.equal(ready(s).reason, 'BuildFailed');
  assert.match(ready(s).message, /kustomize\/prod\/kustomization\.yaml:2/);
  assert.match(ready(s).message, /missing\.yaml/);
  assert.equal(s.lastAppliedRevision, before);
  assert.equal(s.state, 'degraded');
  assert.equal(s.history![0]!.result, 'refused');
  // The failure shows where the operator looks (/api/overview, dashboard, check, reload metrics), nothing of it serves.
  assert.ok(
    await eventually(() => (gw!.watcher.snapshot!.refused ?? []).some((r) => r.provider === 'git' && /BuildFailed/.test(r.message)), 5000),
    `refused in the snapshot: ${JSON.stringify(gw!.watcher.snapshot!.refused)}`,
  );
  const refused = gw!.watcher.snapshot!.refused!.find((r) => r.provider === 'git')!;
  assert.match(refused.message, /the last good revision keeps serving/);
  assert.match(refused.file, /kustomize\/prod\/kustomization\.yaml/);
  assert.ok(gw!.watcher.snapshot!.revision > snap);
  assert.equal(await get('dev2.calc.test'), 404, 'the good part of the broken revision does not serve either');
  assert.equal(await get('dev.calc.test'), 200);
});

test('a commit that breaks a rule is refused by validation: ValidationFailed with the file and line', async () => {
  const before = git().lastAppliedRevision;
  const sha = repo.commit(
    {
      'kustomize/prod/kustomization.yaml': 'namespace: prod\nresources: [../base]\n',
      'kustomize/dev/patch.yaml': devPatch('Host(`dev3.calc.test`) && Pathh(`/x`)'),
      'config/plain.yaml': base(upPort)['config/plain.yaml']!.replace('plain.test', 'plain2.test'),
    },
    'break a rule',
  );
  const s = await until(
    'ValidationFailed',
    (x) => x.history![0]?.revision === `main@sha1:${sha}` && ready(x).reason === 'ValidationFailed',
  );
  assert.equal(ready(s).status, 'False');
  assert.match(ready(s).message, /Pathh/);
  assert.match(ready(s).message, /kustomize\/base\/calc\.yaml:\d+/, 'the origin file of the object, with a line');
  assert.equal(s.lastAppliedRevision, before);
  assert.equal(await get('plain2.test'), 404, 'nothing of the refused revision serves');
  assert.equal(await get('plain.test'), 200);
  assert.equal(await get('dev.calc.test'), 200);
});

test('two overlays producing the same object: refused, naming both folders', async () => {
  const sha = repo.commit(
    {
      'kustomize/dev/patch.yaml': devPatch('Host(`dev.calc.test`)'),
      'config/plain.yaml': base(upPort)['config/plain.yaml']!,
      'kustomize/dev-copy/kustomization.yaml': 'namespace: dev\nresources: [../base]\n',
    },
    'duplicate',
  );
  const s = await until('BuildFailed', (x) => x.history![0]?.revision === `main@sha1:${sha}` && ready(x).status === 'False');
  assert.equal(ready(s).reason, 'BuildFailed');
  assert.match(ready(s).message, /produced by both kustomize\/dev and kustomize\/dev-copy/);
  assert.equal(await get('dev.calc.test'), 200);
});

test('a fix applies; then a commit outside the watched paths does not reconcile', async () => {
  const sha = repo.commit(
    { 'kustomize/dev-copy': null, 'config/more.yaml': base(upPort)['config/plain.yaml']!.replace(/plain/g, 'more') },
    'fix',
  );
  const s = await until('applied', (x) => x.lastAppliedRevision === `main@sha1:${sha}` && ready(x).status === 'True');
  assert.equal(s.state, 'ready');
  assert.equal(await get('more.test'), 200);
  assert.ok(
    await eventually(() => (gw!.watcher.snapshot!.refused ?? []).length === 0, 5000),
    'the refusals of the earlier revisions are cleared',
  );
  const snap = gw!.watcher.snapshot!.revision;
  const other = repo.commit({ 'README.md': '# changed\n', 'docs/notes.yaml': 'not: watched\n' }, 'docs only');
  const after = await until(
    'attempted and handled',
    (x) => x.lastAttemptedRevision === `main@sha1:${other}` && x.history![0]?.revision === `main@sha1:${other}`,
  );
  assert.equal(after.lastAppliedRevision, `main@sha1:${sha}`, 'the applied revision stays');
  assert.equal(after.history![0]!.result, 'unchanged', JSON.stringify(after.history));
  assert.match(after.history![0]!.message, /no change under the watched paths/);
  assert.equal(ready(after).status, 'True');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(gw!.watcher.snapshot!.revision, snap, 'no recompile');
});

test('a restart with the remote gone serves the last good revision from --datadir at once, and says so', async () => {
  const applied = git().lastAppliedRevision;
  await gw!.close();
  gw = null;
  renameSync(repo.dir, `${repo.dir}.gone`);
  try {
    const t0 = Date.now();
    gw = await start();
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(await get('dev.calc.test'), 200);
    assert.equal(await get('more.test'), 200);
    const s = await until('fetch failure reported', (x) => ready(x).reason === 'FetchFailed');
    assert.equal(s.lastAppliedRevision, applied);
    assert.match(s.message, /FetchFailed/);
    assert.match(s.message, new RegExp(`last good revision ${applied!.replace(/[@:]/g, '.')} keeps serving`));
    assert.ok(
      await eventually(
        () => (gw!.watcher.snapshot!.refused ?? []).some((r) => r.provider === 'git' && /FetchFailed/.test(r.message)),
        5000,
      ),
      `the fetch failure shows as a refused source: ${JSON.stringify(gw!.watcher.snapshot!.refused)}`,
    );
  } finally {
    renameSync(`${repo.dir}.gone`, repo.dir);
  }
  // The remote back: reconciles again.
  const sha = repo.commit({ 'config/back.yaml': base(upPort)['config/plain.yaml']!.replace(/plain/g, 'back') }, 'back');
  await until('applied after the remote returns', (x) => x.lastAppliedRevision === `main@sha1:${sha}`);
  assert.equal(await get('back.test'), 200);
  assert.ok(await eventually(() => (gw!.watcher.snapshot!.refused ?? []).length === 0, 5000), 'the fetch failure is cleared');
});
