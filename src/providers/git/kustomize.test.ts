/** Kustomize safety and overlay discovery on real folders, with the real kustomize (kubectl kustomize when kustomize is not on PATH). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildRevision } from './build.js';
import { BuildError, discoverOverlays, findKustomize } from './kustomize.js';
import { gitOptionsFromStatic } from './options.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-kustomize-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'repo', p)), { recursive: true });
    writeFileSync(join(root, 'repo', p), c);
  }
  return root;
}

const svc = (name: string): string => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{ port: 80 }]\n`;

async function build(root: string, section: { paths?: string[]; kustomizeroot?: string }, path?: string): Promise<BuildError> {
  try {
    await buildRevision({
      cfg: gitOptionsFromStatic({ url: '/unused', ...section }, '/')!,
      root: join(root, 'repo'),
      scratch: join(root, 'render'),
      kustomizer: () => findKustomize(path),
    });
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  assert.fail('expected a BuildError');
}

test('overlay discovery: leaves and .flux.yaml folders, not the bases they use', async () => {
  const root = tree({
    'k/base/kustomization.yaml': 'resources: [svc.yaml]\n',
    'k/base/svc.yaml': svc('a'),
    'k/dev/kustomization.yaml': 'namespace: dev\nresources: [../base]\n',
    'k/prod/kustomization.yaml': 'namespace: prod\nresources: [../base]\n',
    'k/prod/.flux.yaml': 'version: 1\ncommandUpdated:\n  generators:\n    - command: kustomize build .\n',
    'k/nested/stage/kustomization.yaml': 'namespace: stage\nresources: [../../base]\n',
  });
  try {
    const r = await discoverOverlays(join(root, 'repo'), 'k');
    assert.deepEqual(
      r.overlays.map((o) => o.dir),
      ['k/dev', 'k/nested/stage', 'k/prod'],
    );
    assert.ok(r.loads.has('k/base/svc.yaml'), 'what the overlays load is watched');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('remote bases, paths leaving the repository and helm charts are refused before kustomize runs', async () => {
  const root = tree({
    'k/dev/kustomization.yaml':
      'resources:\n  - https://github.com/example/repo//base?ref=v1\n  - github.com/example/other/base\n  - ../../../etc\n  - missing\nhelmCharts:\n  - name: x\n',
  });
  try {
    const e = await build(root, { paths: ['k/dev'] });
    const text = e.issues.map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`).join('\n');
    assert.match(text, /k\/dev\/kustomization\.yaml:2: resources\[0\]: .* is a remote base: refused/);
    assert.match(text, /k\/dev\/kustomization\.yaml:3: resources\[1\]: .* is a remote base: refused/);
    assert.match(text, /:4: resources\[2\]: .* leaves the repository/);
    assert.match(text, /:5: resources\[3\]: "missing" is not a file or folder of the repository/);
    assert.match(text, /:6: helmCharts: helm charts are not rendered/);
    assert.ok(!existsSync(join(root, 'render')), 'kustomize never ran');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a .flux.yaml generator other than kustomize build is refused and never executed', async () => {
  const marker = join(tmpdir(), `gatehouse-flux-marker-${process.pid}`);
  const root = tree({
    'k/dev/kustomization.yaml': 'resources: [svc.yaml]\n',
    'k/dev/svc.yaml': svc('a'),
    'k/dev/.flux.yaml': `version: 1\ncommandUpdated:\n  generators:\n    - command: touch ${marker}\n`,
  });
  try {
    const e = await build(root, { kustomizeroot: 'k' });
    assert.equal(e.issues.length, 1);
    assert.equal(e.issues[0]!.file, 'k/dev/.flux.yaml');
    assert.equal(e.issues[0]!.line, 4);
    assert.equal(e.issues[0]!.field, 'commandUpdated.generators[0].command');
    assert.match(e.issues[0]!.message, /refused: only "kustomize build \." is accepted/);
    assert.ok(!existsSync(marker), 'the command did not run');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without kustomize or kubectl on PATH: a clear error', async () => {
  const root = tree({ 'k/dev/kustomization.yaml': 'resources: [svc.yaml]\n', 'k/dev/svc.yaml': svc('a') });
  try {
    const e = await build(root, { paths: ['k/dev'] }, '/nonexistent');
    assert.match(e.issues[0]!.message, /neither `kustomize` nor `kubectl` \(with kustomize\) is on PATH/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a kustomize failure names the file of the repository; the load restrictor keeps files inside the kustomization', async () => {
  const root = tree({
    'secret.txt': 'x',
    'k/dev/kustomization.yaml': 'configMapGenerator:\n  - name: c\n    files: [../../secret.txt]\n',
  });
  try {
    const e = await build(root, { paths: ['k/dev'] });
    assert.equal(e.issues[0]!.file, 'k/dev/kustomization.yaml');
    assert.match(e.issues[0]!.message, /kustomize build k\/dev failed: .*(security|restrict|not in or below)/i);
    assert.ok(!e.issues[0]!.message.includes(root), 'no absolute path of the working copy');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
