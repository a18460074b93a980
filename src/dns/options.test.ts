import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../errors.js';
import { createDnsProvider, dnsOptionsFromStatic, DnsStaticSchema, type DnsStaticSection } from './options.js';
import { dnsPrometheusText } from './metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const API_KEY = 'k3y-Th4t-must-n0t-leak';
writeFileSync(join(dir, 'api-key'), `${API_KEY}\n`);
writeFileSync(join(dir, 'empty'), '\n');
writeFileSync(join(dir, 'two-lines'), `${API_KEY}\nsecond\n`);
const TSIG = Buffer.from('a-tsig-secret-that-must-not-leak').toString('base64');
writeFileSync(join(dir, 'tsig.key'), `key "gh" {\n\talgorithm hmac-sha256;\n\tsecret "${TSIG}";\n};\n`);
writeFileSync(join(dir, 'not-base64'), 'this is not base64!!\n');

/** The section as the static parser leaves it: defaults filled in. */
function section(partial: Record<string, unknown>): DnsStaticSection {
  return Value.Default(DnsStaticSchema, structuredClone(partial)) as DnsStaticSection;
}

function problems(partial: Record<string, unknown>): string[] {
  try {
    dnsOptionsFromStatic(section(partial), dir);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => i.message);
  }
  assert.fail('expected a ConfigError');
}

const PDNS = { provider: 'pdns', policy: 'sync', targets: ['203.0.113.10'], pdns: { apikeyfile: 'api-key' } };

test('no dns section: null; a valid pdns section: typed options with defaults, the key file path and no key', () => {
  assert.equal(dnsOptionsFromStatic(undefined, dir), null);
  const o = dnsOptionsFromStatic(section({ ...PDNS, targets: ['203.0.113.10,2001:db8::10'], domainfilters: ['Example.com.'] }), dir);
  assert.ok(o !== null);
  assert.deepEqual(o.targets, ['203.0.113.10', '2001:db8::10']);
  assert.equal(o.targetHostname, null);
  assert.deepEqual(o.domainFilters, ['example.com']);
  assert.equal(o.policy, 'sync');
  assert.equal(o.owner, 'default');
  assert.equal(o.txtPrefix, '%{record_type}-gh.');
  assert.equal(o.ttl, 300);
  assert.equal(o.intervalMs, 60_000);
  assert.equal(o.minEventSyncIntervalMs, 5_000);
  assert.equal(o.maxDeletes, 10);
  assert.equal(o.dryRun, false);
  assert.deepEqual(o.pdns, { server: 'http://127.0.0.1:8081', serverId: 'localhost', apiKeyFile: join(dir, 'api-key') });
  assert.deepEqual(o.check, { host: '127.0.0.1', port: 53 });
  assert.ok(!JSON.stringify(o).includes(API_KEY), 'the options hold no secret');
});

test('policy and provider are required; at most one of targets and targethostname', () => {
  const p = problems({ targets: ['203.0.113.10'], pdns: { apikeyfile: 'api-key' } });
  assert.ok(
    p.some((m) => m.startsWith('--dns.provider is required: pdns or rfc2136')),
    p.join('\n'),
  );
  assert.ok(
    p.some((m) => m.startsWith('--dns.policy is required: sync, upsert-only or create-only')),
    p.join('\n'),
  );
  // A policy without targets publishes only what names its own target (annotations, DNSEndpoint).
  assert.equal(dnsOptionsFromStatic(section({ provider: 'pdns', policy: 'sync', pdns: { apikeyfile: 'api-key' } }), dir)?.publish, true);
  assert.equal(dnsOptionsFromStatic(section(PDNS), dir)?.publish, true);
  const both = problems({ ...PDNS, targethostname: 'lb.example.net' });
  assert.deepEqual(both, [
    '--dns.targets and --dns.targethostname are both set: give exactly one (addresses, or a host name for CNAME/ALIAS)',
  ]);
  assert.deepEqual(problems({ ...PDNS, targets: ['lb.example.net'] }), [
    '--dns.targets: "lb.example.net" is not an IP address (use --dns.targethostname for a host name)',
  ]);
  assert.deepEqual(problems({ ...PDNS, targets: [], targethostname: 'not a name' }), [
    '--dns.targethostname: "not a name" is not a valid DNS name',
  ]);
});

test('without targets and policy: the connection only (the ACME dns-01 solver), no publisher', () => {
  const o = dnsOptionsFromStatic(section({ provider: 'pdns', pdns: { apikeyfile: 'api-key' } }), dir);
  assert.equal(o?.publish, false);
  assert.deepEqual(o?.targets, []);
  assert.equal(o?.pdns?.apiKeyFile, join(dir, 'api-key'));
  const r = dnsOptionsFromStatic(section({ provider: 'rfc2136', rfc2136: { host: '127.0.0.1', zone: ['example.com'] } }), dir);
  assert.equal(r?.publish, false);
  assert.deepEqual(r?.rfc2136?.zones, ['example.com']);
  // The connection flags are still checked.
  assert.deepEqual(problems({ provider: 'rfc2136', rfc2136: { host: '127.0.0.1' } }), [
    '--dns.provider=rfc2136 needs --dns.rfc2136.zone: the zones to manage (comma list)',
  ]);
});

test('owner id, prefix, interval, filters are checked', () => {
  assert.deepEqual(problems({ ...PDNS, txtowner: 'a,b' }), [
    '--dns.txtowner: "a,b" must be non-empty, without ",", "=", quotes or spaces (it is written in the ownership TXT)',
  ]);
  assert.match(problems({ ...PDNS, txtowner: 'x=y' })[0] ?? '', /^--dns\.txtowner: "x=y"/);
  assert.match(problems({ ...PDNS, txtprefix: 'bad prefix ' })[0] ?? '', /^--dns\.txtprefix: "bad prefix " may hold only/);
  assert.match(problems({ ...PDNS, interval: 10 })[0] ?? '', /^--dns\.interval: must be at least 1s/);
  assert.match(
    problems({ ...PDNS, domainfilters: ['exa mple.com'] })[0] ?? '',
    /^--dns\.domainfilters: "exa mple\.com" is not a domain name/,
  );
  const o = dnsOptionsFromStatic(section({ ...PDNS, txtowner: 'gh-1', domainfilters: ['.example.org'], maxdeletes: -1 }), dir);
  assert.equal(o?.owner, 'gh-1');
  assert.deepEqual(o?.domainFilters, ['.example.org']);
  assert.equal(o?.maxDeletes, -1);
});

test('pdns: the API key file is required and read at start; errors name the flag and the file, never the content', () => {
  assert.deepEqual(problems({ ...PDNS, pdns: undefined }), [
    '--dns.provider=pdns needs --dns.pdns.apikeyfile: a file holding the PowerDNS API key',
  ]);
  assert.deepEqual(problems({ ...PDNS, pdns: { apikeyfile: 'missing' } }), [
    `--dns.pdns.apikeyfile: cannot read ${join(dir, 'missing')} (ENOENT)`,
  ]);
  assert.deepEqual(problems({ ...PDNS, pdns: { apikeyfile: 'empty' } }), [`--dns.pdns.apikeyfile: ${join(dir, 'empty')} is empty`]);
  const two = problems({ ...PDNS, pdns: { apikeyfile: 'two-lines' } });
  assert.deepEqual(two, [`--dns.pdns.apikeyfile: ${join(dir, 'two-lines')} holds more than one line; it must hold the API key alone`]);
  assert.ok(!two.join('').includes(API_KEY));
  assert.deepEqual(problems({ ...PDNS, pdns: { apikeyfile: 'api-key', server: 'ftp://x' } }), [
    '--dns.pdns.server: "ftp://x" must be an http:// or https:// URL',
  ]);
  assert.deepEqual(problems({ ...PDNS, rfc2136: { host: '127.0.0.1' } }), [
    '--dns.rfc2136.* is set but --dns.provider=pdns: remove it or use --dns.provider=rfc2136',
  ]);
});

test('rfc2136: host and zones required, key name and secret file together, the secret file checked at start', () => {
  const base = { provider: 'rfc2136', policy: 'upsert-only', targets: ['192.0.2.1'] };
  const p = problems({ ...base, rfc2136: {} });
  assert.deepEqual(p, [
    '--dns.provider=rfc2136 needs --dns.rfc2136.host: the primary server taking dynamic updates',
    '--dns.provider=rfc2136 needs --dns.rfc2136.zone: the zones to manage (comma list)',
  ]);
  assert.deepEqual(problems({ ...base, rfc2136: { host: '127.0.0.1', zone: ['example.com'], tsigkeyname: 'gh' } }), [
    '--dns.rfc2136.tsigkeyname needs --dns.rfc2136.tsigsecretfile: a file holding the secret',
  ]);
  assert.deepEqual(problems({ ...base, rfc2136: { host: '127.0.0.1', zone: ['example.com'], tsigsecretfile: 'tsig.key' } }), [
    '--dns.rfc2136.tsigsecretfile needs --dns.rfc2136.tsigkeyname: the key name the server knows',
  ]);
  const bad = problems({ ...base, rfc2136: { host: '127.0.0.1', zone: ['example.com'], tsigkeyname: 'gh', tsigsecretfile: 'not-base64' } });
  assert.deepEqual(bad, [
    `--dns.rfc2136.tsigsecretfile: TSIG secret file ${join(dir, 'not-base64')} does not hold a base64 secret (nor a BIND key file with secret "…")`,
  ]);
  const o = dnsOptionsFromStatic(
    section({
      ...base,
      rfc2136: { host: '127.0.0.1', port: 5353, zone: ['example.com,Example.org.'], tsigkeyname: 'gh', tsigsecretfile: 'tsig.key' },
    }),
    dir,
  );
  assert.ok(o !== null && o.rfc2136 !== null);
  assert.deepEqual(o.rfc2136.zones, ['example.com', 'example.org']);
  assert.equal(o.rfc2136.tsigAlgorithm, 'hmac-sha256');
  assert.equal(o.rfc2136.axfr, true);
  assert.deepEqual(o.check, { host: '127.0.0.1', port: 5353 });
  assert.ok(!JSON.stringify(o).includes(TSIG));
  const provider = createDnsProvider(o);
  assert.equal(provider.kind, 'rfc2136');
  assert.deepEqual(provider.capabilities, { alias: false, read: true });
  const off = dnsOptionsFromStatic(section({ ...base, checkaddress: 'off', rfc2136: { host: '127.0.0.1', zone: ['example.com'] } }), dir);
  assert.equal(off?.check, null);
  assert.match(
    problems({ ...base, checkaddress: 'nope', rfc2136: { host: '127.0.0.1', zone: ['example.com'] } })[0] ?? '',
    /^--dns\.checkaddress: "nope" is not host:port/,
  );
});

test('dnsPrometheusText: every state, the error counter, HELP and TYPE lines', () => {
  const text = dnsPrometheusText({ records: { Published: 2, Pending: 0, Failed: 1, Conflict: 0 }, syncErrorsTotal: 3 });
  assert.equal(
    text,
    [
      '# HELP gatehouse_dns_records DNS records managed by the publisher, by state.',
      '# TYPE gatehouse_dns_records gauge',
      'gatehouse_dns_records{state="Published"} 2',
      'gatehouse_dns_records{state="Pending"} 0',
      'gatehouse_dns_records{state="Failed"} 1',
      'gatehouse_dns_records{state="Conflict"} 0',
      '# HELP gatehouse_dns_sync_errors_total Publishing passes in which the DNS provider failed.',
      '# TYPE gatehouse_dns_sync_errors_total counter',
      'gatehouse_dns_sync_errors_total 3',
      '',
    ].join('\n'),
  );
});
