import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTcpRule, RuleSyntaxError } from '../rules/index.js';
import { decodeProxyHeader, encodeProxyHeader } from './proxy-protocol.js';
import { compileTcp, parseHostPort } from './compile.js';
import { TcpEntryRuntime } from './runtime.js';
import { fromTraefikFileDocuments } from '../providers/formats/traefik-file.js';
import { parseConfigText } from '../config/parse-documents.js';
import type { Snapshot } from '../config/runtime.js';
import { silentLogger } from '../log.js';

const conn = (serverName: string, clientIp = '127.0.0.1', alpn: string[] = []) => ({ serverName, clientIp, alpn });

test('TCP rules: HostSNI, HostSNI(`*`), HostSNIRegexp (Go), ClientIP, ALPN, operators', () => {
  const a = compileTcpRule('HostSNI(`a.test`)');
  assert.equal(a.match(conn('a.test')), true);
  assert.equal(a.match(conn('b.test')), false);
  assert.equal(a.match(conn('')), false);
  assert.equal(a.catchAll, false);
  assert.deepEqual(a.hosts, ['a.test']);
  assert.equal(compileTcpRule('HostSNI(`A.Test.`)').match(conn('a.test')), true);
  const all = compileTcpRule('HostSNI(`*`)');
  assert.equal(all.catchAll, true);
  assert.equal(all.match(conn('')), true);
  assert.equal(compileTcpRule('HostSNI(`*`) && ClientIP(`10.0.0.0/8`)').catchAll, true);
  const re = compileTcpRule('HostSNIRegexp(`^[a-z]+\\.example\\.com$`)');
  assert.equal(re.match(conn('db.example.com')), true);
  assert.equal(re.match(conn('db1.example.com')), false);
  const v2 = compileTcpRule('HostSNI(`a.test`, `b.test`) || HostSNIRegexp(`{sub:[a-z]+}.example.com`)', 'v2');
  assert.equal(v2.match(conn('b.test')), true);
  assert.equal(v2.match(conn('db.example.com')), true);
  const cip = compileTcpRule('ClientIP(`10.0.0.0/8`) && !ClientIP(`10.1.0.0/16`)');
  assert.equal(cip.match(conn('', '10.2.3.4')), true);
  assert.equal(cip.match(conn('', '10.1.3.4')), false);
  const alpn = compileTcpRule('(HostSNI(`x.test`) || HostSNI(`y.test`)) && ALPN(`h2`)');
  assert.equal(alpn.match(conn('y.test', '1.1.1.1', ['http/1.1', 'h2'])), true);
  assert.equal(alpn.match(conn('y.test', '1.1.1.1', ['http/1.1'])), false);
});

test('TCP rules: errors name the problem', () => {
  const bad = (rule: string, re: RegExp, syntax: 'v2' | 'v3' = 'v3'): void => {
    assert.throws(
      () => compileTcpRule(rule, syntax),
      (e: unknown) => e instanceof RuleSyntaxError && re.test(e.message),
    );
  };
  bad('Host(`a`)', /HTTP router matcher, not valid in a TCP rule/);
  bad('Foo(`a`)', /unknown TCP matcher "Foo"/);
  bad('HostSNI(`a`, `b`)', /expected 1 argument/);
  bad('HostSNI(`a b`)', /not a valid host name/);
  bad('HostSNIRegexp(`(`)', /invalid regexp/);
  bad('ClientIP(`10.0.0.0/33`)', /invalid value for ClientIP/);
  bad('ALPN(`acme-tls/1`)', /reserved/);
});

test('PROXY protocol: v1 and v2 encode and decode, IPv4 and IPv6, partial input, errors', () => {
  const src = { ip: '192.0.2.10', port: 40000 };
  const dst = { ip: '198.51.100.1', port: 443 };
  const v1 = encodeProxyHeader(1, src, dst);
  assert.equal(v1.toString(), 'PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\n');
  assert.deepEqual(decodeProxyHeader(Buffer.concat([v1, Buffer.from('GET /')])), {
    kind: 'done',
    version: 1,
    length: v1.length,
    source: src,
    destination: dst,
  });
  const v2 = encodeProxyHeader(2, src, dst);
  assert.equal(v2.length, 28);
  const d2 = decodeProxyHeader(v2);
  assert.equal(d2.kind, 'done');
  if (d2.kind === 'done') assert.deepEqual([d2.version, d2.source, d2.destination], [2, src, dst]);
  const v6 = encodeProxyHeader(2, { ip: '2001:db8::1', port: 1 }, { ip: '::ffff:10.0.0.1', port: 2 });
  const d6 = decodeProxyHeader(v6);
  assert.equal(d6.kind === 'done' && d6.source?.ip, '2001:db8::1');
  assert.equal(d6.kind === 'done' && d6.destination?.ip, '::ffff:a00:1');
  assert.equal(encodeProxyHeader(1, { ip: '::1', port: 5 }, { ip: '::1', port: 6 }).toString(), 'PROXY TCP6 ::1 ::1 5 6\r\n');
  assert.equal(encodeProxyHeader(1, null, null).toString(), 'PROXY UNKNOWN\r\n');
  for (let i = 1; i < v2.length; i++) assert.equal(decodeProxyHeader(v2.subarray(0, i)).kind, 'need', `v2 prefix ${i}`);
  assert.equal(decodeProxyHeader(Buffer.from('PROX')).kind, 'need');
  assert.equal(decodeProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'none');
  assert.equal(decodeProxyHeader(Buffer.from([0x16, 0x03, 0x01])).kind, 'none');
  assert.equal(decodeProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')).kind, 'error');
  assert.equal(decodeProxyHeader(Buffer.from('PROXY TCP4 1.2.3 5.6.7.8 1 1\r\n')).kind, 'error');
  assert.equal(decodeProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`)).kind, 'error');
  const huge = Buffer.from(v2);
  huge.writeUInt16BE(60000, 14);
  assert.equal(decodeProxyHeader(huge).kind, 'error');
  const local = Buffer.from(v2.subarray(0, 16));
  local[12] = 0x20;
  local.writeUInt16BE(0, 14);
  assert.deepEqual(decodeProxyHeader(local), { kind: 'done', version: 2, length: 16 });
});

test('parseHostPort', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:5432'), { host: '127.0.0.1', port: 5432 });
  assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseHostPort('db.internal:3306'), { host: 'db.internal', port: 3306 });
  assert.equal(parseHostPort('db.internal'), null);
  assert.equal(parseHostPort('h:0'), null);
  assert.equal(parseHostPort('h:70000'), null);
});

const emptySnapshot = (): Snapshot =>
  ({
    revision: 1,
    createdAt: '',
    routers: {},
    middlewares: {},
    services: {},
    serversTransports: {},
    resources: [],
    issues: [],
  }) as Snapshot;

function fromYaml(yaml: string) {
  const p = parseConfigText('dyn.yml', yaml);
  assert.equal(p.error, undefined, p.error?.message);
  return fromTraefikFileDocuments(p.documents);
}

test('file format and compile: statuses, references, errors with file and line', () => {
  const frag = fromYaml(`tcp:
  routers:
    ok:
      rule: HostSNI(\`a.test\`)
      service: svc
      middlewares: [allow]
      tls: { passthrough: true }
    plainhost:
      rule: HostSNI(\`a.test\`)
      service: svc
    missing:
      rule: HostSNI(\`*\`)
      service: nope
    badrule:
      rule: Host(\`a\`)
      service: svc
    typo:
      rule: HostSNI(\`*\`)
      servce: svc
  services:
    svc:
      loadBalancer:
        servers: [{ address: "127.0.0.1:1" }]
    wrr:
      weighted:
        services: [{ name: svc, weight: 2 }, { name: ghost }]
    both:
      loadBalancer: { servers: [] }
      weighted: { services: [{ name: svc }] }
  middlewares:
    allow:
      ipAllowList: { sourceRange: [10.0.0.0/8] }
    badrange:
      ipAllowList: { sourceRange: [nope] }
`);
  // Structural problems stop at the format: the item is left out, with its line.
  const typo = frag.issues.find((i) => i.field?.startsWith('tcp.routers.typo'));
  assert.ok(typo !== undefined, JSON.stringify(frag.issues));
  assert.equal(typeof typo.line, 'number');
  assert.ok(frag.issues.some((i) => i.field === 'tcp.services.both'));
  assert.equal(frag.tcpRouters?.typo, undefined);
  const out = compileTcp({ fragments: [frag], snapshot: emptySnapshot(), entryPoints: ['web'], defaultEntryPoints: ['web'] });
  const r = out.section.routers;
  assert.equal(r['ok@file']?.status, 'enabled');
  assert.deepEqual(r['ok@file']?.entryPoints, ['web']);
  assert.equal(r['plainhost@file']?.status, 'disabled');
  assert.match(r['plainhost@file']?.errors[0] ?? '', /no TLS/);
  assert.equal(r['missing@file']?.status, 'disabled');
  assert.match(r['missing@file']?.errors[0] ?? '', /service "nope@file" does not exist/);
  assert.match(r['badrule@file']?.errors[0] ?? '', /HTTP router matcher/);
  assert.equal(out.section.services['wrr@file']?.status, 'disabled');
  assert.deepEqual(out.section.services['svc@file']?.usedBy, ['badrule@file', 'ok@file', 'plainhost@file', 'wrr@file']);
  assert.equal(out.section.middlewares['badrange@file']?.status, 'disabled');
  for (const i of out.issues) assert.equal(i.file, 'dyn.yml');
  assert.ok(out.issues.every((i) => typeof i.line === 'number'));
});

test('runtime: Traefik order between HTTPS routes and TCP TLS routers; early dispatch only without TLS routes', () => {
  const frag = fromYaml(`tcp:
  routers:
    named:
      rule: HostSNI(\`db.test\`)
      service: svc
      tls: {}
    catchall:
      rule: HostSNI(\`*\`)
      service: svc
      tls: { passthrough: true }
    plain:
      rule: HostSNI(\`*\`)
      service: svc
      entryPoints: [raw]
  services:
    svc:
      loadBalancer:
        servers: [{ address: "127.0.0.1:1" }]
`);
  const out = compileTcp({ fragments: [frag], snapshot: emptySnapshot(), entryPoints: ['web', 'raw'], defaultEntryPoints: ['web'] });
  const opts = { log: silentLogger, counters: new Map(), idleTimeout: 0 };
  out.section.https.web = { hosts: ['app.test'], catchAll: false };
  const web = new TcpEntryRuntime('web', out.section, opts);
  assert.equal(web.early, false);
  assert.equal(web.matchTls('app.test', [], '1.1.1.1').kind, 'http');
  const named = web.matchTls('db.test', [], '1.1.1.1');
  assert.equal(named.kind === 'tcp' && named.route.router, 'named@file');
  const other = web.matchTls('zzz.test', [], '1.1.1.1');
  assert.equal(other.kind === 'tcp' && other.route.router, 'catchall@file');
  assert.equal(other.kind === 'tcp' && other.route.passthrough, true);
  assert.equal(web.matchPlain('1.1.1.1'), null);
  // An HTTPS router without a host takes what no named TCP router takes, before the TCP catch-all.
  out.section.https.web = { hosts: [], catchAll: true };
  assert.equal(new TcpEntryRuntime('web', out.section, opts).matchTls('zzz.test', [], '1.1.1.1').kind, 'http');
  const raw = new TcpEntryRuntime('raw', out.section, opts);
  assert.equal(raw.early, true);
  assert.equal(raw.matchPlain('1.1.1.1')?.router, 'plain@file');
});

test('compile: terminating routers give their hosts their TLS options; unknown options disable the router', () => {
  const frag = fromYaml(`tcp:
  routers:
    db:
      rule: HostSNI(\`db.test\`)
      service: svc
      tls: { options: modern }
    taken:
      rule: HostSNI(\`app.test\`)
      service: svc
      tls: { options: modern }
    ghost:
      rule: HostSNI(\`g.test\`)
      service: svc
      tls: { options: nope }
  services:
    svc:
      loadBalancer:
        servers: [{ address: "127.0.0.1:1" }]
`);
  const hostOptions: Record<string, string> = { 'app.test': 'default' };
  const out = compileTcp({
    fragments: [frag],
    snapshot: emptySnapshot(),
    entryPoints: ['web'],
    defaultEntryPoints: ['web'],
    tls: { options: { default: {}, 'modern@file': {} }, routers: {}, entryPointTls: {}, hostOptions },
  });
  assert.deepEqual(hostOptions, { 'app.test': 'default', 'db.test': 'modern@file' });
  assert.equal(out.section.routers['ghost@file']?.status, 'disabled');
  assert.match(out.section.routers['ghost@file']?.errors[0] ?? '', /unknown TLS options: nope@file/);
});
