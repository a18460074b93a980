import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { addNumbers, addServerMain, parseOperand, startAddServer } from './add-server.js';
import {
  CALCULATOR_SERVICE,
  HEALTH_SERVICE,
  LOADER_OPTIONS,
  calculatorDefinition,
  findPackageRoot,
  healthDefinition,
  serviceConstructor,
} from './proto.js';

async function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: string; replica: string | null; type: string | null }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text(), replica: res.headers.get('x-add-replica'), type: res.headers.get('content-type') };
}

test('addNumbers rounds away float noise and negative zero', () => {
  assert.equal(addNumbers(0.1, 0.2), 0.3);
  assert.equal(String(addNumbers(1.5, -2)), '-0.5');
  assert.equal(Object.is(addNumbers(-0, -0), 0), true);
  assert.equal(addNumbers(1e308, 1e308), Infinity);
  assert.ok(Number.isNaN(parseOperand('x')));
  assert.ok(Number.isNaN(parseOperand('1,5')));
  assert.ok(Number.isNaN(parseOperand('Infinity')));
  assert.ok(Number.isNaN(parseOperand('0x10')));
  assert.equal(parseOperand('%2D2'), -2);
  assert.equal(parseOperand('.5'), 0.5);
});

test('HTTP: sums, decimals, negatives, errors, health, replica header', async (t) => {
  const s = await startAddServer({ name: 'add-a', grpcPort: null });
  t.after(() => s.close());
  assert.equal(s.grpcAddress, null);
  const cases: Array<[string, number, string]> = [
    ['/add/10/10', 200, '20'],
    ['/add/1.5/-2', 200, '-0.5'],
    ['/add/0.1/0.2', 200, '0.3'],
    ['/add/-7/-3?x=1', 200, '-10'],
    ['/add/1e3/1', 200, '1001'],
    ['/add/x/1', 400, 'invalid number "x": expected a decimal like 10, -2 or 1.5\n'],
    ['/add/1/NaN', 400, 'invalid number "NaN": expected a decimal like 10, -2 or 1.5\n'],
    ['/add/1e308/1e308', 400, 'the sum is out of range\n'],
    ['/add/1', 400, 'expected /add/{a}/{b}, e.g. /add/10/10\n'],
    ['/add/1/2/3', 400, 'expected /add/{a}/{b}, e.g. /add/10/10\n'],
    ['/add', 400, 'expected /add/{a}/{b}, e.g. /add/10/10\n'],
    ['/healthz', 200, 'ok'],
    ['/', 404, 'not found: try /add/{a}/{b} or /healthz\n'],
    ['/addition/1/2', 404, 'not found: try /add/{a}/{b} or /healthz\n'],
  ];
  for (const [path, status, body] of cases) {
    const r = await get(s.httpUrl + path);
    assert.equal(r.status, status, path);
    assert.equal(r.body, body, path);
    assert.equal(r.replica, 'add-a', path);
    assert.equal(r.type, 'text/plain; charset=utf-8', path);
  }
  const long = await get(`${s.httpUrl}/add/${'9'.repeat(100)}/1`);
  assert.equal(long.status, 400);
  assert.ok(long.body.length < 120, 'echo of a bad operand is bounded');
  const post = await get(`${s.httpUrl}/add/1/2`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('replicas are told apart; default name carries the port', async (t) => {
  const a = await startAddServer({ grpcPort: null });
  const b = await startAddServer({ grpcPort: null });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.notEqual(a.name, b.name);
  assert.equal((await get(`${a.httpUrl}/add/1/1`)).replica, a.name);
  assert.ok(a.name.endsWith(`:${new URL(a.httpUrl).port}`));
});

test('a replica with a region names it in x-add-region on every answer; without one, no such header', async (t) => {
  const east = await startAddServer({ grpcPort: null, name: 'east-1', region: 'east' });
  const plain = await startAddServer({ grpcPort: null, name: 'add-1' });
  t.after(() => Promise.all([east.close(), plain.close()]));
  for (const path of ['/add/1/2', '/healthz', '/nope']) {
    const r = await fetch(east.httpUrl + path, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.headers.get('x-add-region'), 'east', path);
    assert.equal(r.headers.get('x-add-replica'), 'east-1', path);
  }
  const r = await fetch(`${plain.httpUrl}/add/1/2`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.headers.get('x-add-region'), null);
  assert.equal(await r.text(), '3');
});

test('the proto is found from the package root', () => {
  const root = findPackageRoot();
  assert.ok(root.length > 0);
  assert.ok(Object.keys(calculatorDefinition()).includes(CALCULATOR_SERVICE));
});

interface Calc extends grpc.Client {
  Add(
    req: { x: number; y: number },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: { sum: number }) => void,
  ): grpc.ClientUnaryCall;
}

function addCall(c: Calc, x: number, y: number): Promise<{ sum?: number; err?: grpc.ServiceError; replica?: string }> {
  return new Promise((resolve) => {
    let replica: string | undefined;
    const call = c.Add({ x, y }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, reply) =>
      resolve(err ? { err } : { ...(reply ? { sum: reply.sum } : {}), ...(replica ? { replica } : {}) }),
    );
    call.on('metadata', (md) => (replica = md.get('x-add-replica')[0] as string | undefined));
  });
}

test('gRPC: Add, INVALID_ARGUMENT, health, reflection', async (t) => {
  const s = await startAddServer({ name: 'add-g' });
  t.after(() => s.close());
  assert.ok(s.grpcAddress !== null);
  const Ctor = serviceConstructor(calculatorDefinition(), CALCULATOR_SERVICE);
  const calc = new Ctor(s.grpcAddress, grpc.credentials.createInsecure()) as unknown as Calc;
  t.after(() => calc.close());

  const r = await addCall(calc, 10, 10);
  assert.equal(r.sum, 20);
  assert.equal(r.replica, 'add-g');
  assert.equal((await addCall(calc, 1.5, -2)).sum, -0.5);
  assert.equal((await addCall(calc, 0.1, 0.2)).sum, 0.3);
  for (const [x, y] of [
    [NaN, 1],
    [1, Infinity],
    [-Infinity, 0],
    [1e308, 1e308],
  ] as const) {
    const bad = await addCall(calc, x, y);
    assert.equal(bad.err?.code, grpc.status.INVALID_ARGUMENT, `${x}+${y}`);
  }

  // Standard health service.
  const Health = serviceConstructor(healthDefinition(), HEALTH_SERVICE);
  const health = new Health(s.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, r?: { status: string }) => void): void;
  };
  t.after(() => health.close());
  const check = (service: string): Promise<{ status?: string; code?: number }> =>
    new Promise((resolve) =>
      health.Check({ service }, { deadline: Date.now() + 5000 }, (err, res) =>
        resolve(err ? { code: err.code } : { status: res?.status ?? '' }),
      ),
    );
  assert.deepEqual(await check(''), { status: 'SERVING' });
  assert.deepEqual(await check(CALCULATOR_SERVICE), { status: 'SERVING' });
  assert.deepEqual(await check('nope.Nope'), { code: grpc.status.NOT_FOUND });

  // Reflection (v1), with the client built from the reflection package's own proto.
  const reflProto = join(findPackageRoot(), 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const reflDef = protoLoader.loadSync(reflProto, LOADER_OPTIONS);
  const Refl = serviceConstructor(reflDef, 'grpc.reflection.v1.ServerReflection');
  const refl = new Refl(s.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo(opts: grpc.CallOptions): grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  };
  t.after(() => refl.close());
  const ask = (req: Record<string, unknown>): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const stream = refl.ServerReflectionInfo({ deadline: Date.now() + 5000 });
      stream.once('data', (d: Record<string, unknown>) => {
        resolve(d);
        stream.end();
      });
      stream.on('error', reject);
      stream.write(req);
    });
  const listed = (await ask({ list_services: '*' }))['list_services_response'] as { service: Array<{ name: string }> };
  const names = listed.service.map((x) => x.name);
  assert.ok(names.includes(CALCULATOR_SERVICE), names.join(','));
  assert.ok(names.includes(HEALTH_SERVICE), names.join(','));
  const file = (await ask({ file_containing_symbol: CALCULATOR_SERVICE }))['file_descriptor_response'] as {
    file_descriptor_proto: Buffer[];
  };
  assert.ok(file.file_descriptor_proto.length > 0);
  assert.ok(Buffer.concat(file.file_descriptor_proto).includes('AddRequest'));
});

test('addServerMain serves on the flag ports and stops when told', async () => {
  const probe = await startAddServer({ grpcPort: null });
  const port = Number(new URL(probe.httpUrl).port);
  await probe.close();
  const ctl = new AbortController();
  const done = addServerMain(['--http-port', String(port), '--grpc-port=off', '--name', 'main-1'], { LOG_LEVEL: 'silent' }, ctl.signal);
  let r: Awaited<ReturnType<typeof get>> | null = null;
  for (let i = 0; i < 50 && r === null; i++) {
    r = await get(`http://127.0.0.1:${port}/add/2/3`).catch(() => null);
    if (r === null) await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(r?.body, '5');
  assert.equal(r?.replica, 'main-1');
  ctl.abort();
  await done;
  await assert.rejects(get(`http://127.0.0.1:${port}/healthz`));
  await assert.rejects(addServerMain(['--htp-port', '1'], {}), /unknown flag --htp-port \(did you mean "http-port"\?\)/);
  await assert.rejects(addServerMain(['--http-port', '70000'], {}), /invalid HTTP port "70000"/);
});
