/**
 * The behaviour every provider shares, as one case table (Hono's
 * `common.case.test.ts` habit): each provider's test calls
 * `runProviderContract(harness)` with a harness that can write and remove
 * documents in its source (files in a directory, commits in a git
 * repository, objects in the Kubernetes API, …).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigFragment } from '../config/model.js';
import type { Provider, ProviderMessage, ProviderStatus } from './types.js';

export interface ProviderSource {
  provider: Provider;
  /** Create or replace a document (a path relative to the source's root). */
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ProviderHarness {
  /** The name the provider must report. */
  name: string;
  /** The fragment name Traefik-format documents are qualified with (`file`, `git`, …). */
  fileFragment: string;
  setup(): Promise<ProviderSource>;
  /** Longest a change may take to arrive. */
  changeTimeoutMs?: number;
  /**
   * The provider emits whole revisions (`atomic` messages, the git provider):
   * a broken document refuses the whole revision, so nothing new is emitted,
   * the last message stays in force and the status says why (Ready=False with
   * the file and line). The table plays the configuration watcher's part and
   * accepts every message it receives (`onVerdict`).
   */
  atomic?: boolean;
}

const routerDoc = (name: string, rule: string): string => `http:
  routers:
    ${name}:
      rule: "${rule}"
      service: svc
  services:
    svc:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1" }]
`;

const ingressRouteDoc = `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: calc, namespace: default }
spec:
  routes:
    - match: Host(\`calc.test\`)
      kind: Rule
      services: [{ name: calc, port: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: calc, namespace: default }
spec:
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: calc, namespace: default }
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: 8080 }]
`;

/** Collects a provider's messages and waits for one that satisfies a predicate. */
class Inbox {
  readonly messages: ProviderMessage[] = [];
  #waiters: Array<() => void> = [];
  push = (m: ProviderMessage): void => {
    this.messages.push(m);
    for (const w of this.#waiters.splice(0)) w();
  };
  get last(): ProviderMessage {
    const m = this.messages[this.messages.length - 1];
    assert.ok(m !== undefined, 'no message yet');
    return m;
  }
  async until(pred: (m: ProviderMessage) => boolean, ms: number, what: string): Promise<ProviderMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = [...this.messages].reverse().find(pred);
      if (hit !== undefined && hit === this.last) return hit;
      const left = end - Date.now();
      if (left <= 0)
        assert.fail(
          `${what}: not seen within ${ms} ms (last message: ${JSON.stringify(summary(this.messages[this.messages.length - 1]))})`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

function fragment(m: ProviderMessage, name: string): ConfigFragment | undefined {
  return m.fragments.find((f) => f.provider === name);
}

function routers(m: ProviderMessage, name: string): string[] {
  return Object.keys(fragment(m, name)?.routers ?? {}).sort();
}

function summary(m: ProviderMessage | undefined): unknown {
  if (m === undefined) return null;
  return {
    revision: m.revision,
    fragments: m.fragments.map((f) => ({ provider: f.provider, routers: Object.keys(f.routers) })),
    issues: m.issues.map((i) => i.message),
    refused: m.refused.map((r) => `${r.file}: ${r.message}`),
  };
}

const errorsOf = (m: ProviderMessage): ProviderMessage['issues'] => m.issues.filter((i) => i.severity !== 'warning');

/**
 * The watcher's part for atomic providers (after the emit returns, as the
 * watcher does): a message is accepted unless it carries errors of its own,
 * the way an atomic provider shows a revision it could not fetch or build.
 */
function accepting(p: Provider, inbox: Inbox): (m: ProviderMessage) => void {
  return (m) => {
    inbox.push(m);
    if (m.atomic === true) {
      const errors = errorsOf(m);
      queueMicrotask(() => p.onVerdict?.({ revision: m.revision, applied: errors.length === 0, issues: errors }));
    }
  };
}

/** The last message the watcher would have applied (an atomic provider's failure-only messages are refused). */
function lastApplied(inbox: Inbox): ProviderMessage {
  const m = [...inbox.messages].reverse().find((x) => errorsOf(x).length === 0);
  assert.ok(m !== undefined, 'an applied message');
  return m;
}

/** After the last applied message, only failure-only messages: no fragment with an item of the broken revision. */
function onlyFailuresAfter(inbox: Inbox, good: ProviderMessage, file: RegExp): void {
  const after = inbox.messages.slice(inbox.messages.indexOf(good) + 1);
  for (const m of after) {
    assert.ok(errorsOf(m).length > 0, `a message after the good one carries its failure (${JSON.stringify(summary(m))})`);
    assert.deepEqual(
      m.fragments.flatMap((f) => Object.keys(f.routers)),
      [],
      'a failure message holds nothing of the broken revision',
    );
    assert.ok(
      errorsOf(m).some((i) => file.test(`${i.file ?? ''} ${i.message}`)),
      `the failure names the file (${JSON.stringify(summary(m))})`,
    );
  }
}

/** Polls a provider's status until `pred` holds. */
async function statusUntil(p: Provider, pred: (s: ProviderStatus) => boolean, ms: number, what: string): Promise<ProviderStatus> {
  const end = Date.now() + ms;
  for (;;) {
    const s = p.status();
    if (pred(s)) return s;
    if (Date.now() > end) assert.fail(`${what}: not seen within ${ms} ms (status: ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const readyOf = (s: ProviderStatus): { status: string; reason: string; message: string } | undefined =>
  s.conditions?.find((c) => c.type === 'Ready');

export function runProviderContract(h: ProviderHarness): void {
  const wait = h.changeTimeoutMs ?? 5000;

  const withSource = async (
    fn: (src: ProviderSource, inbox: Inbox) => Promise<void>,
    initial: Record<string, string> = {},
  ): Promise<void> => {
    const src = await h.setup();
    try {
      for (const [p, c] of Object.entries(initial)) await src.write(p, c);
      const inbox = new Inbox();
      await src.provider.start(h.atomic === true ? accepting(src.provider, inbox) : inbox.push);
      await fn(src, inbox);
    } finally {
      await src.provider.close();
      await src.cleanup();
    }
  };

  test(`${h.name} provider: first load emits every document before start resolves`, () =>
    withSource(
      async (src, inbox) => {
        assert.equal(src.provider.name, h.name);
        assert.ok(inbox.messages.length >= 1, 'a message before start resolved');
        const m = inbox.last;
        assert.equal(m.provider, h.name);
        assert.notEqual(m.revision, '');
        assert.deepEqual(routers(m, h.fileFragment), ['a', 'b']);
        assert.deepEqual(m.issues, []);
        const st = src.provider.status();
        assert.equal(st.name, h.name);
        assert.equal(st.state, 'ready');
        assert.equal(st.revision, m.revision);
        assert.notEqual(st.lastUpdate, '');
        if (h.atomic === true) {
          assert.equal(m.atomic, true, 'every revision is atomic');
          const applied = await statusUntil(src.provider, (s) => readyOf(s)?.status === 'True', wait, 'Ready=True once accepted');
          assert.equal(applied.lastAppliedRevision, m.revision);
          assert.equal(applied.lastAttemptedRevision, m.revision);
          assert.equal(readyOf(applied)?.reason, 'ReconciliationSucceeded');
          assert.equal(applied.history?.[0]?.result, 'applied');
        }
      },
      { 'a.yaml': routerDoc('a', 'Host(`a.test`)'), 'sub/b.yaml': routerDoc('b', 'Host(`b.test`)') },
    ));

  test(`${h.name} provider: both formats in one source (Traefik file format and Kubernetes objects)`, () =>
    withSource(
      async (_src, inbox) => {
        const m = inbox.last;
        assert.deepEqual(routers(m, h.fileFragment), ['a']);
        assert.ok(routers(m, 'kubernetescrd').length === 1, `one IngressRoute router (${JSON.stringify(summary(m))})`);
      },
      { 'a.yaml': routerDoc('a', 'Host(`a.test`)'), 'k8s.yaml': ingressRouteDoc },
    ));

  test(`${h.name} provider: a change is a new message with a new revision`, () =>
    withSource(
      async (src, inbox) => {
        const first = inbox.last;
        await src.write('a.yaml', routerDoc('a2', 'Host(`a2.test`)'));
        const m = await inbox.until((x) => routers(x, h.fileFragment).includes('a2'), wait, 'the changed router');
        assert.notEqual(m.revision, first.revision);
        assert.deepEqual(routers(m, h.fileFragment), ['a2']);
      },
      { 'a.yaml': routerDoc('a', 'Host(`a.test`)') },
    ));

  test(`${h.name} provider: a removed document removes its items`, () =>
    withSource(
      async (src, inbox) => {
        await src.remove('b.yaml');
        const m = await inbox.until((x) => !routers(x, h.fileFragment).includes('b'), wait, 'the removal');
        assert.deepEqual(routers(m, h.fileFragment), ['a']);
      },
      { 'a.yaml': routerDoc('a', 'Host(`a.test`)'), 'b.yaml': routerDoc('b', 'Host(`b.test`)') },
    ));

  if (h.atomic === true)
    test(`${h.name} provider: a broken document refuses its whole revision; the last one stays in force and the status says why`, () =>
      withSource(
        async (src, inbox) => {
          const good = inbox.last;
          const applied = await statusUntil(src.provider, (s) => readyOf(s)?.status === 'True', wait, 'the first revision applied');
          await src.write('a.yaml', 'http:\n  routers:\n    a: [unclosed\n');
          const st = await statusUntil(src.provider, (s) => readyOf(s)?.status === 'False', wait, 'Ready=False');
          assert.equal(readyOf(st)?.reason, 'BuildFailed');
          assert.match(readyOf(st)!.message, /a\.yaml:\d+/, 'the file and line');
          assert.equal(st.state, 'degraded');
          assert.notEqual(st.message, '');
          assert.equal(st.lastAppliedRevision, applied.lastAppliedRevision, 'the applied revision is unchanged');
          assert.notEqual(st.lastAttemptedRevision, applied.lastAppliedRevision, 'the broken revision was attempted');
          assert.equal(lastApplied(inbox), good, 'nothing of the broken revision is applied');
          onlyFailuresAfter(inbox, good, /a\.yaml/);
          assert.deepEqual(routers(lastApplied(inbox), h.fileFragment), ['a', 'b']);
          assert.equal(st.history?.[0]?.result, 'refused');
          // A revision that also changes b.yaml is refused whole: b's change does not serve either.
          await src.write('b.yaml', routerDoc('b2', 'Host(`b2.test`)'));
          await statusUntil(
            src.provider,
            (s) => s.lastAttemptedRevision !== st.lastAttemptedRevision && readyOf(s)?.status === 'False',
            wait,
            'the next broken revision',
          );
          assert.equal(lastApplied(inbox), good, 'still nothing applied');
          // Fixing it applies the whole revision.
          await src.write('a.yaml', routerDoc('a3', 'Host(`a3.test`)'));
          const fixed = await inbox.until((x) => routers(x, h.fileFragment).includes('a3'), wait, 'the fix');
          assert.deepEqual(routers(fixed, h.fileFragment), ['a3', 'b2']);
          assert.deepEqual(fixed.issues, []);
          const ok = await statusUntil(src.provider, (s) => readyOf(s)?.status === 'True', wait, 'Ready=True after the fix');
          assert.equal(ok.lastAppliedRevision, fixed.revision);
          assert.equal(ok.state, 'ready');
        },
        { 'a.yaml': routerDoc('a', 'Host(`a.test`)'), 'b.yaml': routerDoc('b', 'Host(`b.test`)') },
      ));
  else
    test(`${h.name} provider: a broken document keeps its last good version and says so`, () =>
      withSource(
        async (src, inbox) => {
          await src.write('a.yaml', 'http:\n  routers:\n    a: [unclosed\n');
          const m = await inbox.until((x) => x.issues.length > 0, wait, 'the parse error');
          assert.deepEqual(routers(m, h.fileFragment), ['a', 'b'], 'the last good version of a.yaml still serves');
          const issue = m.issues[0]!;
          assert.match(String(issue.file), /a\.yaml$/);
          assert.equal(typeof issue.line, 'number');
          assert.match(issue.message, /last good/);
          // The refusal, with since when and the time of the version still served.
          assert.equal(m.refused.length, 1, 'one refused source');
          const r = m.refused[0]!;
          assert.equal(r.provider, h.name);
          assert.match(r.file, /a\.yaml$/);
          assert.equal(r.line, issue.line);
          assert.ok(r.code !== '', 'a code');
          assert.ok(!Number.isNaN(Date.parse(r.since)), `since is a time: ${r.since}`);
          assert.ok(
            r.lastGood !== null && Date.parse(r.lastGood) <= Date.parse(r.since),
            `lastGood (${r.lastGood}) is before since (${r.since})`,
          );
          // Broken again, differently: still refused since the first time.
          await src.write('a.yaml', '# comment\n# comment\nhttp:\n  routers:\n    a: {unclosed\n');
          const again = await inbox.until(
            (x) => x.refused.length === 1 && x.refused[0]!.line !== r.line,
            wait,
            'the second parse error (on another line)',
          );
          assert.equal(again.refused[0]!.since, r.since, 'since is kept while the document stays refused');
          assert.equal(again.refused[0]!.lastGood, r.lastGood);
          const st = src.provider.status();
          assert.equal(st.state, 'degraded');
          assert.notEqual(st.message, '');
          // Fixing it clears the problem.
          await src.write('a.yaml', routerDoc('a3', 'Host(`a3.test`)'));
          const fixed = await inbox.until((x) => x.issues.length === 0 && routers(x, h.fileFragment).includes('a3'), wait, 'the fix');
          assert.deepEqual(routers(fixed, h.fileFragment), ['a3', 'b']);
          assert.deepEqual(fixed.refused, []);
          assert.equal(src.provider.status().state, 'ready');
        },
        { 'a.yaml': routerDoc('a', 'Host(`a.test`)'), 'b.yaml': routerDoc('b', 'Host(`b.test`)') },
      ));

  if (h.atomic === true)
    test(`${h.name} provider: a document that never parsed is reported and loses nothing else`, () =>
      withSource(
        async (src, inbox) => {
          const good = inbox.last;
          await src.write('new.yaml', 'http: [');
          const st = await statusUntil(src.provider, (s) => readyOf(s)?.status === 'False', wait, 'Ready=False');
          assert.match(readyOf(st)!.message, /new\.yaml/);
          assert.equal(lastApplied(inbox), good);
          onlyFailuresAfter(inbox, good, /new\.yaml/);
          assert.deepEqual(routers(lastApplied(inbox), h.fileFragment), ['a']);
        },
        { 'a.yaml': routerDoc('a', 'Host(`a.test`)') },
      ));
  else
    test(`${h.name} provider: a document that never parsed is reported and loses nothing else`, () =>
      withSource(
        async (src, inbox) => {
          await src.write('new.yaml', 'http: [');
          const m = await inbox.until((x) => x.issues.length > 0, wait, 'the parse error');
          assert.deepEqual(routers(m, h.fileFragment), ['a']);
          assert.match(String(m.issues[0]!.file), /new\.yaml$/);
          assert.equal(m.refused.length, 1);
          assert.equal(m.refused[0]!.lastGood, null, 'nothing of a document that never parsed is served');
        },
        { 'a.yaml': routerDoc('a', 'Host(`a.test`)') },
      ));

  test(`${h.name} provider: nothing is emitted after close`, async () => {
    const src = await h.setup();
    try {
      await src.write('a.yaml', routerDoc('a', 'Host(`a.test`)'));
      const inbox = new Inbox();
      await src.provider.start(inbox.push);
      await src.provider.close();
      const n = inbox.messages.length;
      await src.write('a.yaml', routerDoc('late', 'Host(`late.test`)'));
      await new Promise((r) => setTimeout(r, Math.min(wait, 1500)));
      assert.equal(inbox.messages.length, n);
      assert.equal(src.provider.status().state, 'stopped');
    } finally {
      await src.cleanup();
    }
  });
}
