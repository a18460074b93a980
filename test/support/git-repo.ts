/**
 * A real git repository for tests: `git init`, files written and committed
 * one commit per change, tags.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Gatehouse Test',
  GIT_AUTHOR_EMAIL: 'test@gatehouse.invalid',
  GIT_COMMITTER_NAME: 'Gatehouse Test',
  GIT_COMMITTER_EMAIL: 'test@gatehouse.invalid',
};

export class TestRepo {
  readonly dir: string;
  constructor(dir = mkdtempSync(join(tmpdir(), 'gatehouse-git-origin-'))) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.git('init', '--quiet', '-b', 'main');
  }
  get url(): string {
    return `file://${this.dir}`;
  }
  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, env: ENV, encoding: 'utf8' });
  }
  /** Write files (path → content; null removes) and commit them as one commit; returns the SHA. */
  commit(files: Record<string, string | null>, message = 'change'): string {
    for (const [p, c] of Object.entries(files)) {
      const target = join(this.dir, p);
      if (c === null) rmSync(target, { force: true, recursive: true });
      else {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, c);
      }
    }
    this.git('add', '-A');
    this.git('commit', '--quiet', '--allow-empty', '-m', message);
    return this.head();
  }
  head(): string {
    return this.git('rev-parse', 'HEAD').trim();
  }
  tag(name: string, annotated = false): void {
    if (annotated) this.git('tag', '-a', '-m', name, name);
    else this.git('tag', name);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The seed's kustomize layout, small: `kustomize/base` (an IngressRoute for
 * Host(`calc.test`), its Service and Endpoints on 127.0.0.1:`port`) and a
 * `kustomize/dev` overlay (namespace dev, a JSON patch to Host(`dev.calc.test`)).
 */
export function calcOverlays(port: number): Record<string, string> {
  return {
    'kustomize/base/kustomization.yaml': 'resources: [calc.yaml]\n',
    'kustomize/base/calc.yaml': `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: calc
spec:
  routes:
    - match: Host(\`calc.test\`)
      kind: Rule
      services: [{ name: calc, port: 80 }]
---
apiVersion: v1
kind: Service
metadata:
  name: calc
spec:
  ports: [{ port: 80, targetPort: ${port} }]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: calc
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${port} }]
`,
    'kustomize/dev/kustomization.yaml': `namespace: dev
resources: [../base]
patches:
  - path: patch.yaml
    target: { kind: IngressRoute, name: calc }
`,
    'kustomize/dev/patch.yaml': '- op: replace\n  path: /spec/routes/0/match\n  value: Host(`dev.calc.test`)\n',
  };
}
