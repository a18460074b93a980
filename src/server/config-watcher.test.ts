/**
 * The configuration watcher: merges every provider's last message (names stay
 * `name@provider`, cross-provider references resolve), compiles once per
 * burst, keeps a provider's last good message, survives a provider that
 * cannot start and a listener that throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log.js';
import { emptyFragment, type ConfigFragment } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import type { Provider, ProviderMessage, ProviderStatus } from '../providers/types.js';
import { FileProvider } from '../providers/file/index.js';
import { parseStaticConfig } from '../config/static.js';
import { serveOptionsFromStatic } from './options-from-static.js';
import { createCompile } from './config-pipeline.js';
import { ConfigWatcher } from './config-watcher.js';

/** A provider whose content the test sets by hand (what a git or API provider does on a change). */
class ManualProvider implements Provider {
  #emit: ((m: ProviderMessage) => void) | null = null;
  #rev = 0;
  constructor(
    readonly name: string,
    private fragments: ConfigFragment[],
    private readonly failStart = false,
  ) {}
  async start(emit: (m: ProviderMessage) => void): Promise<void> {
    if (this.failStart) throw new Error('source unreachable');
    this.#emit = emit;
    this.set(this.fragments);
  }
  set(fragments: ConfigFragment[], issues: ProviderMessage['issues'] = []): void {
    this.fragments = fragments;
    this.#emit?.({ provider: this.name, revision: String(++this.#rev), fragments, issues, refused: [] });
  }
  status(): ProviderStatus {
    return { name: this.name, state: 'ready', revision: String(this.#rev), lastUpdate: '', message: '' };
  }
  async close(): Promise<void> {
    this.#emit = null;
  }
}

function routerFragment(provider: string, router: string, service: string, withService: boolean): ConfigFragment {
  const f = emptyFragment(provider);
  f.routers[router] = { value: { rule: `Host(\`${router}.test\`)`, service }, source: { file: `${provider}.yaml` } };
  if (withService)
    f.services.svc = { value: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } }, source: { file: `${provider}.yaml` } };
  return f;
}

const options = serveOptionsFromStatic(parseStaticConfig({ argv: ['--entrypoints.web.address=127.0.0.1:0'], env: {}, cwd: '/' }), '/');

test('two providers at once: names qualified per provider, a reference across providers resolves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-watcher-'));
  try {
    writeFileSync(
      join(dir, 'a.yaml'),
      'http:\n  routers:\n    a: { rule: "Host(`a.test`)", service: svc }\n  services:\n    svc: { loadBalancer: { servers: [{ url: "http://127.0.0.1:1" }] } }\n',
    );
    const git = new ManualProvider('git', [routerFragment('git', 'b', 'svc@file', false)]);
    const w = new ConfigWatcher({
      providers: [new FileProvider({ directory: dir, watch: false, kubernetes: {}, log: silentLogger }), git],
      compile: createCompile(options, { log: silentLogger, watch: false }),
      throttleMs: 0,
      log: silentLogger,
    });
    const snap = await w.start();
    assert.deepEqual(Object.keys(snap.routers).sort(), ['a@file', 'b@git']);
    assert.equal(snap.routers['b@git']!.status, 'enabled');
    assert.equal(snap.routers['b@git']!.service, 'svc@file');
    assert.deepEqual(snap.services['svc@file']!.usedBy.sort(), ['a@file', 'b@git']);
    assert.deepEqual(
      w.providerStatuses().map((s) => s.name),
      ['file', 'git'],
    );
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a burst of messages compiles once after the throttle; every listener sees it in order', async () => {
  const p = new ManualProvider('mem', [routerFragment('mem', 'r0', 'svc', true)]);
  const seen: string[] = [];
  const w = new ConfigWatcher({
    providers: [p],
    compile: createCompile(options, { log: silentLogger, watch: false }),
    throttleMs: 50,
    log: silentLogger,
  });
  w.addListener((s) => seen.push(`first:${s.revision}`));
  w.addListener(() => {
    throw new Error('a broken listener');
  });
  w.addListener((s) =>
    seen.push(
      `third:${s.revision}:${Object.keys(s.routers)
        .filter((r) => r.endsWith('@mem'))
        .join(',')}`,
    ),
  );
  await w.start();
  for (let i = 1; i <= 5; i++) p.set([routerFragment('mem', `r${i}`, 'svc', true)]);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seen, ['first:1', 'third:1:r0@mem', 'first:2', 'third:2:r5@mem']);
  await w.close();
});

test('a provider that cannot start is reported; the others serve', async () => {
  const ok = new ManualProvider('mem', [routerFragment('mem', 'r', 'svc', true)]);
  const broken = new ManualProvider('git', [], true);
  const w = new ConfigWatcher({
    providers: [ok, broken],
    compile: createCompile(options, { log: silentLogger, watch: false }),
    throttleMs: 0,
    log: silentLogger,
  });
  const snap: Snapshot = await w.start();
  assert.equal(snap.routers['r@mem']!.status, 'enabled');
  assert.ok(
    snap.issues.some((i) => /git provider failed to start: source unreachable/.test(i.message)),
    JSON.stringify(snap.issues),
  );
  await w.close();
});

test('a provider message with issues keeps them in the snapshot until the next message clears them', async () => {
  const p = new ManualProvider('mem', [routerFragment('mem', 'r', 'svc', true)]);
  const w = new ConfigWatcher({
    providers: [p],
    compile: createCompile(options, { log: silentLogger, watch: false }),
    throttleMs: 0,
    log: silentLogger,
  });
  const snaps: Snapshot[] = [];
  w.addListener((s) => snaps.push(s));
  await w.start();
  p.set(
    [routerFragment('mem', 'r', 'svc', true)],
    [{ file: 'x.yaml', line: 3, message: 'bad YAML (keeping the last good version of this file)' }],
  );
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(snaps.at(-1)!.issues.some((i) => i.file === 'x.yaml' && i.line === 3));
  assert.equal(snaps.at(-1)!.routers['r@mem']!.status, 'enabled');
  p.set([routerFragment('mem', 'r', 'svc', true)]);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(!snaps.at(-1)!.issues.some((i) => i.file === 'x.yaml'));
  await w.close();
});

test('two providers with one name are refused', () => {
  assert.throws(
    () =>
      new ConfigWatcher({
        providers: [new ManualProvider('file', []), new ManualProvider('file', [])],
        compile: createCompile(options, { log: silentLogger, watch: false }),
        throttleMs: 0,
        log: silentLogger,
      }),
    /two providers are named "file"/,
  );
});

/** A provider whose revisions are all-or-nothing (the git provider's way). */
class AtomicProvider implements Provider {
  readonly name = 'git';
  #emit: ((m: ProviderMessage) => void) | null = null;
  #rev = 0;
  readonly verdicts: Array<{ revision: string; applied: boolean; errors: string[] }> = [];
  constructor(private fragments: ConfigFragment[]) {}
  async start(emit: (m: ProviderMessage) => void): Promise<void> {
    this.#emit = emit;
    this.set(this.fragments);
  }
  set(fragments: ConfigFragment[]): string {
    this.fragments = fragments;
    const revision = `main@sha1:${String(++this.#rev).padStart(40, '0')}`;
    this.#emit?.({ provider: this.name, revision, fragments, issues: [], refused: [], atomic: true });
    return revision;
  }
  onVerdict(v: { revision: string; applied: boolean; issues: ReadonlyArray<{ message: string }> }): void {
    this.verdicts.push({ revision: v.revision, applied: v.applied, errors: v.issues.map((i) => i.message) });
  }
  status(): ProviderStatus {
    return { name: this.name, state: 'ready', revision: String(this.#rev), lastUpdate: '', message: '' };
  }
  async close(): Promise<void> {
    this.#emit = null;
  }
}

test('an atomic revision with a configuration error is refused whole; the last good one keeps serving; the provider hears why', async () => {
  const git = new AtomicProvider([routerFragment('git', 'a', 'svc', true)]);
  const snaps: Snapshot[] = [];
  const w = new ConfigWatcher({
    providers: [git],
    compile: createCompile(options, { log: silentLogger, watch: false }),
    throttleMs: 0,
    log: silentLogger,
  });
  w.addListener((s) => snaps.push(s));
  const first = await w.start();
  assert.ok('a@git' in first.routers);
  assert.equal(git.verdicts[0]?.applied, true);
  assert.deepEqual(first.refused, []);

  // A revision that adds a good router and one that points at a missing service: none of it applies.
  const good = routerFragment('git', 'a', 'svc', true);
  const bad = routerFragment('git', 'b', 'missing', false);
  const both = { ...good, routers: { ...good.routers, ...bad.routers } };
  const badRev = git.set([both]);
  await new Promise((r) => setTimeout(r, 30));
  const s = w.snapshot!;
  assert.ok(!('b@git' in s.routers), 'nothing of the refused revision is in force');
  assert.ok('a@git' in s.routers, 'the last good revision keeps serving');
  const v = git.verdicts.at(-1)!;
  assert.equal(v.revision, badRev);
  assert.equal(v.applied, false);
  assert.ok(
    v.errors.some((e) => /missing/.test(e)),
    JSON.stringify(v.errors),
  );
  assert.equal(s.refused?.length, 1);
  assert.equal(s.refused![0]!.provider, 'git');
  assert.match(s.refused![0]!.message, /refused; the last good revision keeps serving/);
  assert.ok(s.refused![0]!.lastGood !== null);
  assert.ok(
    s.issues.some((i) => i.severity !== 'warning' && /refused/.test(i.message)),
    'an error in the snapshot (reload failure)',
  );

  // A fixed revision applies and clears the refusal.
  const fixed = git.set([routerFragment('git', 'c', 'svc', true)]);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok('c@git' in w.snapshot!.routers);
  assert.deepEqual(w.snapshot!.refused, []);
  assert.deepEqual(git.verdicts.at(-1), { revision: fixed, applied: true, errors: [] });
  await w.close();
});
