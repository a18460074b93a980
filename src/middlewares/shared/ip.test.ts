import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpMatcher, cleanIp } from './ip-matcher.js';
import { maskIpv6 } from './ip-strategy.js';
import { MiddlewareOptionError } from '../types.js';

test('IP matcher: v4, v6, single addresses and mapped addresses', () => {
  const m = compileIpMatcher(['192.168.0.0/16', '10.1.2.3', '2001:db8::/32', '::1'], 'sourceRange');
  assert.ok(m.contains('192.168.44.1'));
  assert.ok(m.contains('::ffff:192.168.1.1'));
  assert.ok(m.contains('10.1.2.3'));
  assert.ok(!m.contains('10.1.2.4'));
  assert.ok(m.contains('2001:db8:ffff::1'));
  assert.ok(m.contains('[::1]'));
  assert.ok(!m.contains('2001:db9::1'));
  assert.ok(!m.contains('not an ip'));
  assert.ok(!m.contains(''));
});

test('IP matcher rejects bad entries with the index in the field', () => {
  assert.throws(() => compileIpMatcher(['1.2.3.4', '1.2.3.4/40'], 'sourceRange'), (e: unknown) => e instanceof MiddlewareOptionError && e.field === 'sourceRange[1]');
  assert.throws(() => compileIpMatcher(['::1/129'], 'x'), MiddlewareOptionError);
  assert.throws(() => compileIpMatcher(['1.2.3.4/'], 'x'), MiddlewareOptionError);
});

test('cleanIp and maskIpv6', () => {
  assert.equal(cleanIp(' [fe80::1%eth0] '), 'fe80::1');
  assert.equal(maskIpv6('2001:db8:1:2:3:4:5:6', 64), '2001:db8:1:2::');
  assert.equal(maskIpv6('2001:db8::ffff', 120), '2001:db8::ff00');
  assert.equal(maskIpv6('1.2.3.4', 64), '1.2.3.4');
});
