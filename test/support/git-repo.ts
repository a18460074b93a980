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
