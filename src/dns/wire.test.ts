import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { encodeName, readName, recordPositions, tcpExchange } from './wire.js';
import { DnsError } from './types.js';
import dnsPacket from 'dns-packet';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DnsError, String(err));
    return err.reason;
  }
  assert.fail('expected an error');
}

async function rejection(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DnsError, String(err));
    return err;
  }
  assert.fail('expected a rejection');
}

async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

async function close(l: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const s of l.sockets) s.destroy();
  await new Promise<void>((r) => l.server.close(() => r()));
}

test('encodeName: canonical (lower case, no trailing dot needed), limits enforced', () => {
  assert.deepEqual(encodeName('App.Example.TEST.'), Buffer.from('\x03app\x07example\x04test\x00', 'latin1'));
  assert.deepEqual(encodeName('.'), Buffer.from([0]));
  assert.deepEqual(encodeName('_acme-challenge.x'), Buffer.from('\x0f_acme-challenge\x01x\x00', 'latin1'));
  assert.equal(
    reasonOf(() => encodeName('a..b')),
    'BAD_NAME',
  );
  assert.equal(
    reasonOf(() => encodeName(`${'a'.repeat(64)}.test`)),
    'BAD_NAME',
  );
  assert.equal(
    reasonOf(() => encodeName(Array.from({ length: 130 }, () => 'ab').join('.'))),
    'BAD_NAME',
  );
  assert.equal(
    reasonOf(() => encodeName('sp ace.test')),
    'BAD_NAME',
  );
  assert.equal(
    reasonOf(() => encodeName('é.test')),
    'BAD_NAME',
  );
});

test('readName follows compression pointers and refuses loops and overruns', () => {
  const msg = Buffer.from('\x07example\x04test\x00\x03app\xc0\x00', 'latin1');
  assert.deepEqual(readName(msg, 0), { name: 'example.test', next: 14 });
  assert.deepEqual(readName(msg, 14), { name: 'app.example.test', next: 20 });
  assert.equal(
    reasonOf(() => readName(Buffer.from([0xc0, 0x00]), 0)),
    'BAD_RESPONSE',
  );
  assert.equal(
    reasonOf(() => readName(Buffer.from([5, 0x61]), 0)),
    'BAD_RESPONSE',
  );
});

test('recordPositions finds every record and refuses trailing bytes', () => {
  const msg = dnsPacket.encode({
    type: 'response',
    id: 1,
    questions: [{ type: 'A', name: 'a.test', class: 'IN' }],
    answers: [{ type: 'A', name: 'a.test', ttl: 1, data: '192.0.2.1' }],
    additionals: [{ type: 'TXT', name: 'a.test', ttl: 1, data: ['x'] }],
  });
  const recs = recordPositions(msg);
  assert.deepEqual(
    recs.map((r) => [r.name, r.type]),
    [
      ['a.test', 1],
      ['a.test', 16],
    ],
  );
  assert.equal(recs[1]?.end, msg.length);
  assert.equal(
    reasonOf(() => recordPositions(Buffer.concat([msg, Buffer.from([0])]))),
    'BAD_RESPONSE',
  );
  assert.equal(
    reasonOf(() => recordPositions(msg.subarray(0, msg.length - 1))),
    'BAD_RESPONSE',
  );
});

test('tcpExchange: length-prefixed frames, split and coalesced across TCP chunks', async () => {
  const frames = [Buffer.from('first'), Buffer.from('second message'), Buffer.from('third')];
  const l = await listen((s) => {
    s.once('data', (d) => {
      assert.equal(d.readUInt16BE(0), d.length - 2);
      const wire = Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), f]));
      // One byte, then the rest in two pieces: the reader must reassemble.
      s.write(wire.subarray(0, 1));
      setTimeout(() => s.write(wire.subarray(1, 9)), 20);
      setTimeout(() => s.write(wire.subarray(9)), 40);
    });
  });
  try {
    const got: string[] = [];
    await tcpExchange({
      host: '127.0.0.1',
      port: l.port,
      request: Buffer.from('hello'),
      idleTimeoutMs: 2000,
      deadlineMs: 5000,
      onMessage: (m) => got.push(m.toString()) === 3,
    });
    assert.deepEqual(got, ['first', 'second message', 'third']);
  } finally {
    await close(l);
  }
});

test('tcpExchange: a server that never answers is a TIMEOUT; a closed port UNREACHABLE; an early close CLOSED', async () => {
  const silent = await listen(() => {});
  try {
    const err = await rejection(
      tcpExchange({
        host: '127.0.0.1',
        port: silent.port,
        request: Buffer.from('x'),
        idleTimeoutMs: 200,
        deadlineMs: 5000,
        onMessage: () => true,
      }),
    );
    assert.equal(err.reason, 'TIMEOUT');
    const err2 = await rejection(
      tcpExchange({
        host: '127.0.0.1',
        port: silent.port,
        request: Buffer.from('x'),
        idleTimeoutMs: 5000,
        deadlineMs: 200,
        onMessage: () => true,
      }),
    );
    assert.equal(err2.reason, 'TIMEOUT');
  } finally {
    await close(silent);
  }
  const closing = await listen((s) => s.end());
  const port = closing.port;
  try {
    const err = await rejection(
      tcpExchange({ host: '127.0.0.1', port, request: Buffer.from('x'), idleTimeoutMs: 2000, deadlineMs: 2000, onMessage: () => true }),
    );
    assert.equal(err.reason, 'CLOSED');
  } finally {
    await close(closing);
  }
  const err = await rejection(
    tcpExchange({ host: '127.0.0.1', port, request: Buffer.from('x'), idleTimeoutMs: 2000, deadlineMs: 2000, onMessage: () => true }),
  );
  assert.equal(err.reason, 'UNREACHABLE');
});

test('tcpExchange: answers past maxBytes are TOO_LARGE; an oversized request is refused before connecting', async () => {
  const big = await listen((s) => {
    s.once('data', () => {
      const f = Buffer.alloc(60_000);
      const framed = Buffer.concat([Buffer.from([f.length >> 8, f.length & 0xff]), f]);
      for (let i = 0; i < 5; i++) s.write(framed);
    });
  });
  try {
    const err = await rejection(
      tcpExchange({
        host: '127.0.0.1',
        port: big.port,
        request: Buffer.from('x'),
        idleTimeoutMs: 2000,
        deadlineMs: 5000,
        maxBytes: 100_000,
        onMessage: () => false,
      }),
    );
    assert.equal(err.reason, 'TOO_LARGE');
  } finally {
    await close(big);
  }
  const err = await rejection(
    tcpExchange({ host: '127.0.0.1', port: 9, request: Buffer.alloc(70_000), idleTimeoutMs: 100, deadlineMs: 100, onMessage: () => true }),
  );
  assert.equal(err.reason, 'TOO_LARGE');
});

test('tcpExchange: an error thrown by onMessage ends the exchange with that error', async () => {
  const l = await listen((s) => s.once('data', () => s.write(Buffer.from([0, 1, 0x41]))));
  try {
    const err = await rejection(
      tcpExchange({
        host: '127.0.0.1',
        port: l.port,
        request: Buffer.from('x'),
        idleTimeoutMs: 2000,
        deadlineMs: 2000,
        onMessage: () => {
          throw new DnsError('nope', 'BADSIG');
        },
      }),
    );
    assert.equal(err.reason, 'BADSIG');
  } finally {
    await close(l);
  }
});
