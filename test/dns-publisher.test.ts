/**
 * The DNS record publisher (src/dns/publisher.ts) against a real PowerDNS
 * Authoritative (test/support/pdns.ts) and a real BIND 9 (test/support/bind9.ts):
 * snapshots compiled from Traefik file configuration (and DNSEndpoint
 * resources) go in, records are checked with dig.
 *
 * The publisher's clock is the test's (`now`), so the grace of one interval is
 * crossed without waiting; DNS servers, TSIG and the network are real.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { startPdns, type TestPdns } from './support/pdns.js';
import { startBind9, type TestBind9 } from './support/bind9.js';
import { compileConfig } from '../src/config/compile.js';
import { emptyFragment, type Resource } from '../src/config/model.js';
import type { Snapshot } from '../src/config/runtime.js';
import { parseConfigText } from '../src/config/parse-documents.js';
import { fromTraefikFileDocuments } from '../src/providers/formats/traefik-file.js';
import { builtinRegistry } from '../src/middlewares/builtin.js';
import { builtinServices } from '../src/services/builtin.js';
import { silentLogger } from '../src/log.js';
import { dnsOptionsFromStatic, DnsStaticSchema, type DnsOptions, type DnsStaticSection } from '../src/dns/options.js';
import { DnsPublisher, type DnsMetrics, type DnsStatus } from '../src/dns/publisher.js';
import { dnsPrometheusText } from '../src/dns/metrics.js';

const registry = builtinRegistry();
const services = builtinServices();
let revision = 0;

/** A snapshot with one router per host (`<router>: <host>`, hosts joined with `||` when several), plus resources. */
function snapshot(routers: Record<string, string | string[]>, resources: Resource[] = []): Snapshot {
  const lines = ['http:', '  routers:'];
  for (const [name, hosts] of Object.entries(routers)) {
    const rule = (Array.isArray(hosts) ? hosts : [hosts]).map((h) => `Host(\`${h}\`)`).join(' || ');
    lines.push(`    ${name}:`, `      rule: "${rule}"`, '      service: svc');
  }
  if (Object.keys(routers).length === 0) lines.push('    {}');
  lines.push('  services:', '    svc:', '      loadBalancer:', '        servers:', '          - url: http://127.0.0.1:9', '');
  const text = Object.keys(routers).length === 0 ? lines.join('\n').replace('  routers:\n    {}', '  routers: {}') : lines.join('\n');
  const parsed = parseConfigText('/t/dynamic.yaml', text);
  assert.equal(parsed.error, undefined, parsed.error?.message);
  const extra = { ...emptyFragment('kubernetescrd'), resources };
  return compileConfig({
    fragments: [fromTraefikFileDocuments(parsed.documents), extra],
    entryPoints: ['web'],
    defaultEntryPoints: ['web'],
    defaultRuleSyntax: 'v3',
    registry,
    services,
    revision: ++revision,
  });
}

function dnsEndpoint(name: string, endpoints: Array<{ dnsName: string; recordType: string; targets: string[] }>): Resource {
  return { kind: 'DNSEndpoint', name, namespace: 'apps', spec: { endpoints }, source: {} };
}

function options(partial: Record<string, unknown>, cwd = '/'): DnsOptions {
  const o = dnsOptionsFromStatic(Value.Default(DnsStaticSchema, structuredClone(partial)) as DnsStaticSection, cwd);
  assert.ok(o !== null);
  return o;
}

/** A publisher on a test clock; closed by `t.after`-style cleanup lists. */
function publisher(o: DnsOptions, clock: { now: number }, onMetrics?: (m: DnsMetrics) => void): DnsPublisher {
  return new DnsPublisher({ options: o, log: silentLogger, now: () => clock.now, ...(onMetrics !== undefined ? { onMetrics } : {}) });
}

function record(s: DnsStatus, name: string, type: string): DnsStatus['records'][number] {
  const r = s.records.find((x) => x.name === name && x.type === type);
  assert.ok(r !== undefined, `no record ${name} ${type} in ${JSON.stringify(s.records)}`);
  return r;
}

const MINUTE = 60_000;

describe('publisher on PowerDNS', () => {
  let pdns: TestPdns;
  const closing: DnsPublisher[] = [];
  before(async () => {
    pdns = await startPdns({ expandAlias: true });
    for (const z of ['follow.test', 'alias.test', 'owners.test', 'upsert.test', 'dry.test', 'maxdel.test', 'loop.test'])
      await pdns.createZone(z);
  });
  after(async () => {
    for (const p of closing) await p.close();
    await pdns?.close();
  });
  const pdnsOptions = (extra: Record<string, unknown>): DnsOptions =>
    options({
      provider: 'pdns',
      policy: 'sync',
      targets: ['203.0.113.10', '2001:db8::10'],
      checkaddress: `127.0.0.1:${pdns.dnsPort}`,
      pdns: { server: pdns.apiUrl, apikeyfile: pdns.apiKeyFile },
      ...extra,
    });

  test('routers appear, change and disappear: records follow; a short disappearance keeps the record; DNSEndpoints publish', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const metrics: DnsMetrics[] = [];
    const p = publisher(pdnsOptions({ txtowner: 'follow', domainfilters: ['follow.test'] }), clock, (m) => metrics.push(m));
    closing.push(p);

    p.update(
      snapshot({ app: 'app.follow.test', other: 'elsewhere.example' }, [
        dnsEndpoint('db', [{ dnsName: 'db.follow.test', recordType: 'A', targets: ['192.0.2.55'] }]),
      ]),
    );
    let s = await p.syncNow();
    assert.equal(s.lastError, null);
    assert.equal(record(s, 'app.follow.test', 'A').state, 'Published');
    assert.equal(record(s, 'app.follow.test', 'AAAA').state, 'Published');
    assert.equal(record(s, 'db.follow.test', 'A').resource, 'dnsendpoint/apps/db');
    assert.deepEqual(await pdns.dig('app.follow.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(await pdns.dig('app.follow.test', 'AAAA'), ['2001:db8::10']);
    assert.deepEqual(await pdns.dig('db.follow.test', 'A'), ['192.0.2.55']);
    assert.deepEqual(await pdns.dig('a-gh.app.follow.test', 'TXT'), [
      '"heritage=external-dns,external-dns/owner=follow,external-dns/resource=router/app@file"',
    ]);
    assert.ok(s.skipped.some((k) => k.host === 'elsewhere.example' && /domainfilters/.test(k.reason)));
    assert.deepEqual(p.routerStates()['app@file'], { name: 'app.follow.test', type: 'A', state: 'Published' });
    assert.equal(record(s, 'app.follow.test', 'A').lastCheck?.ok, true, 'answers checked over DNS after the publish');
    assert.deepEqual(metrics.at(-1), { records: { Published: 3, Pending: 0, Failed: 0, Conflict: 0 }, syncErrorsTotal: 0 });

    // The router's host changes: the new name is published, the old one waits one interval.
    clock.now += 10_000;
    p.update(snapshot({ app: 'app2.follow.test' }));
    s = await p.syncNow();
    assert.deepEqual(await pdns.dig('app2.follow.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(await pdns.dig('app.follow.test', 'A'), ['203.0.113.10'], 'kept during the grace');
    assert.deepEqual(
      s.pendingDeletes.map((d) => `${d.name} ${d.type}`),
      ['app.follow.test A', 'app.follow.test AAAA', 'db.follow.test A'],
    );

    // It comes back within the interval: nothing was deleted, nothing is pending.
    clock.now += 30_000;
    p.update(
      snapshot({ app: ['app.follow.test', 'app2.follow.test'] }, [
        dnsEndpoint('db', [{ dnsName: 'db.follow.test', recordType: 'A', targets: ['192.0.2.56'] }]),
      ]),
    );
    s = await p.syncNow();
    assert.deepEqual(s.pendingDeletes, []);
    assert.deepEqual(await pdns.dig('app.follow.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(await pdns.dig('db.follow.test', 'A'), ['192.0.2.56'], 'a changed DNSEndpoint target is updated');

    // Gone for longer than one interval: deleted, ownership records too.
    clock.now += 10_000;
    p.update(snapshot({ app: 'app2.follow.test' }));
    await p.syncNow();
    assert.deepEqual(await pdns.dig('app.follow.test', 'A'), ['203.0.113.10'], 'the grace starts again');
    clock.now += MINUTE + 1;
    s = await p.syncNow();
    assert.deepEqual(s.pendingDeletes, []);
    assert.deepEqual(await pdns.dig('app.follow.test', 'A'), []);
    assert.deepEqual(await pdns.dig('app.follow.test', 'AAAA'), []);
    assert.deepEqual(await pdns.dig('a-gh.app.follow.test', 'TXT'), []);
    assert.deepEqual(await pdns.dig('db.follow.test', 'A'), []);
    assert.deepEqual(await pdns.dig('app2.follow.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(
      s.records.map((r) => `${r.name} ${r.type} ${r.state}`),
      ['app2.follow.test A Published', 'app2.follow.test AAAA Published'],
    );
  });

  test('a host target: CNAME below the apex, ALIAS at the apex, which resolves and is checked over DNS', async () => {
    pdns.resolver.set('lb.example.net', 'A', ['192.0.2.80']);
    const clock = { now: Date.now() };
    const p = publisher(
      pdnsOptions({ targets: [], targethostname: 'lb.example.net', txtowner: 'alias', domainfilters: ['alias.test'] }),
      clock,
    );
    closing.push(p);
    p.update(snapshot({ apex: 'alias.test', www: 'www.alias.test' }));
    const s = await p.syncNow();
    const apex = record(s, 'alias.test', 'ALIAS');
    assert.equal(apex.state, 'Published');
    assert.equal(apex.lastCheck?.ok, true, JSON.stringify(apex.lastCheck));
    assert.deepEqual(apex.lastCheck?.answer, ['192.0.2.80']);
    assert.equal(record(s, 'www.alias.test', 'CNAME').state, 'Published');
    assert.deepEqual(await pdns.dig('alias.test', 'A'), ['192.0.2.80']);
    assert.deepEqual(await pdns.dig('www.alias.test', 'CNAME'), ['lb.example.net.']);
    assert.deepEqual(await pdns.dig('cname-gh.alias.test', 'TXT'), [
      '"heritage=external-dns,external-dns/owner=alias,external-dns/resource=router/apex@file"',
    ]);
  });

  test("another owner's record and a record without ownership are never touched", async () => {
    const patch = await fetch(`${pdns.apiUrl}/api/v1/servers/localhost/zones/owners.test.`, {
      method: 'PATCH',
      headers: { 'X-API-Key': pdns.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        rrsets: [
          {
            name: 'taken.owners.test.',
            type: 'A',
            ttl: 300,
            changetype: 'REPLACE',
            records: [{ content: '198.51.100.1', disabled: false }],
          },
          {
            name: 'a-gh.taken.owners.test.',
            type: 'TXT',
            ttl: 300,
            changetype: 'REPLACE',
            records: [{ content: '"heritage=external-dns,external-dns/owner=someone-else"', disabled: false }],
          },
          {
            name: 'manual.owners.test.',
            type: 'A',
            ttl: 300,
            changetype: 'REPLACE',
            records: [{ content: '198.51.100.2', disabled: false }],
          },
        ],
      }),
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(patch.status, 204, await patch.text());
    const clock = { now: Date.now() };
    const p = publisher(pdnsOptions({ targets: ['203.0.113.10'], txtowner: 'owners', domainfilters: ['owners.test'] }), clock);
    closing.push(p);
    p.update(snapshot({ taken: 'taken.owners.test', manual: 'manual.owners.test', mine: 'mine.owners.test' }));
    let s = await p.syncNow();
    assert.equal(record(s, 'taken.owners.test', 'A').state, 'Conflict');
    assert.match(record(s, 'taken.owners.test', 'A').message ?? '', /owned by someone-else/);
    assert.equal(record(s, 'manual.owners.test', 'A').state, 'Conflict');
    assert.match(record(s, 'manual.owners.test', 'A').message ?? '', /not managed \(no ownership record\)/);
    assert.equal(p.routerStates()['taken@file']?.state, 'Conflict');
    assert.equal(record(s, 'mine.owners.test', 'A').state, 'Published');
    // Every router goes away, well past the grace: only our own record is deleted.
    p.update(snapshot({}));
    await p.syncNow();
    clock.now += 2 * MINUTE;
    s = await p.syncNow();
    assert.equal(s.lastError, null);
    assert.deepEqual(await pdns.dig('taken.owners.test', 'A'), ['198.51.100.1']);
    assert.deepEqual(await pdns.dig('manual.owners.test', 'A'), ['198.51.100.2']);
    assert.deepEqual(await pdns.dig('a-gh.taken.owners.test', 'TXT'), ['"heritage=external-dns,external-dns/owner=someone-else"']);
    assert.deepEqual(await pdns.dig('mine.owners.test', 'A'), []);
  });

  test('upsert-only creates and updates, never deletes', async () => {
    const clock = { now: Date.now() };
    const p = publisher(
      pdnsOptions({ policy: 'upsert-only', targets: ['203.0.113.10'], txtowner: 'upsert', domainfilters: ['upsert.test'] }),
      clock,
    );
    closing.push(p);
    p.update(snapshot({ a: 'a.upsert.test' }));
    await p.syncNow();
    assert.deepEqual(await pdns.dig('a.upsert.test', 'A'), ['203.0.113.10']);
    p.update(snapshot({}));
    await p.syncNow();
    clock.now += 24 * 60 * MINUTE;
    const s = await p.syncNow();
    assert.deepEqual(s.pendingDeletes, []);
    assert.deepEqual(await pdns.dig('a.upsert.test', 'A'), ['203.0.113.10']);
  });

  test('dry run plans and reports, changes nothing', async () => {
    const clock = { now: Date.now() };
    const p = publisher(pdnsOptions({ dryrun: true, txtowner: 'dry', domainfilters: ['dry.test'] }), clock);
    closing.push(p);
    p.update(snapshot({ a: 'a.dry.test' }));
    const s = await p.syncNow();
    assert.equal(s.dryRun, true);
    assert.equal(record(s, 'a.dry.test', 'A').state, 'Pending');
    assert.equal(record(s, 'a.dry.test', 'A').message, 'to be created');
    assert.deepEqual(await pdns.dig('a.dry.test', 'A'), []);
    assert.deepEqual(await pdns.dig('a-gh.a.dry.test', 'TXT'), []);
  });

  test('a plan deleting more than --dns.maxdeletes is refused with a warning; nothing is deleted', async () => {
    const clock = { now: Date.now() };
    const p = publisher(
      pdnsOptions({ targets: ['203.0.113.10'], maxdeletes: 2, txtowner: 'maxdel', domainfilters: ['maxdel.test'] }),
      clock,
    );
    closing.push(p);
    p.update(snapshot({ a: 'a.maxdel.test', b: 'b.maxdel.test', c: 'c.maxdel.test', keep: 'keep.maxdel.test' }));
    await p.syncNow();
    p.update(snapshot({ keep: 'keep.maxdel.test' }));
    await p.syncNow();
    clock.now += 2 * MINUTE;
    p.update(snapshot({ keep: 'keep.maxdel.test', d: 'd.maxdel.test' }));
    const s = await p.syncNow();
    assert.equal(s.refused, '3 deletions exceed --dns.maxdeletes=2');
    assert.ok(s.warnings.includes('plan refused: 3 deletions exceed --dns.maxdeletes=2'), s.warnings.join('; '));
    for (const h of ['a', 'b', 'c', 'keep']) assert.deepEqual(await pdns.dig(`${h}.maxdel.test`, 'A'), ['203.0.113.10'], h);
    assert.deepEqual(await pdns.dig('d.maxdel.test', 'A'), [], 'a refused plan applies nothing at all');
    assert.equal(record(s, 'd.maxdel.test', 'A').state, 'Failed');
    assert.equal(record(s, 'd.maxdel.test', 'A').message, 'plan refused: 3 deletions exceed --dns.maxdeletes=2');
  });

  test('the loop: start() publishes the first snapshot, a configuration change triggers a pass', async () => {
    const p = new DnsPublisher({
      options: pdnsOptions({ targets: ['203.0.113.10'], txtowner: 'loop', domainfilters: ['loop.test'], mineventsyncinterval: 0 }),
      log: silentLogger,
    });
    closing.push(p);
    p.update(snapshot({ a: 'a.loop.test' }));
    let next = p.nextSync();
    p.start();
    let s = await next;
    assert.equal(record(s, 'a.loop.test', 'A').state, 'Published');
    next = p.nextSync();
    p.update(snapshot({ a: 'a.loop.test', b: 'b.loop.test' }));
    s = await next;
    assert.equal(record(s, 'b.loop.test', 'A').state, 'Published');
    assert.deepEqual(await pdns.dig('b.loop.test', 'A'), ['203.0.113.10']);
    assert.equal(s.syncs, 2);
  });

  test('--dns.once: one pass after the first snapshot, then no more', async () => {
    const p = new DnsPublisher({
      options: pdnsOptions({
        targets: ['203.0.113.10'],
        txtowner: 'once',
        once: true,
        domainfilters: ['loop.test'],
        mineventsyncinterval: 0,
      }),
      log: silentLogger,
    });
    closing.push(p);
    const next = p.nextSync();
    p.start();
    p.update(snapshot({ a: 'once-a.loop.test' }));
    const s = await next;
    assert.equal(record(s, 'once-a.loop.test', 'A').state, 'Published');
    p.update(snapshot({ a: 'once-a.loop.test', b: 'once-b.loop.test' }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(p.status().syncs, 1);
    assert.deepEqual(await pdns.dig('once-b.loop.test', 'A'), []);
  });
});

describe('publisher on PowerDNS: the server stops and comes back', () => {
  let pdns: TestPdns;
  let restarted: ChildProcess | null = null;
  before(async () => {
    pdns = await startPdns({ expandAlias: false });
    await pdns.createZone('outage.test');
  });
  after(async () => {
    if (restarted !== null && restarted.exitCode === null) {
      const p = restarted;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    await pdns?.close();
  });

  test('the last published state is kept, the error is shown, publishing resumes when the server is back', async () => {
    const clock = { now: Date.now() };
    const o = options({
      provider: 'pdns',
      policy: 'sync',
      targets: ['203.0.113.10'],
      checkaddress: 'off',
      pdns: { server: pdns.apiUrl, apikeyfile: pdns.apiKeyFile },
    });
    const metrics: DnsMetrics[] = [];
    const p = publisher(o, clock, (m) => metrics.push(m));
    try {
      p.update(snapshot({ app: 'app.outage.test' }));
      let s = await p.syncNow();
      assert.equal(record(s, 'app.outage.test', 'A').state, 'Published');
      const publishedAt = record(s, 'app.outage.test', 'A').lastPublished;

      await pdns.stop();
      clock.now += 2 * MINUTE;
      p.update(snapshot({ other: 'other.outage.test' }));
      s = await p.syncNow();
      assert.equal(s.lastError?.reason, 'UNREACHABLE');
      assert.match(s.lastError?.message ?? '', /^PowerDNS http:\/\/127\.0\.0\.1:\d+: listing zones: cannot reach the server/);
      const app = record(s, 'app.outage.test', 'A');
      assert.equal(app.state, 'Failed');
      assert.equal(app.message, s.lastError?.message);
      assert.equal(app.lastPublished, publishedAt, 'when it was last seen published is kept');
      assert.equal(record(s, 'other.outage.test', 'A').state, 'Failed');
      assert.equal(s.syncErrors, 1);
      assert.match(dnsPrometheusText(s), /^gatehouse_dns_records\{state="Failed"\} 2$/m);
      assert.match(dnsPrometheusText(s), /^gatehouse_dns_sync_errors_total 1$/m);
      assert.deepEqual(metrics.at(-1), { records: { Published: 0, Pending: 0, Failed: 2, Conflict: 0 }, syncErrorsTotal: 1 });

      // The same server comes back (same configuration, database and ports).
      restarted = spawn('/usr/sbin/pdns_server', [`--config-dir=${dirname(pdns.apiKeyFile)}`], { stdio: 'ignore' });
      const end = Date.now() + 15_000;
      for (;;) {
        try {
          const r = await fetch(`${pdns.apiUrl}/api/v1/servers/localhost`, {
            headers: { 'X-API-Key': pdns.apiKey },
            signal: AbortSignal.timeout(1000),
          });
          await r.arrayBuffer();
          if (r.ok) break;
        } catch {
          // not yet
        }
        assert.ok(Date.now() < end, 'pdns_server did not come back within 15 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await pdns.dig('app.outage.test', 'A'), ['203.0.113.10'], 'nothing was lost while the server was away');
      // The first pass back: app is missing from the desired set since now (the grace starts again), other is created.
      s = await p.syncNow();
      assert.equal(s.lastError, null);
      assert.equal(record(s, 'other.outage.test', 'A').state, 'Published');
      assert.deepEqual(await pdns.dig('other.outage.test', 'A'), ['203.0.113.10']);
      assert.deepEqual(await pdns.dig('app.outage.test', 'A'), ['203.0.113.10'], 'the grace counts from when the zone was seen');
      assert.equal(s.syncErrors, 1);
    } finally {
      await p.close();
    }
  });
});

describe('publisher on BIND 9 (RFC 2136, TSIG)', () => {
  let bind: TestBind9;
  let dir: string;
  before(async () => {
    bind = await startBind9();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-publisher-'));
    writeFileSync(join(dir, 'good.secret'), `${bind.secretBase64}\n`);
    writeFileSync(join(dir, 'wrong.secret'), `${Buffer.alloc(32, 7).toString('base64')}\n`);
  });
  after(async () => {
    await bind?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const bindOptions = (secretFile: string, extra: Record<string, unknown> = {}): DnsOptions =>
    options(
      {
        provider: 'rfc2136',
        policy: 'sync',
        targets: ['203.0.113.20'],
        rfc2136: {
          host: '127.0.0.1',
          port: bind.port,
          zone: [bind.zones.join(',')],
          tsigkeyname: bind.keyName,
          tsigsecretfile: secretFile,
        },
        ...extra,
      },
      dir,
    );

  test('routers are published with dynamic updates, checked over DNS, and deleted after the grace', async () => {
    const clock = { now: Date.now() };
    const p = publisher(bindOptions('good.secret', { txtowner: 'bind' }), clock);
    try {
      p.update(snapshot({ app: 'app.example.test', org: 'api.example.org.test', outside: 'x.example.com' }));
      let s = await p.syncNow();
      assert.equal(s.lastError, null);
      assert.equal(record(s, 'app.example.test', 'A').state, 'Published');
      assert.equal(record(s, 'app.example.test', 'A').lastCheck?.ok, true);
      assert.equal(record(s, 'api.example.org.test', 'A').zone, 'example.org.test');
      assert.equal(record(s, 'x.example.com', 'A').state, 'Failed');
      assert.match(record(s, 'x.example.com', 'A').message ?? '', /no zone of the provider holds x\.example\.com/);
      assert.deepEqual(bind.lookup('app.example.test', 'A'), ['203.0.113.20']);
      assert.deepEqual(bind.lookup('api.example.org.test', 'A'), ['203.0.113.20']);
      assert.deepEqual(bind.lookup('a-gh.app.example.test', 'TXT'), [
        '"heritage=external-dns,external-dns/owner=bind,external-dns/resource=router/app@file"',
      ]);
      p.update(snapshot({ org: 'api.example.org.test' }));
      await p.syncNow();
      assert.deepEqual(bind.lookup('app.example.test', 'A'), ['203.0.113.20']);
      clock.now += MINUTE + 1;
      s = await p.syncNow();
      assert.deepEqual(bind.lookup('app.example.test', 'A'), []);
      assert.deepEqual(bind.lookup('a-gh.app.example.test', 'TXT'), []);
      assert.deepEqual(bind.lookup('api.example.org.test', 'A'), ['203.0.113.20']);
    } finally {
      await p.close();
    }
  });

  test('a wrong TSIG secret: records Failed with BADSIG, nothing lost on the server', async () => {
    const clock = { now: Date.now() };
    const good = publisher(bindOptions('good.secret', { txtowner: 'tsig' }), clock);
    try {
      good.update(snapshot({ keep: 'keep.example.test' }));
      assert.equal(record(await good.syncNow(), 'keep.example.test', 'A').state, 'Published');
    } finally {
      await good.close();
    }
    const wrong = publisher(bindOptions('wrong.secret', { txtowner: 'tsig' }), clock);
    try {
      wrong.update(snapshot({ fresh: 'fresh.example.test' }));
      clock.now += 2 * MINUTE;
      await wrong.syncNow();
      clock.now += 2 * MINUTE;
      const s = await wrong.syncNow();
      assert.equal(s.lastError?.reason, 'BADSIG');
      assert.match(s.lastError?.message ?? '', /BADSIG/);
      const fresh = record(s, 'fresh.example.test', 'A');
      assert.equal(fresh.state, 'Failed');
      assert.match(fresh.message ?? '', /zone example\.test cannot be read: .*BADSIG/);
      assert.ok(!JSON.stringify(s).includes(bind.secretBase64));
      assert.equal(s.syncErrors, 2);
      assert.deepEqual(bind.lookup('keep.example.test', 'A'), ['203.0.113.20'], 'nothing deleted');
      assert.deepEqual(bind.lookup('fresh.example.test', 'A'), []);
    } finally {
      await wrong.close();
    }
  });
});
