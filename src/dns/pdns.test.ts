import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPdnsProvider, fromWire, quoteTxt, toRrsets, toWire, unquoteTxt } from './pdns.js';
import { DnsError } from './types.js';

test('TXT quoting: escapes, 255-byte character-strings, round trip', () => {
  assert.equal(quoteTxt('heritage=external-dns,external-dns/owner=a'), '"heritage=external-dns,external-dns/owner=a"');
  assert.equal(quoteTxt('say "hi" \\ ok'), '"say \\"hi\\" \\\\ ok"');
  assert.equal(quoteTxt('é\n'), '"\\195\\169\\010"');
  assert.equal(quoteTxt(''), '""');
  const long = 'a'.repeat(300);
  assert.equal(quoteTxt(long), `"${'a'.repeat(255)}" "${'a'.repeat(45)}"`);
  for (const s of ['', 'plain', 'say "hi" \\ ok', 'é ü 日本', 'x'.repeat(600), 'tab\there']) assert.equal(unquoteTxt(quoteTxt(s)), s);
  assert.equal(unquoteTxt('"a" "b"'), 'ab');
  assert.equal(unquoteTxt('bare'), 'bare');
});

test('wire forms: host names with a trailing dot, read back without', () => {
  assert.equal(toWire('CNAME', 'lb.example.net'), 'lb.example.net.');
  assert.equal(toWire('ALIAS', 'lb.example.net.'), 'lb.example.net.');
  assert.equal(toWire('A', '192.0.2.1'), '192.0.2.1');
  assert.equal(fromWire('CNAME', 'LB.example.net.'), 'lb.example.net');
  assert.equal(fromWire('TXT', '"x" "y"'), 'xy');
});

test('toRrsets: deletions first, absolute names, refuses names outside the zone and duplicates', () => {
  const body = toRrsets('example.com', {
    create: [{ name: 'www.example.com', type: 'CNAME', ttl: 60, values: ['app.example.com'] }],
    update: [],
    delete: [{ name: 'www.example.com', type: 'A', ttl: 60, values: ['192.0.2.1'] }],
  });
  assert.deepEqual(body, [
    { name: 'www.example.com.', type: 'A', changetype: 'DELETE' },
    {
      name: 'www.example.com.',
      type: 'CNAME',
      ttl: 60,
      changetype: 'REPLACE',
      records: [{ content: 'app.example.com.', disabled: false }],
    },
  ]);
  assert.throws(
    () =>
      toRrsets('example.com', { create: [{ name: 'x.example.org', type: 'A', ttl: 1, values: ['192.0.2.1'] }], update: [], delete: [] }),
    (e: unknown) => e instanceof DnsError && e.reason === 'NOTZONE',
  );
  const a = { name: 'x.example.com', type: 'A' as const, ttl: 1, values: ['192.0.2.1'] };
  assert.throws(
    () => toRrsets('example.com', { create: [a], update: [a], delete: [] }),
    (e: unknown) => e instanceof DnsError && e.reason === 'DUPLICATE',
  );
});

test('createPdnsProvider: configuration errors never show the key', () => {
  assert.throws(
    () => createPdnsProvider({ server: 'not a url', apiKey: 'secret-1' }),
    (e: unknown) => e instanceof DnsError && !e.message.includes('secret-1'),
  );
  assert.throws(() => createPdnsProvider({ server: 'ftp://h', apiKey: 'secret-1' }), /only http/);
  assert.throws(() => createPdnsProvider({ server: 'http://127.0.0.1:1', apiKey: '' }), /API key is empty/);
});
