import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpMatcher, parseIpInto, parseNet } from './ip-match.js';

test('parseIpInto accepts what Go netip.ParseAddr accepts', () => {
  const out = new Uint32Array(4);
  const good: readonly [string, 4 | 6][] = [
    ['0.0.0.0', 4],
    ['255.255.255.255', 4],
    ['::', 6],
    ['::1', 6],
    ['1::', 6],
    ['2001:db8::8a2e:370:7334', 6],
    ['2001:DB8:0:0:0:0:0:1', 6],
    ['::ffff:10.0.0.1', 4],
    ['64:ff9b::192.0.2.33', 6],
    ['fe80::1%eth0', 6],
  ];
  for (const [ip, family] of good) assert.equal(parseIpInto(ip, out), family, ip);
  const bad = ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.1.1.1', '1.2.3.4%x', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', ':1', '1:', 'a.b.c.d', '1.2.3.4:80'];
  for (const ip of bad) assert.equal(parseIpInto(ip, out), 0, ip);
});

test('parseIpInto expands :: and embedded IPv4', () => {
  const out = new Uint32Array(4);
  parseIpInto('2001:db8::1', out);
  assert.deepEqual([...out], [0x20010db8, 0, 0, 1]);
  parseIpInto('::ffff:1.2.3.4', out);
  assert.deepEqual([...out], [0, 0, 0, 0x01020304]);
  parseIpInto('1:2:3:4:5:6:7:8', out);
  assert.deepEqual([...out], [0x00010002, 0x00030004, 0x00050006, 0x00070008]);
});

test('CIDR containment', () => {
  const m = compileIpMatcher(['10.0.0.0/8', '192.168.1.7', '2001:db8::/126', '::ffff:172.16.0.0/108']);
  const cases: readonly [string, boolean][] = [
    ['10.255.1.1', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.1.1.1', true],
    ['2001:db8::3', true],
    ['2001:db8::4', false],
    ['172.16.5.5', true],
    ['172.32.0.1', false],
    ['not-an-ip', false],
    ['', false],
  ];
  for (const [ip, expected] of cases) assert.equal(m(ip), expected, ip);
  assert.equal(compileIpMatcher(['0.0.0.0/0'])('1.2.3.4'), true);
  assert.equal(compileIpMatcher(['::/0'])('1.2.3.4'), false);
  assert.equal(compileIpMatcher(['::/0'])('fe80::1'), true);
  assert.equal(compileIpMatcher(['1.2.3.4/32'])('1.2.3.4'), true);
  assert.equal(compileIpMatcher(['1.2.3.5/31'])('1.2.3.4'), true);
});

test('invalid entries are rejected with their index', () => {
  for (const bad of ['1.2.3.4/33', '::1/129', '1.2.3.4/', '1.2.3.4/08', 'x', '::1%lo', '::ffff:1.2.3.4/64']) {
    assert.throws(() => parseNet(bad), Error, bad);
  }
  assert.throws(() => compileIpMatcher(['::1', 'nope']), (err: unknown) => (err as { index?: number }).index === 1);
});
