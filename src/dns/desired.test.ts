import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredFromDnsEndpoint, desiredFromRouters, domainAllowed, hostsOfRule, type RouterInput } from './desired.js';

const r = (name: string, rule: string, extra: Partial<RouterInput> = {}): RouterInput => ({ name, rule, status: 'enabled', ...extra });
const show = (recs: { name: string; type: string; targets: readonly string[]; resource: string }[]): string[] =>
  recs.map((x) => `${x.type} ${x.name} ${x.targets.join(',')} ${x.resource}`);

test('hostsOfRule: every Host outside negations, normalised; HostSNI for TCP', () => {
  assert.deepEqual(hostsOfRule('Host(`App.Example.com`) || (Host(`b.example.com:8443`) && PathPrefix(`/x`))'), [
    'app.example.com',
    'b.example.com',
  ]);
  assert.deepEqual(hostsOfRule('Host(`a.example.com`, `c.example.com.`)'), ['a.example.com', 'c.example.com']);
  assert.deepEqual(hostsOfRule('Host(`a.example.com`) && !Host(`no.example.com`)'), ['a.example.com']);
  assert.deepEqual(hostsOfRule('HostRegexp(`{sub:[a-z]+}.example.com`)'), []);
  assert.deepEqual(hostsOfRule('Host(`v3.example.com`) && PathRegexp(`^/x`)', 'http', 'v3'), ['v3.example.com']);
  assert.deepEqual(hostsOfRule('HostSNI(`db.example.com`) || HostSNI(`*`)', 'tcp'), ['db.example.com', '*']);
});

test('domainAllowed: ExternalDNS domain filter semantics', () => {
  assert.equal(domainAllowed('a.example.com', []), true);
  assert.equal(domainAllowed('a.example.com', ['example.com']), true);
  assert.equal(domainAllowed('example.com', ['example.com']), true);
  assert.equal(domainAllowed('badexample.com', ['example.com']), false);
  assert.equal(domainAllowed('example.com', ['.example.com']), false);
  assert.equal(domainAllowed('a.example.com', ['.example.com']), true);
  assert.equal(domainAllowed('a.int.example.com', ['example.com'], ['int.example.com']), false);
});

test('desiredFromRouters: targets by family, hostname target, filters, wildcards, disabled, annotations', () => {
  const routers: RouterInput[] = [
    r('web@file', 'Host(`app.example.com`) || Host(`*.example.com`) || Host(`10.0.0.1`)'),
    r('off@file', 'Host(`off.example.com`)', { status: 'disabled' }),
    r('warn@file', 'Host(`warn.example.com`)', { status: 'warning' }),
    r('other@file', 'Host(`app.example.org`)'),
    r('db@file', 'HostSNI(`db.example.com`)', { kind: 'tcp' }),
    r('own@kubernetescrd', 'Host(`own.example.com`)', { annotations: { 'external-dns.kubernetes.io/target': 'lb.example.net' } }),
    r('ips@kubernetescrd', 'Host(`ips.example.com`)', {
      labels: { 'external-dns.alpha.kubernetes.io/target': '198.51.100.7, 2001:db8::7' },
    }),
    r('hidden@kubernetescrd', 'Host(`hidden.example.com`)', { annotations: { 'external-dns.alpha.kubernetes.io/exclude': 'true' } }),
    r('broken@file', 'Host(`x'),
  ];
  const { records, skipped } = desiredFromRouters(routers, {
    targets: ['192.0.2.1', '2001:db8::1'],
    domainFilters: ['example.com'],
    ttl: 120,
  });
  assert.deepEqual(show(records), [
    'A app.example.com 192.0.2.1 router/web@file',
    'AAAA app.example.com 2001:db8::1 router/web@file',
    'A warn.example.com 192.0.2.1 router/warn@file',
    'AAAA warn.example.com 2001:db8::1 router/warn@file',
    'A db.example.com 192.0.2.1 tcprouter/db@file',
    'AAAA db.example.com 2001:db8::1 tcprouter/db@file',
    'CNAME own.example.com lb.example.net router/own@kubernetescrd',
    'A ips.example.com 198.51.100.7 router/ips@kubernetescrd',
    'AAAA ips.example.com 2001:db8::7 router/ips@kubernetescrd',
  ]);
  assert.equal(records[0]?.ttl, 120);
  const reasons = skipped.map((s) => `${s.source} ${s.host ?? ''} ${s.reason.split(' ')[0] ?? ''}`);
  assert.deepEqual(reasons, [
    'web@file *.example.com wildcard',
    'web@file 10.0.0.1 an',
    'other@file app.example.org outside',
    'hidden@kubernetescrd  excluded',
    'broken@file  rule',
  ]);
});

test('desiredFromRouters: TCP routers publish their HostSNI hosts, with annotations; HostSNI(`*`) publishes nothing', () => {
  const routers: RouterInput[] = [
    // An HTTP and a TCP router of the same name are two resources.
    r('db@kubernetescrd', 'Host(`web.example.com`)'),
    r('db@kubernetescrd', 'HostSNI(`db.example.com`) || HostSNI(`db2.example.com`)', { kind: 'tcp' }),
    r('pg@kubernetescrd', 'HostSNI(`pg.example.com`)', {
      kind: 'tcp',
      annotations: { 'external-dns.kubernetes.io/target': '198.51.100.9' },
    }),
    r('old@kubernetescrd', 'HostSNI(`old.example.com`)', {
      kind: 'tcp',
      labels: { 'external-dns.alpha.kubernetes.io/target': 'lb.example.net' },
    }),
    r('skip@kubernetescrd', 'HostSNI(`skip.example.com`)', { kind: 'tcp', annotations: { 'external-dns.kubernetes.io/exclude': 'true' } }),
    r('kept@kubernetescrd', 'HostSNI(`kept.example.com`)', { kind: 'tcp', annotations: { 'external-dns.kubernetes.io/exclude': 'false' } }),
    r('all@kubernetescrd', 'HostSNI(`*`)', { kind: 'tcp' }),
    r('wild@kubernetescrd', 'HostSNI(`*.example.com`)', { kind: 'tcp' }),
    r('off@kubernetescrd', 'HostSNI(`off.example.com`)', { kind: 'tcp', status: 'disabled' }),
    // Host is an HTTP matcher: a TCP rule naming it does not parse.
    r('bad@kubernetescrd', 'Host(`bad.example.com`)', { kind: 'tcp' }),
  ];
  const { records, skipped } = desiredFromRouters(routers, { targets: ['192.0.2.1'] });
  assert.deepEqual(show(records), [
    'A web.example.com 192.0.2.1 router/db@kubernetescrd',
    'A db.example.com 192.0.2.1 tcprouter/db@kubernetescrd',
    'A db2.example.com 192.0.2.1 tcprouter/db@kubernetescrd',
    'A pg.example.com 198.51.100.9 tcprouter/pg@kubernetescrd',
    'CNAME old.example.com lb.example.net tcprouter/old@kubernetescrd',
    'A kept.example.com 192.0.2.1 tcprouter/kept@kubernetescrd',
  ]);
  assert.deepEqual(
    skipped.map((s) => `${s.source} ${s.host ?? ''} ${s.reason.split(' ')[0] ?? ''}`),
    ['tcprouter/skip@kubernetescrd  excluded', 'tcprouter/wild@kubernetescrd *.example.com wildcard', 'tcprouter/bad@kubernetescrd  rule'],
  );
});

test('desiredFromRouters: a target host name gives CNAME; no target is reported', () => {
  const rs = [r('web@file', 'Host(`example.com`)')];
  assert.deepEqual(show(desiredFromRouters(rs, { targetHostname: 'LB.example.net.' }).records), [
    'CNAME example.com lb.example.net router/web@file',
  ]);
  const none = desiredFromRouters(rs, {});
  assert.equal(none.records.length, 0);
  assert.match(none.skipped[0]?.reason ?? '', /no target/);
});

test('desiredFromDnsEndpoint: ExternalDNS DNSEndpoint spec', () => {
  const { records, skipped } = desiredFromDnsEndpoint(
    {
      endpoints: [
        { dnsName: 'foo.example.com', recordType: 'A', targets: ['192.0.2.10'], recordTTL: 180 },
        { dnsName: 'bar.example.com.', recordType: 'CNAME', targets: ['foo.example.com'] },
        { dnsName: 'txt.example.com', recordType: 'TXT', targets: ['hello'] },
        { dnsName: 'bad.example.com', recordType: 'A', targets: ['not-an-ip'] },
        { dnsName: '*.example.com', recordType: 'A', targets: ['192.0.2.1'] },
      ],
    },
    'dnsendpoint/default/ep',
    { ttl: 300 },
  );
  assert.deepEqual(show(records), [
    'A foo.example.com 192.0.2.10 dnsendpoint/default/ep',
    'CNAME bar.example.com foo.example.com dnsendpoint/default/ep',
  ]);
  assert.deepEqual(
    records.map((x) => x.ttl),
    [180, 300],
  );
  assert.equal(skipped.length, 3);
  assert.match(skipped[0]?.reason ?? '', /TXT/);
});
