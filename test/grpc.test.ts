/**
 * gRPC through the gateway: a real @grpc/grpc-js client speaks HTTP/2
 * cleartext (prior knowledge) to the entry point, the gateway forwards over
 * h2c:// to the calculator's gRPC port, trailers (grpc-status) come back.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { startAddServer, type RunningAddServer } from '../src/demo/add-server.js';
import { calculatorDefinition, serviceConstructor } from '../src/demo/proto.js';

let gw: TestGateway;
let add: RunningAddServer;

before(async () => {
  add = await startAddServer({ host: '127.0.0.1', httpPort: 0, grpcPort: 0, name: 'grpc-1' });
  gw = await startGateway({
    files: {
      'grpc.yaml': `
http:
  routers:
    calc-grpc:
      rule: PathPrefix(\`/calculator.Calculator/\`)
      service: calc-grpc
  services:
    calc-grpc:
      loadBalancer:
        servers: [{ url: "h2c://${add.grpcAddress}" }]
`,
    },
  });
});

after(async () => {
  await gw.close();
  await add.close();
});

function client(): grpc.Client & {
  Add: (req: { x: number; y: number }, cb: (err: grpc.ServiceError | null, res?: { sum: number }) => void) => void;
} {
  const Ctor = serviceConstructor(calculatorDefinition(), 'calculator.Calculator');
  return new Ctor(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'grpc.test' }) as never;
}

test('gRPC Add through the gateway (h2c both ways)', async () => {
  const c = client();
  const sum = await new Promise<number>((resolve, reject) =>
    c.Add({ x: 10, y: 10 }, (err, res) => (err !== null ? reject(err) : resolve(res!.sum))),
  );
  assert.equal(sum, 20);
  c.close();
});

test('gRPC errors keep their status from the trailers', async () => {
  const c = client();
  const err = await new Promise<grpc.ServiceError>((resolve) => c.Add({ x: Number.NaN, y: 1 }, (e) => resolve(e!)));
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  c.close();
});
