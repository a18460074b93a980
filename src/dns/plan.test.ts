import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planChanges, type DesiredRecord, type Plan, type PlanOptions } from './plan.js';
import { formatOwnership, ownershipName, parseOwnership } from './ownership.js';
import type { RecordChanges, RecordSet } from './types.js';

const ZONE = 'example.com';
const PDNS = { alias: true, read: true };
const OWNER = 'gh';

function owned(name: string, type: string, owner = OWNER, resource = 'router/app@file'): RecordSet {
  return {
    name: ownershipName(name, type as RecordSet['type']),
    type: 'TXT',
    ttl: 300,
    values: [`heritage=external-dns,external-dns/owner=${owner},external-dns/resource=${resource}`],
  };
}
const a = (name: string, ...values: string[]): RecordSet => ({ name, type: 'A', ttl: 300, values });
const want = (name: string, type: DesiredRecord['type'], targets: string[], resource = 'router/app@file', ttl = 300): DesiredRecord => ({
  name,
  type,
  targets,
  ttl,
  resource,
});

function run(desired: DesiredRecord[], current: RecordSet[], opts: Partial<PlanOptions> = {}, zone = ZONE): Plan {
  return planChanges(desired, new Map([[zone, current]]), { policy: 'sync', owner: OWNER, capabilities: PDNS, graceMs: 0, ...opts });
}

/** `create A app.example.com [1.2.3.4]`, sorted, one line per record set. */
function lines(c: RecordChanges | undefined): string[] {
  if (c === undefined) return [];
  const out: string[] = [];
  for (const op of ['create', 'update', 'delete'] as const)
    for (const rs of c[op]) out.push(`${op} ${rs.type} ${rs.name}${op === 'delete' ? '' : ` ${rs.ttl} [${rs.values.join(' ')}]`}`);
  return out;
}

const TXT_APP = 'heritage=external-dns,external-dns/owner=gh,external-dns/resource=router/app@file';

interface Case {
  name: string;
  desired: DesiredRecord[];
  current: RecordSet[];
  opts?: Partial<PlanOptions>;
  changes: string[];
  states?: string[];
  conflicts?: string[];
  deletions?: number;
  refused?: string;
}

const CASES: Case[] = [
  {
    name: 'create: the record and its ownership TXT (ExternalDNS format, typed prefix)',
    desired: [want('app.example.com', 'A', ['192.0.2.1'])],
    current: [],
    changes: ['create A app.example.com 300 [192.0.2.1]', `create TXT a-gh.app.example.com 300 [${TXT_APP}]`],
    states: ['app.example.com A Pending'],
  },
  {
    name: 'already right: Published, no change',
    desired: [want('app.example.com', 'A', ['192.0.2.1'])],
    current: [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A')],
    changes: [],
    states: ['app.example.com A Published'],
  },
  {
    name: 'ours and different targets: update',
    desired: [want('app.example.com', 'A', ['192.0.2.2', '192.0.2.1'])],
    current: [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A')],
    changes: ['update A app.example.com 300 [192.0.2.1 192.0.2.2]'],
    states: ['app.example.com A Pending'],
  },
  {
    name: 'ours and a different ttl: update',
    desired: [want('app.example.com', 'A', ['192.0.2.1'], 'router/app@file', 60)],
    current: [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A')],
    changes: ['update A app.example.com 60 [192.0.2.1]', `update TXT a-gh.app.example.com 60 [${TXT_APP}]`],
  },
  {
    name: 'AAAA compared in canonical form',
    desired: [want('app.example.com', 'AAAA', ['2001:DB8:0::0:1'])],
    current: [{ name: 'app.example.com', type: 'AAAA', ttl: 300, values: ['2001:db8::1'] }, owned('app.example.com', 'AAAA')],
    changes: [],
    states: ['app.example.com AAAA Published'],
  },
  {
    name: 'a record without an ownership TXT is never changed',
    desired: [want('app.example.com', 'A', ['192.0.2.9'])],
    current: [a('app.example.com', '192.0.2.1')],
    changes: [],
    states: ['app.example.com A Conflict'],
    conflicts: ['app.example.com A not managed (no ownership record)'],
  },
  {
    name: "another owner's record is never changed",
    desired: [want('app.example.com', 'A', ['192.0.2.9'])],
    current: [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A', 'cluster-b')],
    changes: [],
    conflicts: ['app.example.com A owned by cluster-b'],
  },
  {
    name: "another owner's record nobody asks for is never deleted",
    desired: [],
    current: [
      a('other.example.com', '192.0.2.1'),
      owned('other.example.com', 'A', 'external-dns-prod'),
      a('manual.example.com', '192.0.2.3'),
    ],
    changes: [],
    deletions: 0,
  },
  {
    name: 'sync: ours and not desired is deleted with its TXT',
    desired: [],
    current: [a('old.example.com', '192.0.2.1'), owned('old.example.com', 'A')],
    changes: ['delete A old.example.com', 'delete TXT a-gh.old.example.com'],
    deletions: 1,
  },
  {
    name: 'upsert-only: updates, never deletes',
    desired: [want('app.example.com', 'A', ['192.0.2.2'])],
    current: [
      a('app.example.com', '192.0.2.1'),
      owned('app.example.com', 'A'),
      a('old.example.com', '192.0.2.1'),
      owned('old.example.com', 'A'),
    ],
    opts: { policy: 'upsert-only' },
    changes: ['update A app.example.com 300 [192.0.2.2]'],
    deletions: 0,
  },
  {
    name: 'create-only: creates, never updates nor deletes',
    desired: [want('app.example.com', 'A', ['192.0.2.2']), want('new.example.com', 'A', ['192.0.2.5'])],
    current: [
      a('app.example.com', '192.0.2.1'),
      owned('app.example.com', 'A'),
      a('old.example.com', '192.0.2.1'),
      owned('old.example.com', 'A'),
    ],
    opts: { policy: 'create-only' },
    changes: ['create A new.example.com 300 [192.0.2.5]', `create TXT a-gh.new.example.com 300 [${TXT_APP}]`],
    states: ['app.example.com A Failed', 'new.example.com A Pending'],
    deletions: 0,
  },
  {
    name: 'a CNAME replaces our A at the same name (the A and its TXT deleted)',
    desired: [want('app.example.com', 'CNAME', ['lb.example.net'])],
    current: [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A')],
    changes: [
      'create CNAME app.example.com 300 [lb.example.net]',
      `create TXT cname-gh.app.example.com 300 [${TXT_APP}]`,
      'delete A app.example.com',
      'delete TXT a-gh.app.example.com',
    ],
    deletions: 0,
  },
  {
    name: 'a CNAME where an A not ours exists: conflict',
    desired: [want('app.example.com', 'CNAME', ['lb.example.net'])],
    current: [a('app.example.com', '192.0.2.1')],
    changes: [],
    states: ['app.example.com CNAME Conflict'],
  },
  {
    name: 'the apex: a host target becomes an ALIAS (TXT labelled cname, inside the zone)',
    desired: [want('example.com', 'CNAME', ['lb.example.net.'])],
    current: [],
    changes: ['create ALIAS example.com 300 [lb.example.net]', `create TXT cname-gh.example.com 300 [${TXT_APP}]`],
    states: ['example.com ALIAS Pending'],
  },
  {
    name: 'the apex without ALIAS: failed with the reason',
    desired: [want('example.com', 'CNAME', ['lb.example.net'])],
    current: [],
    opts: { capabilities: { alias: false, read: true }, providerKind: 'rfc2136' },
    changes: [],
    states: ['example.com CNAME Failed: the apex cannot hold a CNAME; rfc2136 has no ALIAS'],
  },
  {
    name: 'outside every zone: failed',
    desired: [want('app.example.org', 'A', ['192.0.2.1'])],
    current: [],
    changes: [],
    states: ['app.example.org A Failed: no zone of the provider holds app.example.org'],
  },
  {
    name: 'two routers asking for the same host: one record, the first resource in the TXT',
    desired: [want('app.example.com', 'A', ['192.0.2.1'], 'router/b@file'), want('app.example.com', 'A', ['192.0.2.1'], 'router/a@file')],
    current: [],
    changes: [
      'create A app.example.com 300 [192.0.2.1]',
      'create TXT a-gh.app.example.com 300 [heritage=external-dns,external-dns/owner=gh,external-dns/resource=router/a@file]',
    ],
  },
  {
    name: 'our orphan ownership TXT is removed under sync',
    desired: [],
    current: [owned('gone.example.com', 'A'), { name: 'note.example.com', type: 'TXT', ttl: 300, values: ['v=spf1 -all'] }],
    changes: ['delete TXT a-gh.gone.example.com'],
    deletions: 0,
  },
  {
    name: 'maxdeletes: more deletions than allowed → refused, nothing applied',
    desired: [want('new.example.com', 'A', ['192.0.2.5'])],
    current: ['a', 'b', 'c'].flatMap((n) => [a(`${n}.example.com`, '192.0.2.1'), owned(`${n}.example.com`, 'A')]),
    opts: { maxDeletes: 2 },
    changes: [],
    deletions: 3,
    refused: '3 deletions exceed --dns.maxdeletes=2',
    states: ['new.example.com A Failed: plan refused: 3 deletions exceed --dns.maxdeletes=2'],
  },
  {
    name: 'maxdeletes: exactly the limit is allowed',
    desired: [],
    current: ['a', 'b'].flatMap((n) => [a(`${n}.example.com`, '192.0.2.1'), owned(`${n}.example.com`, 'A')]),
    opts: { maxDeletes: 2 },
    changes: ['delete A a.example.com', 'delete A b.example.com', 'delete TXT a-gh.a.example.com', 'delete TXT a-gh.b.example.com'],
    deletions: 2,
  },
  {
    name: 'a record set of ExternalDNS with the same owner id is ours (shared registry)',
    desired: [want('app.example.com', 'A', ['192.0.2.1'])],
    current: [
      a('app.example.com', '192.0.2.1'),
      {
        name: 'a-gh.app.example.com',
        type: 'TXT',
        ttl: 300,
        values: ['"heritage=external-dns,external-dns/owner=gh,external-dns/resource=ingress/default/app"'],
      },
    ],
    changes: [`update TXT a-gh.app.example.com 300 [${TXT_APP}]`],
    states: ['app.example.com A Published'],
  },
  {
    name: 'a provider that cannot read plans create-only',
    desired: [want('app.example.com', 'A', ['192.0.2.1'])],
    current: [],
    opts: { capabilities: { alias: false, read: false }, policy: 'sync' },
    changes: ['create A app.example.com 300 [192.0.2.1]', `create TXT a-gh.app.example.com 300 [${TXT_APP}]`],
  },
];

for (const c of CASES) {
  test(`plan: ${c.name}`, () => {
    const p = run(c.desired, c.current, c.opts);
    assert.deepEqual(lines(p.changes.get(ZONE)).sort(), [...c.changes].sort());
    if (c.states !== undefined)
      assert.deepEqual(
        p.records.map(
          (r) =>
            `${r.name} ${r.type} ${r.state}${c.states?.some((s) => s.includes(':')) && r.reason !== undefined && r.state === 'Failed' ? `: ${r.reason}` : ''}`,
        ),
        c.states,
      );
    if (c.conflicts !== undefined)
      assert.deepEqual(
        p.conflicts.map((x) => `${x.name} ${x.type} ${x.reason}`),
        c.conflicts,
      );
    if (c.deletions !== undefined) assert.equal(p.deletions, c.deletions);
    assert.equal(p.refused, c.refused);
  });
}

test('plan: create-only records a warning when the policy was forced', () => {
  const p = run([], [], { capabilities: { alias: false, read: false }, policy: 'sync', providerKind: 'rfc2136' });
  assert.equal(p.policy, 'create-only');
  assert.match(p.warnings[0] ?? '', /rfc2136 cannot list zone records/);
});

test('plan: grace — a record missing for less than graceMs is kept, then deleted; coming back resets', () => {
  const current = [a('app.example.com', '192.0.2.1'), owned('app.example.com', 'A')];
  const t0 = 1_000_000;
  const first = run([], current, { graceMs: 60_000, now: t0 });
  assert.equal(first.changes.size, 0);
  assert.deepEqual(first.pendingDeletes, [{ name: 'app.example.com', type: 'A', zone: ZONE, since: t0, deleteAt: t0 + 60_000 }]);
  assert.equal(first.missingSince.get('app.example.com A'), t0);

  const half = run([], current, { graceMs: 60_000, now: t0 + 30_000, missingSince: first.missingSince });
  assert.equal(half.changes.size, 0);
  assert.equal(half.deletions, 0);

  // The router comes back: the mark is dropped; it disappears again: the grace starts over.
  const back = run([want('app.example.com', 'A', ['192.0.2.1'])], current, {
    graceMs: 60_000,
    now: t0 + 40_000,
    missingSince: half.missingSince,
  });
  assert.equal(back.missingSince.size, 0);
  const again = run([], current, { graceMs: 60_000, now: t0 + 70_000, missingSince: back.missingSince });
  assert.equal(again.changes.size, 0);
  assert.equal(again.missingSince.get('app.example.com A'), t0 + 70_000);

  const done = run([], current, { graceMs: 60_000, now: t0 + 130_000, missingSince: again.missingSince });
  assert.deepEqual(lines(done.changes.get(ZONE)).sort(), ['delete A app.example.com', 'delete TXT a-gh.app.example.com']);
  assert.equal(done.deletions, 1);
});

test('plan: a refused plan keeps the missing marks so the deletion happens once allowed', () => {
  const current = ['a', 'b'].flatMap((n) => [a(`${n}.example.com`, '192.0.2.1'), owned(`${n}.example.com`, 'A')]);
  const p = run([], current, { maxDeletes: 1, now: 5 });
  assert.equal(p.refused, '2 deletions exceed --dns.maxdeletes=1');
  assert.equal(p.changes.size, 0);
  assert.equal(p.missingSince.size, 2);
  const unlimited = run([], current, { maxDeletes: -1 });
  assert.equal(unlimited.deletions, 2);
  assert.equal(unlimited.refused, undefined);
});

test('plan: desired CNAME and A at one name disagree: the addresses win', () => {
  const p = run(
    [want('app.example.com', 'A', ['192.0.2.1'], 'router/a@file'), want('app.example.com', 'CNAME', ['lb.example.net'], 'router/b@file')],
    [],
  );
  const cname = p.records.find((r) => r.type === 'CNAME');
  assert.equal(cname?.state, 'Failed');
  assert.match(cname?.reason ?? '', /disagree/);
  assert.deepEqual(lines(p.changes.get(ZONE)).sort(), [
    'create A app.example.com 300 [192.0.2.1]',
    `create TXT a-gh.app.example.com 300 [heritage=external-dns,external-dns/owner=gh,external-dns/resource=router/a@file]`,
  ]);
});

test('plan: an ownership TXT held by another owner blocks a create', () => {
  const p = run([want('app.example.com', 'A', ['192.0.2.1'])], [owned('app.example.com', 'A', 'someone')]);
  assert.equal(p.changes.size, 0);
  assert.deepEqual(
    p.conflicts.map((c) => c.reason),
    ['the ownership record a-gh.app.example.com is owned by someone'],
  );
});

// ExternalDNS's label format (endpoint/labels.go) and name mapper (registry/mapper).
test('ownership labels: ExternalDNS examples', () => {
  assert.deepEqual(parseOwnership('"heritage=external-dns,external-dns/owner=default"'), new Map([['owner', 'default']]));
  assert.deepEqual(
    parseOwnership('heritage=external-dns,external-dns/owner=foo,external-dns/resource=ingress/default/app,external-dns/custom=x'),
    new Map([
      ['owner', 'foo'],
      ['resource', 'ingress/default/app'],
      ['custom', 'x'],
    ]),
  );
  assert.equal(parseOwnership('heritage=mate,external-dns/owner=foo'), null, 'another heritage');
  assert.equal(parseOwnership('external-dns/owner=foo'), null, 'no heritage');
  assert.equal(parseOwnership('v=spf1 include:_spf.example.com ~all'), null);
  assert.deepEqual(
    parseOwnership('heritage=external-dns,external-dns/owner=a=b,broken'),
    new Map(),
    'tokens that are not key=value are skipped',
  );
  assert.equal(
    formatOwnership(
      new Map([
        ['resource', 'router/x@file'],
        ['owner', 'o'],
        ['custom', 'c'],
      ]),
    ),
    'heritage=external-dns,external-dns/custom=c,external-dns/owner=o,external-dns/resource=router/x@file',
  );
});

test('ownership names: typed prefix, untyped prefix, apex, ALIAS', () => {
  assert.equal(ownershipName('app.example.com', 'A'), 'a-gh.app.example.com');
  assert.equal(ownershipName('app.example.com', 'AAAA', '%{record_type}-gh.'), 'aaaa-gh.app.example.com');
  assert.equal(ownershipName('example.com', 'A'), 'a-gh.example.com');
  assert.equal(ownershipName('example.com', 'ALIAS'), 'cname-gh.example.com');
  assert.equal(ownershipName('app.example.com', 'CNAME', 'txt.'), 'txt.cname-app.example.com');
  assert.equal(ownershipName('app.example.com', 'A', 'XDNS-%{record_type}.'), 'xdns-a.app.example.com');
});
