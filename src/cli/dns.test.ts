import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { dnsMain, renderDns } from './dns.js';
import type { DnsStatus } from '../dns/publisher.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

const STATUS: DnsStatus = {
  provider: 'pdns',
  policy: 'sync',
  dryRun: false,
  owner: 'default',
  lastSync: ago(12),
  lastError: null,
  syncs: 3,
  syncErrors: 0,
  records: [
    {
      name: 'www.example.com',
      type: 'CNAME',
      targets: ['lb.example.net'],
      ttl: 300,
      zone: 'example.com',
      owner: 'default',
      resource: 'router/www@file',
      resources: ['router/www@file'],
      state: 'Conflict',
      message: 'owned by someone-else',
    },
    {
      name: 'example.com',
      type: 'ALIAS',
      targets: ['lb.example.net'],
      ttl: 300,
      zone: 'example.com',
      owner: 'default',
      resource: 'router/apex@file',
      resources: ['router/apex@file'],
      state: 'Published',
      lastCheck: { at: ago(12), ok: false, answer: [], error: 'the ALIAS example.com → lb.example.net answers no address' },
    },
    {
      name: 'app.example.com',
      type: 'A',
      targets: ['203.0.113.10', '203.0.113.11'],
      ttl: 300,
      zone: 'example.com',
      owner: 'default',
      resource: 'router/app@file',
      resources: ['router/app@file'],
      state: 'Published',
      lastCheck: { at: ago(300), ok: true, answer: ['203.0.113.10', '203.0.113.11'] },
    },
  ],
  pendingDeletes: [],
  skipped: [],
  warnings: [],
};

test('renderDns: a header, then NAME TYPE TARGETS STATE LAST CHECK MESSAGE sorted by name', () => {
  assert.equal(
    renderDns(STATUS, NOW),
    [
      'provider pdns, policy sync, owner default, last sync 12s ago',
      '',
      'NAME              TYPE    TARGETS                     STATE       LAST CHECK       MESSAGE',
      'app.example.com   A       203.0.113.10,203.0.113.11   Published   ok 5m ago',
      'example.com       ALIAS   lb.example.net              Published   failed 12s ago   the ALIAS example.com → lb.example.net answers no address',
      'www.example.com   CNAME   lb.example.net              Conflict    -                owned by someone-else',
      '',
    ].join('\n'),
  );
});

test('renderDns: the last error, a refused plan, no records', () => {
  const text = renderDns(
    {
      ...STATUS,
      dryRun: true,
      lastError: {
        at: ago(1),
        reason: 'UNREACHABLE',
        message: 'PowerDNS http://127.0.0.1:8081: listing zones: cannot reach the server (ECONNREFUSED)',
      },
      refused: '12 deletions exceed --dns.maxdeletes=10',
      records: [],
    },
    NOW,
  );
  assert.equal(
    text,
    [
      'provider pdns, policy sync, dry run, owner default, last sync 12s ago',
      'last error (UNREACHABLE): PowerDNS http://127.0.0.1:8081: listing zones: cannot reach the server (ECONNREFUSED)',
      'plan refused: 12 deletions exceed --dns.maxdeletes=10',
      'No records: no enabled router host (or DNSEndpoint) is inside --dns.domainfilters.',
      '',
    ].join('\n'),
  );
});

test('dnsMain reads /api/dns: exit 0, -o json, exit 1 when a record is Failed, a usage error, a clear 404', async () => {
  let body: unknown = STATUS;
  let status = 200;
  const server = createServer((req, res) => {
    if (req.url !== '/api/dns') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (c: Buffer) => (o += c.toString()));
    err.on('data', (c: Buffer) => (e += c.toString()));
    const code = await dnsMain(args, {}, out, err);
    return { code, out: o, err: e };
  };
  try {
    let r = await run(['--admin', admin]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^app\.example\.com {3}A {7}203\.0\.113\.10,203\.0\.113\.11 {3}Published/m);
    r = await run(['--admin', admin, '-o', 'json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), STATUS);
    body = { ...STATUS, records: [{ ...STATUS.records[2], state: 'Failed', message: 'zone example.com cannot be read: BADSIG' }] };
    r = await run(['--admin', admin]);
    assert.equal(r.code, 1);
    assert.match(r.out, /Failed .*BADSIG/);
    r = await run(['--admin', admin, '-o', 'yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'gatehouse dns: -o: expected json, got "yaml"\n');
    status = 404;
    body = { message: 'DNS publishing is not enabled' };
    r = await run(['--admin', admin]);
    assert.equal(r.code, 1);
    assert.match(r.err, /404 DNS publishing is not enabled\n\(is DNS publishing enabled\? start the gateway with --dns\.provider/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
