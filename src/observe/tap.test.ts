import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TapBus, formatTapLine, type TapEvent } from './tap.js';

function exchange(bus: TapBus, over: Partial<TapEvent> = {}, rsp: Partial<TapEvent> = {}, end: Partial<TapEvent> = {}): string {
  const id = bus.nextId();
  const base: TapEvent = {
    type: 'req',
    id,
    method: 'GET',
    authority: 'calc.local',
    path: '/add/1/2',
    status: 0,
    latencyMs: 0,
    router: 'calc@file',
    service: 'add-svc@file',
    server: 'http://10.0.0.1:80',
    caller: 'add-cli',
    source: '10.0.0.5:41234',
    grpcStatus: null,
    bytes: 0,
    requestHeaders: { authorization: 'Bearer secret-token', cookie: 'sid=1', 'x-api-key': 'k', accept: '*/*' },
    ...over,
  };
  bus.publish(base);
  bus.publish({
    ...base,
    type: 'rsp',
    status: 200,
    latencyMs: 2,
    responseHeaders: { 'set-cookie': ['a=b'], 'content-type': 'text/plain' },
    ...rsp,
  });
  bus.publish({ ...base, type: 'end', status: 200, latencyMs: 3, bytes: 2, ...rsp, ...end });
  return id;
}

test('hasSubscribers follows subscribe/unsubscribe; nothing is delivered without taps', () => {
  const bus = new TapBus();
  assert.equal(bus.hasSubscribers, false);
  exchange(bus);
  const got: TapEvent[] = [];
  const off = bus.subscribe({}, 100, (e) => got.push(e));
  assert.equal(bus.hasSubscribers, true);
  exchange(bus);
  assert.deepEqual(
    got.map((e) => e.type),
    ['req', 'rsp', 'end'],
  );
  assert.equal(got[0]!.requestHeaders, undefined, 'headers only on demand');
  off();
  assert.equal(bus.hasSubscribers, false);
  exchange(bus);
  assert.equal(got.length, 3);
});

test('request filters: router, service, caller, path prefix, method, authority', () => {
  const bus = new TapBus();
  const seen = (filter: Parameters<TapBus['subscribe']>[0]): string[] => {
    const ids: string[] = [];
    const off = bus.subscribe(filter, 1000, (e) => {
      if (e.type === 'req') ids.push(e.path + ' ' + e.method);
    });
    exchange(bus);
    exchange(bus, { path: '/health', router: 'health', service: 'ping@internal' });
    exchange(bus, { method: 'POST', caller: 'other', authority: 'CALC.other' });
    off();
    return ids;
  };
  assert.deepEqual(seen({ router: 'health' }), ['/health GET']);
  assert.deepEqual(seen({ service: 'add-svc@file' }), ['/add/1/2 GET', '/add/1/2 POST']);
  assert.deepEqual(seen({ caller: 'other' }), ['/add/1/2 POST']);
  assert.deepEqual(seen({ pathPrefix: '/add/' }), ['/add/1/2 GET', '/add/1/2 POST']);
  assert.deepEqual(seen({ method: 'post' }), ['/add/1/2 POST']);
  assert.deepEqual(seen({ authority: 'calc.other' }), ['/add/1/2 POST']);
});

test('response filters (--status 5xx, 404, --slower-than) deliver whole exchanges at end', () => {
  const bus = new TapBus();
  const got: TapEvent[] = [];
  const off1 = bus.subscribe({ status: '5xx' }, 1000, (e) => got.push(e));
  exchange(bus);
  const failed = exchange(bus, {}, { status: 503 });
  assert.deepEqual(
    got.map((e) => [e.type, e.id]),
    [
      ['req', failed],
      ['rsp', failed],
      ['end', failed],
    ],
  );
  off1();
  got.length = 0;
  const off2 = bus.subscribe({ status: '404' }, 1000, (e) => got.push(e));
  exchange(bus, {}, { status: 404 });
  exchange(bus, {}, { status: 403 });
  assert.deepEqual(
    got.map((e) => e.status),
    [0, 404, 404],
  );
  off2();
  got.length = 0;
  bus.subscribe({ slowerThanMs: 200 }, 1000, (e) => got.push(e));
  exchange(bus, {}, {}, { latencyMs: 150 });
  const slow = exchange(bus, {}, {}, { latencyMs: 250 });
  assert.deepEqual(
    got.map((e) => [e.type, e.id]),
    [
      ['req', slow],
      ['rsp', slow],
      ['end', slow],
    ],
  );
  assert.throws(() => bus.subscribe({ status: '5x' }, 10, () => {}), /status/);
  assert.throws(() => bus.subscribe({}, 0, () => {}), /maxRps/);
});

test('headers on demand are redacted (authorization, cookies, configured names)', () => {
  const bus = new TapBus({ sensitiveHeaders: ['X-Api-Key'] });
  const withH: TapEvent[] = [];
  const without: TapEvent[] = [];
  bus.subscribe({}, 100, (e) => withH.push(e), { headers: true });
  bus.subscribe({}, 100, (e) => without.push(e));
  exchange(bus);
  const req = withH[0]!;
  assert.deepEqual(req.requestHeaders, { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', accept: '*/*' });
  assert.deepEqual(withH[1]!.responseHeaders, { 'set-cookie': '[redacted]', 'content-type': 'text/plain' });
  assert.equal(without[0]!.requestHeaders, undefined);
  assert.equal(without[1]!.responseHeaders, undefined);
  assert.ok(!JSON.stringify([...withH, ...without]).includes('secret-token'));
});

test('per-subscriber rate cap', () => {
  let now = 1_000_000;
  const bus = new TapBus({ now: () => now });
  const fast: string[] = [];
  const slow: string[] = [];
  bus.subscribe({}, 1000, (e) => e.type === 'end' && fast.push(e.id));
  bus.subscribe({}, 5, (e) => e.type === 'end' && slow.push(e.id));
  for (let i = 0; i < 50; i++) exchange(bus);
  assert.equal(fast.length, 50);
  assert.equal(slow.length, 5, 'burst of maxRps, then capped');
  now += 1000;
  for (let i = 0; i < 50; i++) exchange(bus);
  assert.equal(slow.length, 10, 'refilled after one second');
});

test('formatTapLine in Linkerd style', () => {
  const bus = new TapBus();
  const lines: string[] = [];
  bus.subscribe({}, 100, (e) => lines.push(formatTapLine(e)));
  exchange(bus, { path: '/add.Calculator/Add', method: 'POST', grpcStatus: 0 }, { latencyMs: 1.5431 }, { latencyMs: 1.688 });
  assert.deepEqual(lines, [
    'req id=0:0 src=10.0.0.5:41234 dst=http://10.0.0.1:80 caller=add-cli :method=POST :authority=calc.local :path=/add.Calculator/Add router=calc@file service=add-svc@file',
    'rsp id=0:0 src=10.0.0.5:41234 dst=http://10.0.0.1:80 caller=add-cli :status=200 latency=1543µs router=calc@file service=add-svc@file',
    'end id=0:0 src=10.0.0.5:41234 dst=http://10.0.0.1:80 caller=add-cli grpc-status=OK duration=1688µs response-length=2B',
  ]);
});

test('a throwing consumer does not break publishing', () => {
  const bus = new TapBus();
  const got: string[] = [];
  bus.subscribe({}, 100, () => {
    throw new Error('boom');
  });
  bus.subscribe({}, 100, (e) => got.push(e.type));
  exchange(bus);
  assert.deepEqual(got, ['req', 'rsp', 'end']);
});
