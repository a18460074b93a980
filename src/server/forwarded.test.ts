/**
 * forwardedHeaders.trustedIPs runs the shared IP range table (src/net/ip.cases.ts),
 * like ClientIP rules and the ipAllowList / ipStrategy options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../errors.js';
import { IP_CASES, IP_ERRORS } from '../net/ip.cases.js';
import { ForwardedHeaders } from './forwarded.js';

test('trustedIPs trust exactly the peers Go finds in the ranges', () => {
  for (const c of IP_CASES) {
    const fwd = new ForwardedHeaders({ insecure: false, trustedIPs: c.ranges }, 'http');
    assert.equal(fwd.isTrusted(c.addr), c.in, `${c.addr} in ${c.ranges.join(', ')}`);
  }
});

test('a bad trustedIPs entry is a ConfigError naming it', () => {
  for (const c of IP_ERRORS) {
    assert.throws(
      () => new ForwardedHeaders({ insecure: false, trustedIPs: ['10.0.0.0/8', c.range] }, 'http'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${c.range}: ${String(err)}`);
        assert.equal(err.code, 'GH_CONFIG_INVALID');
        assert.equal(err.issues[0]?.field, 'forwardedHeaders.trustedIPs[1]', c.range);
        assert.match(err.message, c.error, `${c.range}: ${err.message}`);
        return true;
      },
    );
  }
});

test('X-Forwarded-* from a trusted peer are kept, from others replaced', () => {
  const fwd = new ForwardedHeaders({ insecure: false, trustedIPs: ['::ffff:10.0.0.0/104'] }, 'http');
  const from = (peer: string): IncomingHttpHeaders => {
    const h: IncomingHttpHeaders = { host: 'gw.test', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
    fwd.apply(h, peer);
    return h;
  };
  const trusted = from('10.1.2.3');
  assert.equal(trusted['x-forwarded-for'], '203.0.113.9, 10.1.2.3');
  assert.equal(trusted['x-forwarded-proto'], 'https');
  const other = from('192.0.2.1');
  assert.equal(other['x-forwarded-for'], '192.0.2.1');
  assert.equal(other['x-forwarded-proto'], 'http');
  assert.equal(new ForwardedHeaders({ insecure: true, trustedIPs: [] }, 'http').isTrusted('192.0.2.1'), true);
  assert.equal(new ForwardedHeaders({ insecure: false, trustedIPs: [] }, 'http').isTrusted('192.0.2.1'), false);
});
