import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../http/handler.js';
import { serveHandler } from '../../../test/support/handler-server.js';
import { send } from '../../../test/support/http-request.js';
import { compileSourceCriterion, type SourceCriterion } from './index.js';
import { maskIpv6 } from '../../net/ip.js';

/** Serve a handler that answers with the extracted key, and return it for the given headers. */
async function keyFor(sc: SourceCriterion | undefined, fallback: 'ip' | 'host', headers: Record<string, string>): Promise<string> {
  const extract = compileSourceCriterion(sc, fallback);
  const h: Handler = (ctx) => {
    ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
    ctx.rw.end(`[${extract(ctx)}]`);
  };
  const srv = await serveHandler(h);
  try {
    return (await send(`${srv.url}/x`, { headers })).body;
  } finally {
    await srv.close();
  }
}

test('default criterion: remote address for ip, host for host', async () => {
  assert.equal(await keyFor(undefined, 'ip', { 'x-forwarded-for': '9.9.9.9' }), '[127.0.0.1]');
  assert.equal(await keyFor({}, 'host', { host: 'Calc.Example.com:8080' }), '[calc.example.com]');
});

test('ipStrategy.depth picks from the right of X-Forwarded-For; too short gives empty', async () => {
  const xff = { 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 3.3.3.3' };
  assert.equal(await keyFor({ ipStrategy: { depth: 1 } }, 'ip', xff), '[3.3.3.3]');
  assert.equal(await keyFor({ ipStrategy: { depth: 3 } }, 'ip', xff), '[1.1.1.1]');
  assert.equal(await keyFor({ ipStrategy: { depth: 4 } }, 'ip', xff), '[]');
});

test('ipStrategy.excludedIPs skips trusted proxies from the right', async () => {
  const xff = { 'x-forwarded-for': '1.1.1.1, 10.0.0.5, 10.0.0.6' };
  assert.equal(await keyFor({ ipStrategy: { excludedIPs: ['10.0.0.0/8'] } }, 'ip', xff), '[1.1.1.1]');
  assert.equal(await keyFor({ ipStrategy: { excludedIPs: ['10.0.0.6'] } }, 'ip', xff), '[10.0.0.5]');
  assert.equal(await keyFor({ ipStrategy: { excludedIPs: ['0.0.0.0/0'] } }, 'ip', xff), '[]');
});

test('requestHeaderName uses the header value', async () => {
  assert.equal(await keyFor({ requestHeaderName: 'X-Tenant' }, 'ip', { 'x-tenant': 'acme' }), '[acme]');
  assert.equal(await keyFor({ requestHeaderName: 'X-Tenant' }, 'ip', {}), '[]');
});

test('ipv6Subnet groups IPv6 clients', async () => {
  assert.equal(
    await keyFor({ ipStrategy: { depth: 1, ipv6Subnet: 64 } }, 'ip', { 'x-forwarded-for': '2001:db8:1:2:aaaa::1' }),
    '[2001:db8:1:2::]',
  );
  assert.equal(maskIpv6('2001:db8:abcd:12:1:2:3:4', 48), '2001:db8:abcd::');
  assert.equal(maskIpv6('::ffff:1.2.3.4', 128), '::ffff:1.2.3.4', 'an IPv4-mapped address is IPv4: not masked');
  assert.equal(maskIpv6('1.2.3.4', 64), '1.2.3.4');
});

test('invalid criteria are rejected with the field name', () => {
  assert.throws(() => compileSourceCriterion({ ipStrategy: {}, requestHost: true }, 'ip'), /sourceCriterion: .*mutually exclusive/);
  assert.throws(() => compileSourceCriterion({ requestHeaderName: 'x', requestHost: true }, 'ip'), /mutually exclusive/);
  assert.throws(() => compileSourceCriterion({ ipStrategy: { excludedIPs: ['nope'] } }, 'ip'), /excludedIPs\[0\]: "nope"/);
  assert.throws(() => compileSourceCriterion({ ipStrategy: { excludedIPs: ['10.0.0.0/40'] } }, 'ip'), /prefix/);
});
