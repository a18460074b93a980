/**
 * gRPC inbound over TLS (ALPN h2) and over cleartext HTTP/2 (prior knowledge):
 * a real @grpc/grpc-js client → the gateway's entry point → an h2c:// backend
 * (a grpc-js server). Unary, server streaming, client streaming and
 * bidirectional streaming (ping-pong: a buffering proxy would deadlock), the
 * response headers and trailers (grpc-status, grpc-message, custom trailer
 * metadata) as the backend sent them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

/** A small contract with every kind of call (the demo's calculator has only a unary one). */
const PROTO: Parameters<typeof protoLoader.fromJSON>[0] = {
  nested: {
    echo: {
      nested: {
        Msg: { fields: { text: { type: 'string', id: 1 }, n: { type: 'int32', id: 2 } } },
        Echo: {
          methods: {
            Unary: { requestType: 'Msg', responseType: 'Msg', comment: '' },
            ServerStream: { requestType: 'Msg', responseType: 'Msg', responseStream: true, comment: '' },
            ClientStream: { requestType: 'Msg', responseType: 'Msg', requestStream: true, comment: '' },
            Bidi: { requestType: 'Msg', responseType: 'Msg', requestStream: true, responseStream: true, comment: '' },
          },
        },
      },
    },
  },
};

interface Msg {
  text: string;
  n: number;
}

type EchoClient = grpc.Client & {
  Unary(m: Msg, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientUnaryCall;
  ServerStream(m: Msg, md?: grpc.Metadata): grpc.ClientReadableStream<Msg>;
  ClientStream(cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientWritableStream<Msg>;
  Bidi(): grpc.ClientDuplexStream<Msg, Msg>;
};

const definition = protoLoader.fromJSON(PROTO, { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  echo: { Echo: grpc.ServiceClientConstructor };
};

let pki: TestPki;
let server: grpc.Server;
let gw: TestGateway;

function trailer(value: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-trailer', value);
  return md;
}

before(async () => {
  pki = createTestPki();
  server = new grpc.Server();
  server.addService(pkg.echo.Echo.service, {
    Unary(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      const head = new grpc.Metadata();
      head.set('x-header', 'unary');
      call.sendMetadata(head);
      if (call.request.text === 'fail')
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'asked to fail', metadata: trailer('failed') });
      else cb(null, { text: `echo ${call.request.text}`, n: call.request.n + 1 }, trailer('unary-done'));
    },
    ServerStream(call: grpc.ServerWritableStream<Msg, Msg>) {
      for (let i = 0; i < call.request.n; i++) call.write({ text: `${call.request.text} ${i}`, n: i });
      call.end(trailer(`sent ${call.request.n}`));
    },
    ClientStream(call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      let sum = 0;
      let count = 0;
      call.on('data', (m: Msg) => {
        sum += m.n;
        count++;
      });
      call.on('end', () => cb(null, { text: `got ${count}`, n: sum }, trailer(`sum ${sum}`)));
    },
    Bidi(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: `pong ${m.text}`, n: m.n }));
      call.on('end', () => call.end(trailer('bidi-done')));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p))),
  );
  const pem = (s: string): string =>
    s
      .trim()
      .split('\n')
      .map((l) => `          ${l}`)
      .join('\n');
  gw = await startGateway({
    files: {
      'grpc.yml': `
http:
  routers:
    echo:
      rule: PathPrefix(\`/echo.Echo/\`)
      service: echo
    echo-tls:
      rule: PathPrefix(\`/echo.Echo/\`)
      service: echo
      tls: {}
  services:
    echo:
      loadBalancer:
        servers: [{ url: "h2c://127.0.0.1:${port}" }]
tls:
  stores:
    default:
      defaultCertificate:
        certFile: |
${pem(pki.serverCrt)}
        keyFile: |
${pem(pki.serverKey)}
`,
    },
  });
});

after(async () => {
  await gw?.close();
  await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
  pki?.close();
});

const TRANSPORTS = [
  { name: 'TLS (ALPN h2)', creds: (): grpc.ChannelCredentials => grpc.credentials.createSsl(Buffer.from(pki.serverCrt)) },
  { name: 'h2c (prior knowledge)', creds: (): grpc.ChannelCredentials => grpc.credentials.createInsecure() },
];

function client(creds: grpc.ChannelCredentials): EchoClient {
  return new pkg.echo.Echo(`127.0.0.1:${gw.port}`, creds) as unknown as EchoClient;
}

/** The status of a call (grpc-status and the trailers), once it is over. */
function statusOf(call: { on(ev: 'status', f: (s: grpc.StatusObject) => void): unknown }): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on('status', resolve));
}

const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + 10_000 });

for (const t of TRANSPORTS) {
  test(`${t.name}: unary call, response headers and trailers`, async () => {
    const c = client(t.creds());
    try {
      let headers: grpc.Metadata | null = null;
      let status: Promise<grpc.StatusObject> | null = null;
      const reply = await new Promise<Msg>((resolve, reject) => {
        const call = c.Unary({ text: 'hi', n: 41 }, new grpc.Metadata(), (e, r) => (e !== null ? reject(e) : resolve(r!)));
        call.on('metadata', (md: grpc.Metadata) => (headers = md));
        status = statusOf(call);
      });
      assert.deepEqual(reply, { text: 'echo hi', n: 42 });
      const s = await status!;
      assert.equal(s.code, grpc.status.OK);
      assert.deepEqual(s.metadata.get('x-trailer'), ['unary-done']);
      assert.deepEqual((headers as grpc.Metadata | null)?.get('x-header'), ['unary']);
    } finally {
      c.close();
    }
  });

  test(`${t.name}: an error status and its trailer metadata come back`, async () => {
    const c = client(t.creds());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        c.Unary({ text: 'fail', n: 0 }, new grpc.Metadata(), (e) => (e !== null ? resolve(e) : reject(new Error('no error')))),
      );
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(err.details, 'asked to fail');
      assert.deepEqual(err.metadata.get('x-trailer'), ['failed']);
    } finally {
      c.close();
    }
  });

  test(`${t.name}: server streaming (50 messages) ends with its trailers`, async () => {
    const c = client(t.creds());
    try {
      const call = (c.ServerStream as (m: Msg, md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<Msg>)(
        { text: 'item', n: 50 },
        new grpc.Metadata(),
        deadline(),
      );
      const status = statusOf(call);
      const got: Msg[] = [];
      for await (const m of call as AsyncIterable<Msg>) got.push(m);
      assert.equal(got.length, 50);
      assert.deepEqual(got[49], { text: 'item 49', n: 49 });
      const s = await status;
      assert.equal(s.code, grpc.status.OK);
      assert.deepEqual(s.metadata.get('x-trailer'), ['sent 50']);
    } finally {
      c.close();
    }
  });

  test(`${t.name}: client streaming (100 messages) gets one reply and trailers`, async () => {
    const c = client(t.creds());
    try {
      let status: Promise<grpc.StatusObject> | null = null;
      const reply = await new Promise<Msg>((resolve, reject) => {
        const call = c.ClientStream((e, r) => (e !== null ? reject(e) : resolve(r!)));
        status = statusOf(call);
        for (let i = 1; i <= 100; i++) call.write({ text: '', n: i });
        call.end();
      });
      assert.deepEqual(reply, { text: 'got 100', n: 5050 });
      assert.deepEqual((await status!).metadata.get('x-trailer'), ['sum 5050']);
    } finally {
      c.close();
    }
  });

  test(`${t.name}: bidirectional streaming, ping-pong (each message waits for the previous answer)`, async () => {
    const c = client(t.creds());
    try {
      const call = c.Bidi();
      const status = statusOf(call);
      const answers: Msg[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stalled after ${answers.length} answers: a direction is buffered`)), 10_000);
        call.on('data', (m: Msg) => {
          answers.push(m);
          if (answers.length < 20) call.write({ text: `m${answers.length}`, n: answers.length });
          else {
            clearTimeout(timer);
            call.end();
            resolve();
          }
        });
        call.on('error', reject);
        call.write({ text: 'm0', n: 0 });
      });
      assert.deepEqual(
        answers.map((m) => m.text),
        Array.from({ length: 20 }, (_, i) => `pong m${i}`),
      );
      const s = await status;
      assert.equal(s.code, grpc.status.OK);
      assert.deepEqual(s.metadata.get('x-trailer'), ['bidi-done']);
    } finally {
      c.close();
    }
  });
}
