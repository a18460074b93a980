/**
 * The PowerDNS provider and the planner against a real PowerDNS Authoritative
 * (test/support/pdns.ts): records seen with dig, apex ALIAS expansion, errors,
 * and ownership end to end (routers → desired → plan → PATCH).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startPdns, type TestPdns } from './support/pdns.js';
import { createPdnsProvider } from '../src/dns/pdns.js';
import { checkAnswers } from '../src/dns/alias-check.js';
import { desiredFromRouters, type RouterInput } from '../src/dns/desired.js';
import { publishOnce } from '../src/dns/publish.js';
import { DnsError, type DnsProvider, type RecordSet } from '../src/dns/types.js';

const LONG_TXT = `k="v" \\ ${'x'.repeat(300)} é`;

describe('PowerDNS provider (expand-alias on)', () => {
  let pdns: TestPdns;
  let provider: DnsProvider;
  before(async () => {
    pdns = await startPdns({ expandAlias: true });
    await pdns.createZone('example.com');
    await pdns.createZone('shared.test');
    provider = createPdnsProvider({ server: pdns.apiUrl, apiKey: readFileSync(pdns.apiKeyFile, 'utf8').trim(), timeoutMs: 5000 });
  });
  after(async () => {
    await provider?.close();
    await pdns?.close();
  });

  test('lists the zones and applies creates, updates and deletes, seen by dig', async () => {
    assert.deepEqual(await provider.zones(), ['example.com', 'shared.test']);
    await provider.apply('example.com', {
      create: [
        { name: 'app.example.com', type: 'A', ttl: 120, values: ['192.0.2.1', '192.0.2.2'] },
        { name: 'app.example.com', type: 'AAAA', ttl: 120, values: ['2001:db8::1'] },
        { name: 'www.example.com', type: 'CNAME', ttl: 120, values: ['app.example.com'] },
        { name: 'note.example.com', type: 'TXT', ttl: 120, values: [LONG_TXT] },
      ],
      update: [],
      delete: [],
    });
    assert.deepEqual(await pdns.dig('app.example.com', 'A'), ['192.0.2.1', '192.0.2.2']);
    assert.deepEqual(await pdns.dig('app.example.com', 'AAAA'), ['2001:db8::1']);
    assert.deepEqual(await pdns.dig('www.example.com', 'CNAME'), ['app.example.com.']);
    const txt = await pdns.dig('note.example.com', 'TXT');
    assert.equal(txt.length, 1);
    assert.match(txt[0] ?? '', /^"k=\\"v\\" \\\\ x+" "x+ \\195\\169"$/, 'split in two character-strings, escaped');

    const read = await provider.records('example.com');
    const byKey = new Map(read.map((rs) => [`${rs.name} ${rs.type}`, rs]));
    assert.deepEqual(byKey.get('app.example.com A'), { name: 'app.example.com', type: 'A', ttl: 120, values: ['192.0.2.1', '192.0.2.2'] });
    assert.deepEqual(byKey.get('www.example.com CNAME')?.values, ['app.example.com']);
    assert.deepEqual(byKey.get('note.example.com TXT')?.values, [LONG_TXT], 'TXT read back unquoted and joined');
    assert.equal(byKey.has('example.com SOA' as string), false, 'SOA and NS are left out');

    await provider.apply('example.com', {
      create: [],
      update: [{ name: 'app.example.com', type: 'A', ttl: 60, values: ['192.0.2.3'] }],
      delete: [
        { name: 'app.example.com', type: 'AAAA', ttl: 120, values: ['2001:db8::1'] },
        byKey.get('note.example.com TXT') as RecordSet,
      ],
    });
    assert.deepEqual(await pdns.dig('app.example.com', 'A'), ['192.0.2.3']);
    assert.deepEqual(await pdns.dig('app.example.com', 'AAAA'), []);
    assert.deepEqual(await pdns.dig('note.example.com', 'TXT'), []);
  });

  test('a CNAME replaces an A in one PATCH (deletions go first)', async () => {
    await provider.apply('example.com', {
      create: [{ name: 'swap.example.com', type: 'A', ttl: 60, values: ['192.0.2.9'] }],
      update: [],
      delete: [],
    });
    await provider.apply('example.com', {
      create: [{ name: 'swap.example.com', type: 'CNAME', ttl: 60, values: ['app.example.com'] }],
      update: [],
      delete: [{ name: 'swap.example.com', type: 'A', ttl: 60, values: ['192.0.2.9'] }],
    });
    assert.deepEqual(await pdns.dig('swap.example.com', 'CNAME'), ['app.example.com.']);
  });

  test('an apex ALIAS resolves through the resolver and the check says so', async () => {
    pdns.resolver.set('lb.example.net', 'A', ['198.51.100.80']);
    const alias: RecordSet = { name: 'example.com', type: 'ALIAS', ttl: 60, values: ['lb.example.net'] };
    await provider.apply('example.com', { create: [alias], update: [], delete: [] });
    assert.deepEqual(await pdns.dig('example.com', 'A'), ['198.51.100.80']);
    const checked = await checkAnswers('127.0.0.1', pdns.dnsPort, [
      alias,
      { name: 'app.example.com', type: 'A', ttl: 60, values: ['192.0.2.3'] },
    ]);
    assert.deepEqual(checked.get('example.com ALIAS'), { ok: true, answer: ['198.51.100.80'] });
    assert.equal(checked.get('app.example.com A')?.ok, true);
    const read = await provider.records('example.com');
    assert.deepEqual(read.find((r) => r.type === 'ALIAS')?.values, ['lb.example.net']);
  });

  test("PowerDNS's error field and the status come back in a DnsError", async () => {
    await assert.rejects(
      provider.apply('example.com', {
        create: [{ name: 'bad.example.com', type: 'A', ttl: 60, values: ['not-an-address'] }],
        update: [],
        delete: [],
      }),
      (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.reason, 'HTTP_422');
        assert.match(err.message, new RegExp(`PowerDNS ${pdns.apiUrl}: updating zone example.com .*HTTP 422: .*not-an-address`));
        return true;
      },
    );
    await assert.rejects(
      provider.records('missing.example'),
      (err: unknown) => err instanceof DnsError && /HTTP_40[04]|HTTP_422/.test(err.reason),
    );
  });

  test('an answer larger than the limit is refused', async () => {
    const small = createPdnsProvider({ server: pdns.apiUrl, apiKey: pdns.apiKey, maxResponseBytes: 64 });
    try {
      await assert.rejects(small.records('example.com'), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.reason, 'TOO_LARGE');
        assert.match(err.message, /reading zone example.com: the answer is larger than 64 bytes/);
        return true;
      });
    } finally {
      await small.close();
    }
  });

  test('a wrong API key: HTTP_401 naming the server, never the key', async () => {
    const wrongKey = 'wrong-key-7f3a9c';
    const bad = createPdnsProvider({ server: pdns.apiUrl, apiKey: wrongKey, timeoutMs: 5000 });
    try {
      await assert.rejects(bad.zones(), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.reason, 'HTTP_401');
        assert.ok(err.message.includes(pdns.apiUrl), err.message);
        assert.ok(!err.message.includes(wrongKey) && !err.message.includes(pdns.apiKey), 'no key in the message');
        return true;
      });
    } finally {
      await bad.close();
    }
  });

  describe('planner and provider together', () => {
    const ZONE = 'shared.test';
    const base = { owner: 'gatehouse-a', maxDeletes: 10, graceMs: 60_000 };
    const routers = (names: string[]): RouterInput[] =>
      names.map((n) => ({ name: `${n}@file`, rule: `Host(\`${n}.shared.test\`)`, status: 'enabled' }));
    const desired = (names: string[]) =>
      desiredFromRouters(routers(names), { targets: ['192.0.2.10'], domainFilters: [ZONE], ttl: 60 }).records;

    before(async () => {
      // Another owner (ExternalDNS of another cluster) and a hand-made record in the same zone.
      await provider.apply(ZONE, {
        create: [
          { name: 'theirs.shared.test', type: 'A', ttl: 60, values: ['203.0.113.5'] },
          {
            name: 'a-gh.theirs.shared.test',
            type: 'TXT',
            ttl: 60,
            values: ['heritage=external-dns,external-dns/owner=cluster-b,external-dns/resource=ingress/default/theirs'],
          },
          { name: 'manual.shared.test', type: 'A', ttl: 60, values: ['203.0.113.6'] },
        ],
        update: [],
        delete: [],
      });
    });

    test('routers appear → records with ownership TXT; a name owned by another is a conflict and untouched', async () => {
      const r = await publishOnce(provider, [...desired(['app', 'api']), ...desired(['theirs'])], { ...base, policy: 'sync', now: 1000 });
      assert.equal(r.applied, true);
      assert.deepEqual(
        r.plan.records.map((x) => `${x.name} ${x.state}`),
        ['api.shared.test Published', 'app.shared.test Published', 'theirs.shared.test Conflict'],
      );
      assert.deepEqual(
        r.plan.conflicts.map((c) => c.reason),
        ['owned by cluster-b'],
      );
      assert.deepEqual(await pdns.dig('app.shared.test', 'A'), ['192.0.2.10']);
      assert.deepEqual(await pdns.dig('a-gh.app.shared.test', 'TXT'), [
        '"heritage=external-dns,external-dns/owner=gatehouse-a,external-dns/resource=router/app@file"',
      ]);
      assert.deepEqual(await pdns.dig('theirs.shared.test', 'A'), ['203.0.113.5']);

      const again = await publishOnce(provider, desired(['app', 'api']), { ...base, policy: 'sync', now: 2000, dryRun: true });
      assert.equal(again.plan.changes.size, 0, 'a second pass has nothing to do');
    });

    test('dry run: plans, applies nothing', async () => {
      const r = await publishOnce(provider, desired(['app', 'api', 'dry']), { ...base, policy: 'sync', now: 3000, dryRun: true });
      assert.equal(r.applied, false);
      assert.equal(r.plan.records.find((x) => x.name === 'dry.shared.test')?.state, 'Pending');
      assert.deepEqual(await pdns.dig('dry.shared.test', 'A'), []);
    });

    test('upsert-only and create-only never delete; a removed router is deleted only after the grace (sync)', async () => {
      const up = await publishOnce(provider, desired(['app']), { ...base, policy: 'upsert-only', now: 10_000 });
      assert.equal(up.plan.deletions, 0);
      assert.deepEqual(await pdns.dig('api.shared.test', 'A'), ['192.0.2.10']);

      const co = await publishOnce(provider, desired(['app', 'new']), { ...base, policy: 'create-only', now: 11_000 });
      assert.equal(co.plan.deletions, 0);
      assert.deepEqual(await pdns.dig('new.shared.test', 'A'), ['192.0.2.10']);
      assert.deepEqual(await pdns.dig('api.shared.test', 'A'), ['192.0.2.10']);

      // sync: api and new are gone from the routers. First pass: marked, kept.
      const first = await publishOnce(provider, desired(['app']), { ...base, policy: 'sync', now: 20_000 });
      assert.equal(first.plan.deletions, 0);
      assert.deepEqual(first.plan.pendingDeletes.map((p) => p.name).sort(), ['api.shared.test', 'new.shared.test']);
      assert.deepEqual(await pdns.dig('api.shared.test', 'A'), ['192.0.2.10']);
      // api comes back within the interval; new stays away past the grace.
      const second = await publishOnce(provider, desired(['app', 'api']), {
        ...base,
        policy: 'sync',
        now: 50_000,
        missingSince: first.plan.missingSince,
      });
      assert.equal(second.plan.deletions, 0);
      const third = await publishOnce(provider, desired(['app']), {
        ...base,
        policy: 'sync',
        now: 80_000,
        missingSince: second.plan.missingSince,
      });
      assert.equal(third.plan.deletions, 1);
      assert.deepEqual(await pdns.dig('new.shared.test', 'A'), []);
      assert.deepEqual(await pdns.dig('a-gh.new.shared.test', 'TXT'), []);
      assert.deepEqual(await pdns.dig('api.shared.test', 'A'), ['192.0.2.10'], 'api reappeared: its grace starts over');

      // Other owners' and unmanaged records survived every pass.
      assert.deepEqual(await pdns.dig('theirs.shared.test', 'A'), ['203.0.113.5']);
      assert.deepEqual(await pdns.dig('manual.shared.test', 'A'), ['203.0.113.6']);
      assert.equal((await pdns.dig('a-gh.theirs.shared.test', 'TXT')).length, 1);
    });

    test('more deletions than --dns.maxdeletes: refused, nothing deleted', async () => {
      const r = await publishOnce(provider, [], { ...base, policy: 'sync', maxDeletes: 1, graceMs: 0, now: 90_000 });
      assert.equal(r.plan.refused, '2 deletions exceed --dns.maxdeletes=1');
      assert.equal(r.applied, false);
      assert.deepEqual(await pdns.dig('app.shared.test', 'A'), ['192.0.2.10']);
      assert.deepEqual(await pdns.dig('api.shared.test', 'A'), ['192.0.2.10']);
    });
  });
});

describe('PowerDNS provider (expand-alias off) and unreachable servers', () => {
  let pdns: TestPdns;
  before(async () => {
    pdns = await startPdns({ expandAlias: false });
    await pdns.createZone('example.org');
  });
  after(async () => {
    await pdns?.close();
  });

  test('an ALIAS that answers nothing is reported', async () => {
    pdns.resolver.set('lb.example.net', 'A', ['198.51.100.80']);
    const provider = createPdnsProvider({ server: pdns.apiUrl, apiKey: pdns.apiKey, zones: ['example.org'] });
    try {
      const alias: RecordSet = { name: 'example.org', type: 'ALIAS', ttl: 60, values: ['lb.example.net'] };
      await provider.apply('example.org', { create: [alias], update: [], delete: [] });
      const checked = await checkAnswers('127.0.0.1', pdns.dnsPort, [alias]);
      const c = checked.get('example.org ALIAS');
      assert.equal(c?.ok, false);
      assert.deepEqual(c?.answer, []);
      assert.match(c?.error ?? '', /answers no address .*expand-alias/);
    } finally {
      await provider.close();
    }
  });

  test('a stopped server: UNREACHABLE', async () => {
    const provider = createPdnsProvider({ server: pdns.apiUrl, apiKey: pdns.apiKey, timeoutMs: 2000 });
    try {
      await pdns.stop();
      await assert.rejects(provider.zones(), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.reason, 'UNREACHABLE');
        assert.match(err.message, /cannot reach the server \(ECONNREFUSED\)/);
        return true;
      });
    } finally {
      await provider.close();
    }
  });

  test('a server that accepts and never answers: TIMEOUT within the timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const provider = createPdnsProvider({ server: url, apiKey: 'k', timeoutMs: 300 });
    try {
      const started = Date.now();
      await assert.rejects(provider.zones(), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.reason, 'TIMEOUT');
        assert.match(err.message, /no answer within 300 ms/);
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'the timeout bounds the wait');
    } finally {
      await provider.close().catch(() => {});
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
