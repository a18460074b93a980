/**
 * The RFC 2136 provider against a real BIND 9 (test/support/bind9.ts): updates
 * signed with TSIG land (dig sees them), AXFR reads what dig's own transfer
 * reads, and every refusal BIND makes surfaces as a DnsError with its reason,
 * the server and the zone, never the secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startBind9, type TestBind9 } from './support/bind9.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRfc2136Provider, readTsigSecretFile, type Rfc2136Options } from '../src/dns/rfc2136.js';
import { DnsError, type DnsProvider, type RecordSet } from '../src/dns/types.js';

const none = { create: [], update: [], delete: [] };

/** The A, AAAA, CNAME and TXT sets of a `dig +noall +answer AXFR` listing, sorted, in the seam's form. */
function parseDigAxfr(lines: string[]): RecordSet[] {
  const sets = new Map<string, { name: string; type: RecordSet['type']; ttl: number; values: string[] }>();
  for (const line of lines) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const [, owner, ttl, type, data] = m as unknown as [string, string, string, string, string];
    if (!['A', 'AAAA', 'CNAME', 'TXT'].includes(type)) continue;
    let value = data;
    if (type === 'CNAME') value = data.replace(/\.$/, '');
    if (type === 'TXT') {
      const bytes: number[] = [];
      for (const s of data.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
        const body = s[1] as string;
        for (let i = 0; i < body.length; i++) {
          const c = body[i] as string;
          if (c === '\\' && /^[0-9]{3}$/.test(body.slice(i + 1, i + 4))) {
            bytes.push(Number(body.slice(i + 1, i + 4)));
            i += 3;
          } else if (c === '\\') bytes.push(body.charCodeAt(++i));
          else bytes.push(body.charCodeAt(i));
        }
      }
      value = Buffer.from(bytes).toString('utf8');
    }
    const name = owner.replace(/\.$/, '').toLowerCase();
    const k = `${name} ${type}`;
    const set = sets.get(k) ?? { name, type: type as RecordSet['type'], ttl: Number(ttl), values: [] };
    set.values.push(value);
    sets.set(k, set);
  }
  return sorted([...sets.values()]);
}

function sorted(sets: readonly RecordSet[]): RecordSet[] {
  return sets
    .map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, values: [...s.values].sort() }))
    .sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));
}

async function dnsError(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DnsError, `a DnsError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a DnsError');
}

describe('RFC 2136 provider against BIND 9', () => {
  let bind: TestBind9;
  let secret: Buffer;
  let provider: DnsProvider;
  let opts: Rfc2136Options;

  before(async () => {
    bind = await startBind9();
    // The secret as the wiring reads it: a key file as tsig-keygen prints it.
    const keyFile = join(bind.dir, 'gatehouse.key');
    writeFileSync(keyFile, `key "${bind.keyName}" {\n\talgorithm hmac-sha256;\n\tsecret "${bind.secretBase64}";\n};\n`, { mode: 0o600 });
    secret = readTsigSecretFile(keyFile);
    assert.equal(secret.toString('base64'), bind.secretBase64);
    opts = { host: '127.0.0.1', port: bind.port, zones: [...bind.zones], tsigKeyName: bind.keyName, tsigSecret: secret, timeoutMs: 5000 };
    provider = createRfc2136Provider(opts);
  });
  after(async () => {
    await bind?.stop();
  });

  /** No message of `err` holds either secret, raw or in base64. */
  function assertNoSecret(err: Error, ...others: Buffer[]): void {
    for (const s of [secret, ...others]) {
      assert.ok(!err.message.includes(s.toString('base64')), 'base64 secret in message');
      assert.ok(!err.message.includes(s.toString('latin1')), 'raw secret in message');
      assert.ok(!String(err.stack).includes(s.toString('base64')), 'secret in stack');
    }
  }

  test('creates A, AAAA, CNAME and TXT; dig sees them; records() matches dig AXFR', async () => {
    assert.deepEqual(provider.capabilities, { alias: false, read: true });
    await provider.apply('example.test', {
      ...none,
      create: [
        { name: 'app.example.test', type: 'A', ttl: 60, values: ['192.0.2.10', '192.0.2.11'] },
        { name: 'app.example.test', type: 'AAAA', ttl: 60, values: ['2001:db8::10'] },
        { name: 'www.example.test', type: 'CNAME', ttl: 120, values: ['app.example.test'] },
        { name: 'a-gh.app.example.test', type: 'TXT', ttl: 60, values: ['heritage=gatehouse,owner=default,"quoted" \\ back'] },
      ],
    });
    assert.deepEqual(bind.lookup('app.example.test', 'A'), ['192.0.2.10', '192.0.2.11']);
    assert.deepEqual(bind.lookup('app.example.test', 'AAAA'), ['2001:db8::10']);
    assert.deepEqual(bind.lookup('www.example.test', 'CNAME'), ['app.example.test.']);
    assert.deepEqual(bind.lookup('a-gh.app.example.test', 'TXT'), ['"heritage=gatehouse,owner=default,\\"quoted\\" \\\\ back"']);

    const ours = sorted(await provider.records('example.test'));
    const digs = parseDigAxfr(bind.axfr('example.test'));
    assert.deepEqual(ours, digs);
    assert.ok(ours.some((s) => s.name === 'www.example.test' && s.type === 'CNAME' && s.ttl === 120 && s.values[0] === 'app.example.test'));
    assert.ok(
      ours.some((s) => s.name === 'ns1.example.test' && s.type === 'A'),
      'records outside the plan are listed too',
    );
  });

  test('an update replaces the whole set; a delete removes it; other sets stay', async () => {
    const keep = { name: 'keep.example.test', type: 'A' as const, ttl: 60, values: ['192.0.2.99'] };
    await provider.apply('example.test', {
      ...none,
      create: [{ name: 'upd.example.test', type: 'A', ttl: 60, values: ['192.0.2.1', '192.0.2.2'] }, keep],
    });
    await provider.apply('example.test', { ...none, update: [{ name: 'upd.example.test', type: 'A', ttl: 30, values: ['192.0.2.3'] }] });
    assert.deepEqual(bind.lookup('upd.example.test', 'A'), ['192.0.2.3']);
    const after = await provider.records('example.test');
    assert.deepEqual(
      after.find((s) => s.name === 'upd.example.test' && s.type === 'A'),
      { name: 'upd.example.test', type: 'A', ttl: 30, values: ['192.0.2.3'] },
    );
    await provider.apply('example.test', { ...none, delete: [{ name: 'upd.example.test', type: 'A', ttl: 30, values: ['192.0.2.3'] }] });
    assert.deepEqual(bind.lookup('upd.example.test', 'A'), []);
    assert.deepEqual(bind.lookup('keep.example.test', 'A'), ['192.0.2.99']);
  });

  test('a CNAME replaces an A in one UPDATE (delete first, then add)', async () => {
    await provider.apply('example.test', { ...none, create: [{ name: 'swap.example.test', type: 'A', ttl: 60, values: ['192.0.2.7'] }] });
    await provider.apply('example.test', {
      ...none,
      delete: [{ name: 'swap.example.test', type: 'A', ttl: 60, values: ['192.0.2.7'] }],
      create: [{ name: 'swap.example.test', type: 'CNAME', ttl: 60, values: ['target.example.org.test'] }],
    });
    // (dig +short for A would follow the CNAME: read the zone itself.)
    const swap = parseDigAxfr(bind.axfr('example.test')).filter((s) => s.name === 'swap.example.test');
    assert.deepEqual(swap, [{ name: 'swap.example.test', type: 'CNAME', ttl: 60, values: ['target.example.org.test'] }]);
  });

  test('creating a set that exists fails with YXRRSET and changes nothing (prerequisite)', async () => {
    await provider.apply('example.test', { ...none, create: [{ name: 'taken.example.test', type: 'A', ttl: 60, values: ['192.0.2.20'] }] });
    const err = await dnsError(
      provider.apply('example.test', {
        ...none,
        create: [
          { name: 'taken.example.test', type: 'A', ttl: 60, values: ['192.0.2.21'] },
          { name: 'fresh.example.test', type: 'A', ttl: 60, values: ['192.0.2.22'] },
        ],
      }),
    );
    assert.equal(err.reason, 'YXRRSET');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${bind.port}`));
    assert.match(err.message, /example\.test/);
    assert.deepEqual(bind.lookup('taken.example.test', 'A'), ['192.0.2.20']);
    assert.deepEqual(bind.lookup('fresh.example.test', 'A'), [], 'the whole UPDATE was refused');
  });

  test('a TXT value longer than 255 bytes round-trips', async () => {
    const long = `v=${'abcdefghij'.repeat(60)}-é-end`; // > 600 bytes: three character-strings
    await provider.apply('example.org.test', {
      ...none,
      create: [{ name: '_acme-challenge.long.example.org.test', type: 'TXT', ttl: 60, values: [long] }],
    });
    const shown = bind.lookup('_acme-challenge.long.example.org.test', 'TXT');
    assert.equal(shown.length, 1);
    assert.equal((shown[0]?.match(/" "/g) ?? []).length, 2, 'three character-strings on the wire');
    const set = (await provider.records('example.org.test')).find((s) => s.name === '_acme-challenge.long.example.org.test');
    assert.deepEqual(set?.values, [long]);
  });

  test('records() reads a zone sent in many TSIG-signed messages (chained MACs)', async () => {
    const create = Array.from({ length: 40 }, (_, i) => ({
      name: `h${i}.example.org.test`,
      type: 'TXT' as const,
      ttl: 60,
      values: [`value ${i} ${'x'.repeat(80)}`],
    }));
    await provider.apply('example.org.test', { ...none, create });
    const got = await provider.records('example.org.test');
    for (const c of create) assert.deepEqual(got.find((s) => s.name === c.name)?.values, c.values);
    assert.deepEqual(sorted(got), parseDigAxfr(bind.axfr('example.org.test')));
  });

  test('hmac-sha512 keys sign updates and verify answers too', async () => {
    const p = createRfc2136Provider({
      ...opts,
      tsigKeyName: bind.sha512.keyName,
      tsigSecret: Buffer.from(bind.sha512.secretBase64, 'base64'),
      tsigAlgorithm: 'hmac-sha512',
    });
    await p.apply('example.test', { ...none, create: [{ name: 'sha512.example.test', type: 'A', ttl: 60, values: ['192.0.2.51'] }] });
    assert.deepEqual(bind.lookup('sha512.example.test', 'A'), ['192.0.2.51']);
    assert.ok((await p.records('example.test')).some((s) => s.name === 'sha512.example.test'));
  });

  test('a wrong TSIG secret is BADSIG; nothing changes; no secret in the message', async () => {
    await provider.apply('example.test', {
      ...none,
      create: [{ name: 'guarded.example.test', type: 'A', ttl: 60, values: ['192.0.2.30'] }],
    });
    const wrong = Buffer.from('this is not the secret of the key!');
    const p = createRfc2136Provider({ ...opts, tsigSecret: wrong });
    const err = await dnsError(
      p.apply('example.test', { ...none, update: [{ name: 'guarded.example.test', type: 'A', ttl: 60, values: ['192.0.2.31'] }] }),
    );
    assert.equal(err.reason, 'BADSIG');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${bind.port}`));
    assert.match(err.message, /zone example\.test/);
    assert.match(err.message, /NOTAUTH/);
    assertNoSecret(err, wrong);
    assert.deepEqual(bind.lookup('guarded.example.test', 'A'), ['192.0.2.30']);
    const axfrErr = await dnsError(p.records('example.test'));
    assert.equal(axfrErr.reason, 'BADSIG');
    assertNoSecret(axfrErr, wrong);
  });

  test('an unknown key name is BADKEY', async () => {
    const p = createRfc2136Provider({ ...opts, tsigKeyName: 'no-such-key' });
    const err = await dnsError(
      p.apply('example.test', { ...none, create: [{ name: 'nokey.example.test', type: 'A', ttl: 60, values: ['192.0.2.40'] }] }),
    );
    assert.equal(err.reason, 'BADKEY');
    assert.match(err.message, /zone example\.test/);
    assertNoSecret(err);
    assert.deepEqual(bind.lookup('nokey.example.test', 'A'), []);
  });

  test('the right key with the wrong algorithm is refused (BADKEY: BIND looks keys up by name and algorithm)', async () => {
    const p = createRfc2136Provider({ ...opts, tsigAlgorithm: 'hmac-sha512' });
    const err = await dnsError(
      p.apply('example.test', { ...none, create: [{ name: 'alg.example.test', type: 'A', ttl: 60, values: ['192.0.2.41'] }] }),
    );
    assert.equal(err.reason, 'BADKEY');
    assert.deepEqual(bind.lookup('alg.example.test', 'A'), []);
    assertNoSecret(err);
  });

  test('a zone the server does not serve: BIND answers NOTAUTH', async () => {
    const p = createRfc2136Provider({ ...opts, zones: ['not-served.test'] });
    const err = await dnsError(
      p.apply('not-served.test', { ...none, create: [{ name: 'x.not-served.test', type: 'A', ttl: 60, values: ['192.0.2.1'] }] }),
    );
    assert.equal(err.reason, 'NOTAUTH');
    assert.match(err.message, /zone not-served\.test/);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${bind.port}`));
    const axfrErr = await dnsError(p.records('not-served.test'));
    assert.equal(axfrErr.reason, 'NOTAUTH');
  });

  test('unsigned updates are REFUSED by a zone whose update-policy names a key', async () => {
    const p = createRfc2136Provider({ host: '127.0.0.1', port: bind.port, zones: ['example.test'], timeoutMs: 5000 });
    const err = await dnsError(
      p.apply('example.test', { ...none, create: [{ name: 'unsigned.example.test', type: 'A', ttl: 60, values: ['192.0.2.1'] }] }),
    );
    assert.equal(err.reason, 'REFUSED');
    assert.deepEqual(bind.lookup('unsigned.example.test', 'A'), []);
  });
});

describe('RFC 2136 provider when the server is gone', () => {
  test('a stopped server is UNREACHABLE, a silent one TIMEOUT, without hanging', async () => {
    const bind = await startBind9();
    const opts: Rfc2136Options = {
      host: '127.0.0.1',
      port: bind.port,
      zones: ['example.test'],
      tsigKeyName: bind.keyName,
      tsigSecret: Buffer.from(bind.secretBase64, 'base64'),
      timeoutMs: 1000,
    };
    const p = createRfc2136Provider(opts);
    await p.apply('example.test', { ...none, create: [{ name: 'up.example.test', type: 'A', ttl: 60, values: ['192.0.2.1'] }] });
    await bind.stop();
    const err = await dnsError(
      p.apply('example.test', { ...none, create: [{ name: 'down.example.test', type: 'A', ttl: 60, values: ['192.0.2.2'] }] }),
    );
    assert.equal(err.reason, 'UNREACHABLE');
    assert.match(err.message, new RegExp(`RFC 2136 server 127\\.0\\.0\\.1:${bind.port}: updating zone example\\.test`));
    assert.equal((await dnsError(p.records('example.test'))).reason, 'UNREACHABLE');

    // A server that accepts the connection and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const q = createRfc2136Provider({ ...opts, port: (silent.address() as AddressInfo).port });
      const timeout = await dnsError(
        q.apply('example.test', { ...none, create: [{ name: 'x.example.test', type: 'A', ttl: 60, values: ['192.0.2.3'] }] }),
      );
      assert.equal(timeout.reason, 'TIMEOUT');
      assert.match(timeout.message, /1000 ms/);
      assert.equal((await dnsError(q.records('example.test'))).reason, 'TIMEOUT');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
