/** Reference selection over a real repository: tag (annotated), semver range (highest match, new tags picked up), commit on a branch, Flux's revision format; bad options refused clearly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log.js';
import type { ProviderMessage, ProviderStatus } from '../types.js';
import { GitProvider } from './git-provider.js';
import { gitOptionsFromStatic, type GitStaticSection } from './options.js';
import { TestRepo } from '../../../test/support/git-repo.js';

const doc = (name: string): string =>
  `http:\n  routers:\n    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:1" }]\n`;

async function withProvider(
  repo: TestRepo,
  section: Omit<GitStaticSection, 'url'>,
  fn: (p: GitProvider, messages: ProviderMessage[]) => Promise<void>,
): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'gatehouse-git-refs-'));
  const p = new GitProvider({
    git: gitOptionsFromStatic({ url: repo.url, interval: 100, timeout: 20_000, ...section }, process.cwd())!,
    dataDir: data,
    watch: true,
    kubernetes: {},
    log: silentLogger,
  });
  const messages: ProviderMessage[] = [];
  try {
    await p.start((m) => {
      messages.push(m);
      queueMicrotask(() => p.onVerdict({ revision: m.revision, applied: true, issues: [] }));
    });
    await fn(p, messages);
  } finally {
    await p.close();
    rmSync(data, { recursive: true, force: true });
  }
}

const routers = (m: ProviderMessage | undefined): string[] => Object.keys(m?.fragments.find((f) => f.provider === 'git')?.routers ?? {});

async function until(p: GitProvider, pred: (s: ProviderStatus) => boolean, what: string): Promise<ProviderStatus> {
  const end = Date.now() + 20_000;
  while (!pred(p.status())) {
    if (Date.now() > end) assert.fail(`${what}: ${JSON.stringify(p.status())}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return p.status();
}

test('tag, semver range and commit select the revision, in Flux format', async () => {
  const repo = new TestRepo();
  try {
    const c1 = repo.commit({ 'a.yaml': doc('v100') });
    repo.tag('v1.0.0', true);
    const c2 = repo.commit({ 'a.yaml': doc('v120') });
    repo.tag('v1.2.0');
    const c3 = repo.commit({ 'a.yaml': doc('v200') });
    repo.tag('v2.0.0');
    repo.commit({ 'a.yaml': doc('head') });

    await withProvider(repo, {}, async (_p, m) => {
      assert.deepEqual(routers(m[0]), ['head'], 'default: the remote HEAD branch');
      assert.equal(m[0]!.revision, `main@sha1:${repo.head()}`);
    });
    await withProvider(repo, { tag: 'v1.0.0' }, async (_p, m) => {
      assert.deepEqual(routers(m[0]), ['v100'], 'an annotated tag, peeled to its commit');
      assert.equal(m[0]!.revision, `v1.0.0@sha1:${c1}`);
    });
    await withProvider(repo, { semver: '~1' }, async (p, m) => {
      assert.deepEqual(routers(m[0]), ['v120'], 'the highest tag matching ~1');
      assert.equal(m[0]!.revision, `v1.2.0@sha1:${c2}`);
      // A new matching tag is picked up on the next poll.
      repo.commit({ 'a.yaml': doc('v130') });
      repo.tag('v1.3.0');
      await until(p, (s) => s.lastAppliedRevision?.startsWith('v1.3.0@sha1:') === true, 'v1.3.0 applied');
      assert.deepEqual(routers(m[m.length - 1]), ['v130']);
    });
    await withProvider(repo, { semver: '>=1.2 <2', tag: 'v2.0.0', branch: 'main' }, async (_p, m) => {
      assert.equal(m[0]!.revision.split('@')[0], 'v1.3.0', 'semver wins over tag and branch (later in the list wins)');
    });
    await withProvider(repo, { branch: 'main', commit: c3 }, async (_p, m) => {
      assert.deepEqual(routers(m[0]), ['v200'], 'a commit on the branch');
      assert.equal(m[0]!.revision, `main@sha1:${c3}`);
    });
    repo.git('checkout', '--quiet', '-b', 'other', c1);
    const off = repo.commit({ 'a.yaml': doc('off') });
    repo.git('checkout', '--quiet', 'main');
    await withProvider(repo, { branch: 'main', commit: off }, async (p, m) => {
      assert.equal(m[0]!.fragments.length, 0, 'nothing served');
      const s = p.status();
      const ready = s.conditions!.find((c) => c.type === 'Ready')!;
      assert.equal(ready.reason, 'FetchFailed');
      assert.match(ready.message, /is not on branch "main"/);
    });
    await withProvider(repo, { semver: '~9' }, async (p) => {
      assert.match(p.status().conditions![0]!.message, /no tag matches the semver range "~9"/);
    });
  } finally {
    repo.remove();
  }
});

test('bad git options are refused with the flag named', () => {
  const bad: Array<[GitStaticSection, RegExp]> = [
    [{}, /--providers\.git\.url: a repository URL is required/],
    [{ url: 'https://user:pw@example.com/r.git' }, /credentials in the URL are refused/],
    [{ url: 'ftp://example.com/r.git' }, /not supported/],
    [{ url: '/r', semver: 'not a range' }, /--providers\.git\.semver: "not a range" is not a semver range/],
    [{ url: '/r', commit: 'abc123' }, /--providers\.git\.commit: .* full commit SHA/],
    [{ url: '/r', paths: ['../x'] }, /--providers\.git\.paths: "\.\.\/x" leaves the repository/],
    [{ url: 'ssh://git@example.com/r.git' }, /--providers\.git\.knownhostsfile: an ssh:\/\/ URL needs a known_hosts file/],
    [{ url: '/r', tokenfile: 't' }, /--providers\.git\.tokenfile: only applies to an https:\/\/ URL/],
    [{ url: 'https://example.com/r.git', usernamefile: 'u' }, /needs --providers\.git\.passwordfile/],
    [{ url: '/r', branch: 'a..b' }, /not a valid git branch name/],
  ];
  for (const [section, re] of bad) assert.throws(() => gitOptionsFromStatic(section, '/tmp'), re, JSON.stringify(section));
  const ok = gitOptionsFromStatic({ url: 'repo', paths: ['config', './kustomize/dev/'] }, '/srv')!;
  assert.equal(ok.url, '/srv/repo');
  assert.deepEqual(ok.paths, ['config', 'kustomize/dev']);
  assert.equal(ok.intervalMs, 60_000);
  assert.equal(ok.timeoutMs, 60_000);
});
