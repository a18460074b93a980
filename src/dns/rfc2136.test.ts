import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUpdate, rdata } from './rfc2136-message.js';
import { createRfc2136Provider, readTsigSecretFile, type Rfc2136Options } from './rfc2136.js';
import { DnsError, type RecordChanges } from './types.js';
import { readHeader, readName, recordPositions } from './wire.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DnsError, String(err));
    return err.reason;
  }
  assert.fail('expected an error');
}

const empty: RecordChanges = { create: [], update: [], delete: [] };

/** The sections of an UPDATE message, as [name, type, class, ttl, rdlength]. */
function sections(msg: Buffer): {
  zone: [string, number, number];
  prereqs: Array<[string, number, number, number, number]>;
  updates: Array<[string, number, number, number, number]>;
} {
  const h = readHeader(msg);
  assert.equal(h.opcode, 5);
  assert.equal(h.qdcount, 1);
  const z = readName(msg, 12);
  const recs = recordPositions(msg).map((r) => {
    const klass = msg.readUInt16BE(r.rdataStart - 8);
    const ttl = msg.readUInt32BE(r.rdataStart - 6);
    return [r.name, r.type, klass, ttl, r.end - r.rdataStart] as [string, number, number, number, number];
  });
  return {
    zone: [z.name, msg.readUInt16BE(z.next), msg.readUInt16BE(z.next + 2)],
    prereqs: recs.slice(0, h.ancount),
    updates: recs.slice(h.ancount, h.ancount + h.nscount),
  };
}

test('UPDATE layout: zone SOA; deletes, then update as delete-RRset + adds, then creates', () => {
  const msg = buildUpdate(
    'example.test',
    {
      delete: [{ name: 'old.example.test', type: 'TXT', ttl: 60, values: ['x'] }],
      update: [{ name: 'App.Example.Test', type: 'A', ttl: 120, values: ['192.0.2.1', '192.0.2.2'] }],
      create: [{ name: 'new.example.test', type: 'CNAME', ttl: 30, values: ['app.example.test.'] }],
    },
    false,
  );
  const s = sections(msg);
  assert.deepEqual(s.zone, ['example.test', 6, 1]);
  assert.deepEqual(s.prereqs, []);
  assert.deepEqual(s.updates, [
    ['old.example.test', 16, 255, 0, 0],
    ['app.example.test', 1, 255, 0, 0],
    ['app.example.test', 1, 1, 120, 4],
    ['app.example.test', 1, 1, 120, 4],
    ['new.example.test', 5, 1, 30, 18],
  ]);
});

test('with AXFR, creates carry "RRset does not exist" prerequisites (class NONE)', () => {
  const s = sections(
    buildUpdate('example.test', { ...empty, create: [{ name: 'n.example.test', type: 'AAAA', ttl: 5, values: ['2001:db8::1'] }] }, true),
  );
  assert.deepEqual(s.prereqs, [['n.example.test', 28, 254, 0, 0]]);
  assert.deepEqual(s.updates, [['n.example.test', 28, 1, 5, 16]]);
});

test('TXT longer than 255 bytes is split into character-strings', () => {
  const text = 'é'.repeat(200); // 400 bytes
  const r = rdata('TXT', text);
  assert.equal(r.readUInt16BE(0), 402);
  assert.equal(r[2], 255);
  assert.equal(r[2 + 256], 145);
  assert.equal(Buffer.concat([r.subarray(3, 258), r.subarray(259)]).toString('utf8'), text);
  assert.deepEqual(rdata('TXT', ''), Buffer.from([0, 1, 0]));
});

test('bad changes are refused before anything is sent', () => {
  const rs = { name: 'a.example.test', type: 'A' as const, ttl: 60, values: ['192.0.2.1'] };
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, name: 'a.other.test' }] }, false)),
    'NOTZONE',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [rs], update: [rs] }, false)),
    'DUPLICATE',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, values: ['2001:db8::1'] }] }, false)),
    'BAD_VALUE',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, type: 'AAAA', values: ['1.2.3.4'] }] }, false)),
    'BAD_VALUE',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, type: 'ALIAS', values: ['x.test'] }] }, false)),
    'UNSUPPORTED',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, values: [] }] }, false)),
    'EMPTY',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, ttl: -1 }] }, false)),
    'BAD_VALUE',
  );
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: [{ ...rs, type: 'CNAME', values: ['bad..target'] }] }, false)),
    'BAD_NAME',
  );
  const many = Array.from({ length: 300 }, (_, i) => ({
    name: `t${i}.example.test`,
    type: 'TXT' as const,
    ttl: 60,
    values: ['x'.repeat(250)],
  }));
  assert.equal(
    reasonOf(() => buildUpdate('example.test', { ...empty, create: many }, false)),
    'TOO_LARGE',
  );
});

test('configuration errors name what is wrong and never the secret', () => {
  const secret = Buffer.from('super-secret-value-0123456789');
  const base: Rfc2136Options = { host: '127.0.0.1', zones: ['example.test'], tsigKeyName: 'k', tsigSecret: secret };
  const cases: Array<[Partial<Rfc2136Options>, string]> = [
    [{ host: ' ' }, 'CONFIG'],
    [{ port: 70000 }, 'CONFIG'],
    [{ timeoutMs: 0 }, 'CONFIG'],
    [{ zones: ['bad..zone'] }, 'BAD_NAME'],
    [{ tsigKeyName: 'bad..key' }, 'BAD_NAME'],
    [{ zones: [] }, 'CONFIG'],
    [{ tsigSecret: Buffer.alloc(0) }, 'CONFIG'],
    [{ tsigKeyName: undefined }, 'CONFIG'],
    [{ tsigAlgorithm: 'hmac-md5' as 'hmac-sha256' }, 'CONFIG'],
  ];
  for (const [change, reason] of cases) {
    try {
      createRfc2136Provider({ ...base, ...change });
      assert.fail(`expected ${reason} for ${JSON.stringify(change)}`);
    } catch (err) {
      assert.ok(err instanceof DnsError);
      assert.equal(err.reason, reason);
      assert.ok(!err.message.includes(secret.toString()) && !err.message.includes(secret.toString('base64')));
      if (change.host === undefined && change.port === undefined) assert.match(err.message, /^RFC 2136 server 127\.0\.0\.1:53: /);
    }
  }
  const p = createRfc2136Provider({ ...base, zones: ['Example.Test.', 'b.test'], axfr: false });
  assert.deepEqual(p.capabilities, { alias: false, read: false });
  assert.equal(p.kind, 'rfc2136');
});

test('zones are the configured ones; other zones and reads without AXFR are refused', async () => {
  const p = createRfc2136Provider({ host: '127.0.0.1', port: 9, zones: ['Example.Test.', 'b.test'], axfr: false });
  assert.deepEqual(await p.zones(), ['b.test', 'example.test']);
  await assert.rejects(p.records('example.test'), (e: DnsError) => e.reason === 'UNSUPPORTED' && /axfr/.test(e.message));
  await assert.rejects(p.apply('c.test', empty), (e: DnsError) => e.reason === 'UNKNOWN_ZONE' && /c\.test/.test(e.message));
  await p.apply('example.test', empty); // nothing to send: no connection attempted (port 9 would refuse)
  await p.close();
});

test('readTsigSecretFile: base64 alone or a BIND key file; errors name the file, not the content', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tsig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = Buffer.from('a secret of thirty-two bytes!!!!');
  const b64 = secret.toString('base64');
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };
  assert.deepEqual(readTsigSecretFile(write('plain', `${b64}\n`)), secret);
  assert.deepEqual(readTsigSecretFile(write('bind', `key "k" {\n\talgorithm hmac-sha256;\n\tsecret "${b64}";\n};\n`)), secret);
  const bad: Array<[string, string]> = [
    ['empty', ' \n'],
    ['not-base64', 'this is: not base64!'],
    ['two-keys', `key "a" { secret "${b64}"; };\nkey "b" { secret "${b64}"; };\n`],
  ];
  for (const [name, text] of bad) {
    try {
      readTsigSecretFile(write(name, text));
      assert.fail(name);
    } catch (err) {
      assert.ok(err instanceof DnsError, name);
      assert.equal(err.reason, 'CONFIG');
      assert.ok(err.message.includes(join(dir, name)));
      assert.ok(!err.message.includes(b64) && !err.message.includes('not base64'), name);
    }
  }
  assert.equal(
    reasonOf(() => readTsigSecretFile(join(dir, 'missing'))),
    'CONFIG',
  );
});
