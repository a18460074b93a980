/**
 * forwardedHeaders.trustedIPs runs the shared IP range table (src/net/ip.cases.ts),
 * like ClientIP rules and the ipAllowList / ipStrategy options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../errors.js';
import { IP_CASES, IP_ERRORS } from '../net/ip.cases.js';
import { dropConnectionOptions, ForwardedHeaders } from './forwarded.js';

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
  // The peer is appended to X-Forwarded-For when the request is forwarded (upstream/headers.ts), not here.
  const trusted = from('10.1.2.3');
  assert.equal(trusted['x-forwarded-for'], '203.0.113.9');
  assert.equal(trusted['x-forwarded-proto'], 'https');
  const other = from('192.0.2.1');
  assert.equal(other['x-forwarded-for'], undefined);
  assert.equal(other['x-forwarded-proto'], 'http');
  assert.equal(new ForwardedHeaders({ insecure: true, trustedIPs: [] }, 'http').isTrusted('192.0.2.1'), true);
  assert.equal(new ForwardedHeaders({ insecure: false, trustedIPs: [] }, 'http').isTrusted('192.0.2.1'), false);
});

test('Connection options drop the fields of the received message they name (RFC 9110 §7.6.1), not the ones the server needs', () => {
  const h: IncomingHttpHeaders = {
    host: 'gw.test',
    connection: 'X-Forwarded-For, x-real-ip,  X-Auth , keep-alive, Upgrade, TE, Content-Length',
    'x-forwarded-for': '203.0.113.9',
    'x-real-ip': '203.0.113.9',
    'x-auth': 'secret',
    'x-kept': '1',
    upgrade: 'websocket',
    te: 'trailers',
    'content-length': '3',
  };
  dropConnectionOptions(h);
  assert.deepEqual(Object.keys(h).sort(), ['connection', 'content-length', 'host', 'te', 'upgrade', 'x-kept']);
  const one: IncomingHttpHeaders = { connection: 'X-Auth', 'x-auth': 'a' };
  dropConnectionOptions(one);
  assert.equal(one['x-auth'], undefined);
  // Then the gateway adds its own: a client cannot strip them.
  new ForwardedHeaders({ insecure: false, trustedIPs: [] }, 'http').apply(h, '192.0.2.1');
  assert.equal(h['x-real-ip'], '192.0.2.1');
});
