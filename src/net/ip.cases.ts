/**
 * The shared case table for IP ranges. Every option that takes IP ranges must
 * give these results through src/net/ip.ts: ClientIP rules,
 * ipAllowList.sourceRange, ipStrategy.excludedIPs (ipAllowList, rateLimit and
 * inFlightReq source criteria) and forwardedHeaders.trustedIPs.
 *
 * Expectations are Go's: each range list parsed as Traefik's ip.Checker does
 * (net.ParseIP, else net.ParseCIDR), the address by netip.ParseAddr, then
 * net.IP.Equal / net.IPNet.Contains. They were produced by Go's net package,
 * not by the code under test. Addresses are bare (no port): the users that
 * accept `host:port` (Go's IsAuthorized) agree with the others on these.
 */

export interface IpCase {
  readonly ranges: readonly string[];
  readonly addr: string;
  /** Whether Go finds `addr` in one of `ranges`. */
  readonly in: boolean;
}

export const IP_CASES: readonly IpCase[] = [
  // The case: Go reads an IPv4-mapped range as the IPv4 range 10.0.0.0/8.
  { ranges: ['::ffff:10.0.0.0/104'], addr: '10.1.2.3', in: true },
  { ranges: ['::ffff:10.0.0.0/104'], addr: '::ffff:10.200.0.1', in: true },
  { ranges: ['::ffff:10.0.0.0/104'], addr: '11.0.0.1', in: false },
  { ranges: ['::ffff:172.16.0.0/108'], addr: '172.16.5.5', in: true },
  { ranges: ['::ffff:172.16.0.0/108'], addr: '172.32.0.1', in: false },
  { ranges: ['::ffff:0:0/96'], addr: '1.2.3.4', in: true },
  { ranges: ['::ffff:0:0/96'], addr: '::1', in: false },
  // Below /96 the masked network is not IPv4-mapped: an IPv6 range that no IPv4 client is in.
  { ranges: ['::ffff:10.0.0.0/64'], addr: '10.1.2.3', in: false },
  { ranges: ['::ffff:10.0.0.0/64'], addr: '::ffff:10.1.2.3', in: false },
  { ranges: ['::ffff:10.0.0.0/64'], addr: '::1', in: true },
  { ranges: ['10.0.0.0/8'], addr: '10.255.1.1', in: true },
  { ranges: ['10.0.0.0/8'], addr: '11.0.0.1', in: false },
  { ranges: ['10.0.0.0/8'], addr: '::ffff:10.1.1.1', in: true },
  { ranges: ['10.0.0.0/8'], addr: '::ffff:a01:101', in: true },
  { ranges: ['10.0.0.0/8'], addr: '::a01:101', in: false },
  // net.ParseCIDR reads a prefix length with leading zeros.
  { ranges: ['10.0.0.0/08'], addr: '10.1.1.1', in: true },
  { ranges: ['192.168.1.7'], addr: '192.168.1.7', in: true },
  { ranges: ['192.168.1.7'], addr: '192.168.1.8', in: false },
  { ranges: ['192.168.1.7'], addr: '::ffff:192.168.1.7', in: true },
  { ranges: ['::ffff:192.168.1.7'], addr: '192.168.1.7', in: true },
  { ranges: ['1.2.3.4/32'], addr: '1.2.3.4', in: true },
  { ranges: ['1.2.3.5/31'], addr: '1.2.3.4', in: true },
  { ranges: ['1.2.3.4/24'], addr: '1.2.3.200', in: true },
  { ranges: ['1.2.3.4/24'], addr: '1.2.4.1', in: false },
  { ranges: ['0.0.0.0/0'], addr: '1.2.3.4', in: true },
  { ranges: ['0.0.0.0/0'], addr: '::ffff:1.2.3.4', in: true },
  { ranges: ['0.0.0.0/0'], addr: '::1', in: false },
  // IPv6 ranges never hold IPv4 clients, mapped or not.
  { ranges: ['::/0'], addr: '1.2.3.4', in: false },
  { ranges: ['::/0'], addr: '::ffff:1.2.3.4', in: false },
  { ranges: ['::/0'], addr: 'fe80::1', in: true },
  { ranges: ['2001:db8::/126'], addr: '2001:db8::3', in: true },
  { ranges: ['2001:db8::/126'], addr: '2001:db8::4', in: false },
  { ranges: ['2001:db8::/32'], addr: '2001:DB8:ffff::1', in: true },
  { ranges: ['2001:db8::/32'], addr: '2001:db9::1', in: false },
  { ranges: ['::1'], addr: '::1', in: true },
  { ranges: ['::1'], addr: '0:0:0:0:0:0:0:1', in: true },
  { ranges: ['::1'], addr: '::2', in: false },
  { ranges: ['::1'], addr: '127.0.0.1', in: false },
  { ranges: ['64:ff9b::/96'], addr: '64:ff9b::192.0.2.33', in: true },
  { ranges: ['64:ff9b::/96'], addr: '192.0.2.33', in: false },
  // IPv4-compatible (not mapped) is IPv6.
  { ranges: ['::1.2.3.4'], addr: '::102:304', in: true },
  { ranges: ['::1.2.3.4'], addr: '1.2.3.4', in: false },
  // The zone of the address checked is ignored.
  { ranges: ['fe80::/10'], addr: 'fe80::1%eth0', in: true },
  { ranges: ['fe80::/10'], addr: 'fe80::1', in: true },
  { ranges: ['0.0.0.0/0'], addr: '::ffff:1.2.3.4%eth0', in: true },
  // Not addresses (Go's netip.ParseAddr refuses them): in no range.
  { ranges: ['0.0.0.0/0', '::/0'], addr: '', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: 'not-an-ip', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '01.1.1.1', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1.2.3', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1.2.3.4.5', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '256.1.1.1', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1.2.3.4%eth0', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: ' 1.2.3.4', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '[::1]', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: 'fe80::1%', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1::2::3', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '12345::', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: ':1', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1:', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1:2:3:4:5:6:7:8:9', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1:2:3:4:5:6:7::8', in: false },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1:2:3:4:5:6:1.2.3.4', in: true },
  { ranges: ['0.0.0.0/0', '::/0'], addr: '1:2:3:4:5:1.2.3.4', in: false },
  { ranges: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], addr: '192.168.1.7', in: true },
  { ranges: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], addr: '2001:db8::1', in: true },
  { ranges: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], addr: '172.16.0.1', in: false },
];

export interface IpErrorCase {
  /** A range entry Go refuses. */
  readonly range: string;
  /** What the error must say. */
  readonly error: RegExp;
}

/** Entries every user refuses with a configuration error naming the entry. */
export const IP_ERRORS: readonly IpErrorCase[] = [
  { range: '10.0.0.0/33', error: /prefix length .* 0 to 32/ },
  { range: '::1/129', error: /prefix length .* 0 to 128/ },
  { range: '::ffff:1.2.3.4/129', error: /prefix length .* 0 to 128/ },
  { range: '1.2.3.4/', error: /prefix length/ },
  { range: '1.2.3.4/-1', error: /prefix length/ },
  { range: '1.2.3.4/+8', error: /prefix length/ },
  { range: '10.0.0.0/8/8', error: /prefix length/ },
  { range: 'not-an-ip', error: /unable to parse IP/ },
  { range: '', error: /empty string/ },
  { range: 'localhost', error: /unable to parse IP/ },
  { range: '10.0.0.300', error: /IPv4 field has value >255/ },
  { range: '01.2.3.4', error: /leading zero/ },
  { range: '1.2.3', error: /IPv4 address too short/ },
  { range: 'fe80::1%eth0', error: /a range cannot have an IPv6 zone/ },
  { range: 'fe80::1%eth0/64', error: /a range cannot have an IPv6 zone/ },
  { range: ' 10.0.0.0/8', error: /unexpected character " ".*remove the surrounding spaces/ },
  { range: '10.0.0.0/8 ', error: /remove the surrounding spaces/ },
  { range: '[::1]', error: /not an IP address/ },
  { range: '1.2.3.4:80', error: /unexpected character ":"/ },
];
