import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { createHmac } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import dnsPacket from 'dns-packet';
import { checkTsigKey, parseTsigAlgorithm, signMessage, splitTsig, TsigServerError, TsigVerifier, type TsigKey } from './tsig.js';
import { DnsError } from './types.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
const KEY: TsigKey = { name: 'test-key', algorithm: 'hmac-sha256', secret: SECRET };
const T0 = 1_700_000_000;

function query(id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type: 'SOA', name: 'example.test', class: 'IN' }] });
}

function answer(id: number, extra = 0): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'SOA', name: 'example.test', class: 'IN' }],
    answers: [{ type: 'TXT', name: 'example.test', ttl: 60, data: [`answer ${extra}`] }],
  });
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DnsError, `a DnsError, got ${String(err)}`);
    assert.ok(!err.message.includes(SECRET.toString('utf8')), 'the secret is not in the message');
    assert.ok(!err.message.includes(SECRET.toString('base64')), 'the base64 secret is not in the message');
    return err.reason;
  }
  assert.fail('expected an error');
}

test('fixed vector: the request MAC is HMAC-SHA256 over the message and the TSIG variables, laid out by hand', () => {
  const msg = query(0x1234);
  const { message, mac } = signMessage(msg, KEY, { now: T0, fudge: 300 });
  // The TSIG variables of RFC 8945 4.3.3, written out byte by byte.
  const variables = hex(
    `
    08 746573742d6b6579 00                 -- name "test-key." (canonical)
    00ff                                   -- class ANY
    00000000                               -- TTL 0
    0b 686d61632d736861323536 00           -- algorithm "hmac-sha256."
    00006553f100                           -- time signed 1700000000 (48 bits)
    012c                                   -- fudge 300
    0000                                   -- error 0
    0000                                   -- other len 0
  `.replace(/--[^\n]*/g, ''),
  );
  const expected = createHmac('sha256', SECRET).update(msg).update(variables).digest();
  assert.deepEqual(mac, expected);
  // The appended record: the same fields in RDATA order, ARCOUNT incremented.
  assert.equal(message.readUInt16BE(10), 1);
  assert.deepEqual(message.subarray(0, 10), msg.subarray(0, 10));
  assert.deepEqual(message.subarray(12, msg.length), msg.subarray(12));
  const rr = message.subarray(msg.length);
  const rdata = Buffer.concat([hex('0b 686d61632d736861323536 00'), hex('00006553f100 012c 0020'), expected, hex('1234 0000 0000')]);
  const header = Buffer.concat([hex('08 746573742d6b6579 00 00fa 00ff 00000000'), Buffer.from([rdata.length >> 8, rdata.length & 0xff])]);
  assert.deepEqual(rr, Buffer.concat([header, rdata]));
});

test('fixed vector: hmac-sha512 MACs are 64 bytes over the algorithm name hmac-sha512.', () => {
  const key: TsigKey = { ...KEY, algorithm: 'hmac-sha512' };
  const msg = query(1);
  const { mac } = signMessage(msg, key, { now: T0 });
  const variables = hex('08746573742d6b657900 00ff 00000000 0b686d61632d73686135313200 00006553f100 012c 0000 0000');
  assert.deepEqual(mac, createHmac('sha512', SECRET).update(msg).update(variables).digest());
  assert.equal(mac.length, 64);
});

test('sign and verify round trip: the answer MAC chains the request MAC', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const res = signMessage(answer(42), KEY, { now: T0 + 5, requestMac: req.mac });
  const v = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  assert.equal(v.verify(res.message), true);
  v.end();
  // splitTsig gives back exactly the unsigned answer.
  assert.deepEqual(splitTsig(res.message)?.unsigned, answer(42));
});

test('an answer chained to another request MAC fails with BADSIG', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const other = signMessage(query(43), KEY, { now: T0 });
  const res = signMessage(answer(42), KEY, { now: T0, requestMac: other.mac });
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(res.message)),
    'BADSIG',
  );
});

test('a tampered answer fails with BADSIG, whichever byte changes', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const res = signMessage(answer(42), KEY, { now: T0, requestMac: req.mac });
  const unsignedLength = answer(42).length;
  for (const at of [2, 3, 13, unsignedLength - 1]) {
    const bad = Buffer.from(res.message);
    bad[at] = (bad[at] as number) ^ 0x01;
    assert.equal(
      reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(bad)),
      'BADSIG',
      `byte ${at}`,
    );
  }
  const wrongSecret: TsigKey = { ...KEY, secret: Buffer.from('another secret entirely') };
  assert.equal(
    reasonOf(() => new TsigVerifier(wrongSecret, req.mac, { now: () => T0 }).verify(res.message)),
    'BADSIG',
  );
});

test('a time signed outside the fudge fails with BADTIME; inside passes', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const res = signMessage(answer(42), KEY, { now: T0, fudge: 300, requestMac: req.mac });
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 + 301 }).verify(res.message)),
    'BADTIME',
  );
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 - 301 }).verify(res.message)),
    'BADTIME',
  );
  assert.equal(new TsigVerifier(KEY, req.mac, { now: () => T0 + 300 }).verify(res.message), true);
});

test("the server's TSIG errors surface by name (BADSIG, BADKEY unsigned; BADTIME with the server's clock)", () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  for (const [code, name] of [
    [16, 'BADSIG'],
    [17, 'BADKEY'],
    [18, 'BADTIME'],
    [22, 'BADTRUNC'],
  ] as const) {
    const res = signMessage(answer(42), KEY, { now: T0, requestMac: req.mac, error: code });
    try {
      new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(res.message);
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof TsigServerError);
      assert.equal(err.reason, name);
      assert.match(err.message, new RegExp(`TSIG error ${name}`));
    }
  }
});

test('a key name or algorithm other than ours is BADKEY; a truncated MAC is BADTRUNC', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const otherName = signMessage(answer(42), { ...KEY, name: 'other-key' }, { now: T0, requestMac: req.mac });
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(otherName.message)),
    'BADKEY',
  );
  const otherAlg = signMessage(answer(42), { ...KEY, algorithm: 'hmac-sha512' }, { now: T0, requestMac: req.mac });
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(otherAlg.message)),
    'BADKEY',
  );
  // Truncate the MAC to 16 bytes: rewrite MAC size and RDLENGTH.
  const res = signMessage(answer(42), KEY, { now: T0, requestMac: req.mac });
  const base = answer(42).length;
  const nameLen = 10; // "test-key."
  const rdStart = base + nameLen + 10;
  const macSizeAt = rdStart + 13 + 8; // algorithm name (13) + time (6) + fudge (2)
  const head = Buffer.from(res.message.subarray(0, macSizeAt + 2 + 16));
  head.writeUInt16BE(16, macSizeAt);
  const truncated = Buffer.concat([head, res.message.subarray(macSizeAt + 2 + 32)]);
  truncated.writeUInt16BE(truncated.length - rdStart, rdStart - 2);
  assert.equal(
    reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(truncated)),
    'BADTRUNC',
  );
});

test('an unsigned answer is reported as unsigned (the caller refuses it)', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const v = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  assert.equal(v.verify(answer(42)), false);
  assert.equal(
    reasonOf(() => v.end()),
    'BADSIG',
  );
});

/** What a server does for the 2nd.. message of a transfer (RFC 8945 5.3.1), computed by hand. */
function signContinuation(msg: Buffer, priorMac: Buffer, unsignedBetween: Buffer[], time: number): { message: Buffer; mac: Buffer } {
  const macLen = Buffer.from([priorMac.length >> 8, priorMac.length & 0xff]);
  const timersHex = Buffer.alloc(8);
  timersHex.writeUIntBE(time, 0, 6);
  timersHex.writeUInt16BE(300, 6);
  const h = createHmac('sha256', SECRET).update(macLen).update(priorMac);
  for (const u of unsignedBetween) h.update(u);
  const mac = h.update(msg).update(timersHex).digest();
  // Lay the record out like signMessage does, with this MAC.
  const shape = signMessage(msg, KEY, { now: time });
  const out = Buffer.from(shape.message);
  out.set(mac, out.length - 6 - 32);
  return { message: out, mac };
}

test('multi-message answers: every message signed, or unsigned runs chained into the next MAC', () => {
  const req = signMessage(query(7), KEY, { now: T0 });
  const m1 = signMessage(answer(7, 1), KEY, { now: T0, requestMac: req.mac });
  const m2 = answer(7, 2);
  const m3 = answer(7, 3);
  const m4 = signContinuation(answer(7, 4), m1.mac, [m2, m3], T0 + 1);
  const m5 = signContinuation(answer(7, 5), m4.mac, [], T0 + 1);
  const v = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  assert.deepEqual(
    [m1.message, m2, m3, m4.message, m5.message].map((m) => v.verify(m)),
    [true, false, false, true, true],
  );
  v.end();

  // Leaving out an unsigned message breaks the chain.
  const v2 = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  v2.verify(m1.message);
  v2.verify(m2);
  assert.equal(
    reasonOf(() => v2.verify(m4.message)),
    'BADSIG',
  );

  // A transfer ending on an unsigned message is refused.
  const v3 = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  v3.verify(m1.message);
  v3.verify(m2);
  assert.equal(
    reasonOf(() => v3.end()),
    'BADSIG',
  );

  // More than 99 unsigned in a row are refused.
  const v4 = new TsigVerifier(KEY, req.mac, { now: () => T0 });
  v4.verify(m1.message);
  for (let i = 0; i < 99; i++) v4.verify(m2);
  assert.equal(
    reasonOf(() => v4.verify(m2)),
    'BADSIG',
  );
});

test('MACs are compared with crypto.timingSafeEqual', () => {
  const req = signMessage(query(42), KEY, { now: T0 });
  const res = signMessage(answer(42), KEY, { now: T0, requestMac: req.mac });
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  try {
    new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(res.message);
    const bad = Buffer.from(res.message);
    bad[3] = (bad[3] as number) ^ 1;
    assert.equal(
      reasonOf(() => new TsigVerifier(KEY, req.mac, { now: () => T0 }).verify(bad)),
      'BADSIG',
    );
    assert.equal(spy.mock.callCount(), 2);
    for (const call of spy.mock.calls) assert.equal((call.arguments[0] as Buffer).length, 32);
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
});

test('only hmac-sha256 and hmac-sha512 are accepted; keys are checked', () => {
  assert.equal(parseTsigAlgorithm('HMAC-SHA512.'), 'hmac-sha512');
  assert.equal(parseTsigAlgorithm('hmac-sha256'), 'hmac-sha256');
  for (const a of ['hmac-sha1', 'hmac-md5', 'hmac-md5.sig-alg.reg.int', 'gss-tsig', '']) {
    assert.equal(
      reasonOf(() => parseTsigAlgorithm(a)),
      'CONFIG',
      a,
    );
  }
  assert.equal(
    reasonOf(() => checkTsigKey({ ...KEY, secret: Buffer.alloc(0) })),
    'CONFIG',
  );
  assert.equal(
    reasonOf(() => checkTsigKey({ ...KEY, name: 'bad..name' })),
    'BAD_NAME',
  );
  assert.deepEqual(checkTsigKey({ ...KEY, name: 'Test-Key.' }).name, 'test-key');
});
