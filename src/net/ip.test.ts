import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpRanges, IpRangeError, maskIpv6, parseIpInto } from './ip.js';
import { IP_CASES, IP_ERRORS } from './ip.cases.js';

test('the shared cases: contains and containsHost agree with Go', () => {
  for (const c of IP_CASES) {
    const ranges = compileIpRanges(c.ranges);
    assert.equal(ranges.contains(c.addr), c.in, `${c.addr} in ${c.ranges.join(', ')}`);
    assert.equal(ranges.containsHost(c.addr), c.in, `${c.addr} in ${c.ranges.join(', ')} (host form)`);
  }
});

test('the shared error cases: IpRangeError naming the entry and its index', () => {
  for (const c of IP_ERRORS) {
    assert.throws(
      () => compileIpRanges(['10.0.0.0/8', c.range]),
      (err: unknown) => {
        assert.ok(err instanceof IpRangeError, `${c.range}: ${String(err)}`);
        assert.equal(err.index, 1);
        assert.equal(err.entry, c.range);
        assert.ok(err.message.startsWith(`"${c.range}" is not`), err.message);
        assert.match(err.message, c.error, c.range);
        return true;
      },
    );
  }
});

test('parseIpInto: IPv4-mapped IPv6 is IPv4, :: and embedded IPv4 expand', () => {
  const out = new Uint32Array(4);
  assert.equal(parseIpInto('2001:db8::1', out), 6);
  assert.deepEqual([...out], [0x20010db8, 0, 0, 1]);
  assert.equal(parseIpInto('::ffff:1.2.3.4', out), 4);
  assert.equal(out[3], 0x01020304);
  assert.equal(parseIpInto('1.2.3.4', out), 4);
  assert.equal(out[3], 0x01020304);
  assert.equal(parseIpInto('1:2:3:4:5:6:7:8', out), 6);
  assert.deepEqual([...out], [0x00010002, 0x00030004, 0x00050006, 0x00070008]);
  assert.equal(parseIpInto('1::', out), 6);
  assert.deepEqual([...out], [0x00010000, 0, 0, 0]);
  assert.equal(parseIpInto('1:2::7:8', out), 6);
  assert.deepEqual([...out], [0x00010002, 0, 0, 0x00070008]);
  assert.equal(parseIpInto('255.255.255.255', out), 4);
  assert.equal(out[3], 0xffffffff);
});

test('containsHost reduces host:port as Go SplitHostPort does; contains does not', () => {
  const r = compileIpRanges(['10.0.0.0/8', '::1']);
  const cases: readonly [string, boolean, boolean][] = [
    // [address, contains, containsHost]
    ['10.1.2.3:8080', false, true],
    ['10.1.2.3:', false, true],
    ['[::1]:443', false, true],
    ['[::1]', false, false],
    ['::1', true, true],
    ['[10.1.2.3]:80', false, true],
    ['[::1]:80:90', false, false],
    ['10.1.2.3:80]', false, false],
    ['[[::1]]:80', false, false],
    ['11.1.2.3:80', false, false],
  ];
  for (const [addr, plain, host] of cases) {
    assert.equal(r.contains(addr), plain, `contains ${addr}`);
    assert.equal(r.containsHost(addr), host, `containsHost ${addr}`);
  }
});

test('maskIpv6: the /bits network in RFC 5952 form, as Go netip Prefix().Addr().String()', () => {
  const cases: readonly [string, number, string][] = [
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::'],
    ['2001:db8::ffff', 120, '2001:db8::ff00'],
    ['2001:db8:abcd:12:1:2:3:4', 48, '2001:db8:abcd::'],
    ['fe80::1%eth0', 64, 'fe80::'],
    ['2001:0:0:1:0:0:0:1', 128, '2001:0:0:1::1'],
    ['1:0:0:2:0:0:0:3', 128, '1:0:0:2::3'],
    ['2001:DB8::1', 0, '::'],
    ['1.2.3.4', 64, '1.2.3.4'],
    ['not-an-ip', 64, 'not-an-ip'],
    // Go would give '::' here; node reports IPv4 peers of a dual-stack socket
    // this way, where Go sees plain IPv4, so it stays unmasked.
    ['::ffff:1.2.3.4', 64, '::ffff:1.2.3.4'],
  ];
  for (const [ip, bits, want] of cases) assert.equal(maskIpv6(ip, bits), want, `${ip}/${bits}`);
});
