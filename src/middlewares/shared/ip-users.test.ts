/**
 * The shared IP range table run through every middleware option that takes
 * IP ranges: ipAllowList.sourceRange and ipStrategy.excludedIPs (ipAllowList,
 * and the sourceCriterion of rateLimit and inFlightReq). Built by `create` /
 * the compile function and run in process. ClientIP rules run the same table
 * in rules/shared-cases.test.ts, forwarded headers in server/forwarded.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../http/exchange.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import { IP_CASES, IP_ERRORS } from '../../net/ip.cases.js';
import { testDeps } from '../../../test/support/handler-server.js';
import { MiddlewareOptionError } from '../types.js';
import { middleware as ipAllowList } from '../ip-allow-list/index.js';
import { compileSourceCriterion } from '../source-criterion/index.js';

const writer: ResponseWriter = {
  headersSent: false,
  writeHead() {},
  write: () => true,
  end() {},
  onDrain() {},
  destroy() {},
  addTrailers() {},
};

function context(remoteIp: string, headers: Record<string, string> = {}): RequestContext {
  return new RequestContext(
    { method: 'GET', url: '/', headers: { host: 'gw.test', ...headers }, httpVersion: '1.1', httpVersionMajor: 1, socket: null },
    writer,
    {
      entryPoint: 'web',
      scheme: 'http',
      remoteIp,
      clientIp: remoteIp,
      host: 'gw.test',
      path: '/',
      query: '',
      start: 0,
    },
  );
}

test('ipAllowList.sourceRange lets through exactly the peers Go finds in the ranges', () => {
  for (const c of IP_CASES) {
    let passed = false;
    ipAllowList.create(
      { sourceRange: [...c.ranges] },
      testDeps(),
    )(() => {
      passed = true;
    })(context(c.addr));
    assert.equal(passed, c.in, `${c.addr} in ${c.ranges.join(', ')}`);
  }
});

test('ipStrategy.excludedIPs skips exactly the X-Forwarded-For entries Go finds in the ranges', () => {
  for (const c of IP_CASES) {
    // The strategy trims entries and splits on commas (Traefik's PoolStrategy) before checking.
    if (c.addr.trim() !== c.addr || c.addr.includes(',')) continue;
    const key = compileSourceCriterion({ ipStrategy: { excludedIPs: [...c.ranges] } }, 'ip');
    const got = key(context('192.0.2.99', { 'x-forwarded-for': c.addr }));
    assert.equal(got, c.in ? '' : c.addr, `${c.addr} in ${c.ranges.join(', ')}`);
  }
});

test('every IP option refuses what Go refuses, naming the field and the entry', () => {
  const builds: readonly [string, (entry: string) => unknown][] = [
    ['sourceRange[1]', (e) => ipAllowList.create({ sourceRange: ['10.0.0.0/8', e] }, testDeps())],
    [
      'ipStrategy.excludedIPs[1]',
      (e) => ipAllowList.create({ sourceRange: ['10.0.0.0/8'], ipStrategy: { excludedIPs: ['10.0.0.0/8', e] } }, testDeps()),
    ],
    ['sourceCriterion.ipStrategy.excludedIPs[1]', (e) => compileSourceCriterion({ ipStrategy: { excludedIPs: ['10.0.0.0/8', e] } }, 'ip')],
  ];
  for (const [field, build] of builds) {
    for (const c of IP_ERRORS) {
      assert.throws(
        () => build(c.range),
        (err: unknown) => {
          assert.ok(err instanceof MiddlewareOptionError, `${field} ${c.range}: ${String(err)}`);
          assert.equal(err.field, field, c.range);
          assert.match(err.message, c.error, `${field} ${c.range}: ${err.message}`);
          return true;
        },
      );
    }
  }
});
