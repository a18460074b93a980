/**
 * Response bodies through the real gateway when the upstream pool lends its
 * read memory to the client's socket (src/upstream/raw/connection.ts,
 * `onResponseDataView` in src/upstream/proxy.ts, `flushed` in
 * src/server/h1/writer.ts): clients that stop reading make the gateway's
 * writes queue, and every byte must still arrive as the backend sent it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, get, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, listenLoopback, type TestGateway } from './support/gateway.js';

/** Deterministic bytes for (seed, size): every position differs between seeds. */
function blob(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// GET /blob/<seed>/<size>: the blob, written in 48 KiB pieces (several reads upstream).
const backend = createServer((req, res) => {
  const m = /^\/blob\/(\d+)\/(\d+)$/.exec(req.url ?? '');
  if (m === null) {
    res.writeHead(404).end();
    return;
  }
  const body = blob(Number(m[1]), Number(m[2]));
  res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
  let at = 0;
  const more = (): void => {
    while (at < body.length) {
      const piece = body.subarray(at, at + 48 * 1024);
      at += piece.length;
      if (!res.write(piece)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
});

let gw: TestGateway;

before(async () => {
  const port = await listenLoopback(backend);
  gw = await startGateway({
    adminEntryPoint: false,
    files: {
      'routes.yaml': `
http:
  routers:
    direct:
      rule: PathPrefix(\`/blob\`)
      service: blobs
    buffered:
      rule: PathPrefix(\`/buffered/blob\`)
      service: blobs
      middlewares: [strip, buffer]
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/buffered"]
    buffer:
      buffering:
        maxResponseBodyBytes: 16000000
  services:
    blobs:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`,
    },
  });
});

after(async () => {
  await gw.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

/** GET through the gateway; the client stops reading for `stallMs` after the head, then reads all. */
function fetchStalled(path: string, stallMs: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${gw.url}${path}`, { agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.pause();
      setTimeout(() => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.resume();
      }, stallMs);
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('a client that stalls: a 4 MiB body arrives byte for byte', async () => {
  const size = 4 * 1024 * 1024;
  const r = await fetchStalled(`/blob/1/${size}`, 300);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, size);
  assert.equal(sha(r.body), sha(blob(1, size)));
});

test('eight clients stalling at different times share the upstream pool: each gets its own bytes', async () => {
  const size = 1024 * 1024 + 12345;
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => fetchStalled(`/blob/${i + 10}/${size}`, 40 * i)));
  rs.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(sha(r.body), sha(blob(i + 10, size)), `client ${i} got bytes that are not its own`);
  });
});

test('a client that reads while others stall, then stalls itself mid-body, on reused upstream connections', async () => {
  const size = 2 * 1024 * 1024;
  for (let round = 0; round < 3; round++) {
    const stalled = fetchStalled(`/blob/${100 + round}/${size}`, 200);
    await sleep(20);
    const quick = await fetchStalled(`/blob/${200 + round}/${size}`, 0);
    assert.equal(sha(quick.body), sha(blob(200 + round, size)));
    assert.equal(sha((await stalled).body), sha(blob(100 + round, size)));
  }
});

test('a middleware that keeps chunks (buffering) gets copies: the body is whole', async () => {
  const size = 3 * 1024 * 1024;
  const r = await fetchStalled(`/buffered/blob/7/${size}`, 50);
  assert.equal(r.status, 200);
  assert.equal(sha(r.body), sha(blob(7, size)));
});
