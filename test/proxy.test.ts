/**
 * Proxy behaviour against real upstream servers: streaming, hop-by-hop
 * headers, forwarded headers, host handling, failures (502/503/504, aborted
 * responses), bad requests (400/431), WebSocket upgrades.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { startGateway, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
let up: Server;
let upPort = 0;
let lastHeaders: IncomingHttpHeaders = {};
let dead: number;

function listen(s: Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
}

before(async () => {
  up = createServer((req, res) => {
    lastHeaders = req.headers;
    if (req.url === '/echo') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        connection: 'keep-alive',
        'x-hop': 'drop-me',
        'keep-alive': 'timeout=5',
      });
      req.pipe(res);
      return;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 3000);
      return;
    }
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 97));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    if (req.url === '/big') {
      res.end(Buffer.alloc(1024 * 1024, 98));
      return;
    }
    res.end(JSON.stringify({ url: req.url, host: req.headers.host }));
  });
  // WebSocket echo (minimal RFC 6455 handshake + echo of raw frames)
  up.on('upgrade', (req, socket) => {
    const key = String(req.headers['sec-websocket-key']);
    const accept = createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(d));
  });
  upPort = await listen(up);
  const d = createServer();
  dead = await listen(d);
  await new Promise<void>((r) => d.close(() => r()));
  gw = await startGateway({
    files: {
      'routes.yaml': `
http:
  routers:
    main:
      rule: Host(\`app.test\`)
      service: app
    nohost:
      rule: Host(\`nohost.test\`)
      service: app-nohost
    fixed:
      rule: Host(\`fixed.test\`)
      service: app-fixed
    prefix:
      rule: Host(\`prefix.test\`)
      service: app-prefix
    down:
      rule: Host(\`down.test\`)
      service: refused
    empty:
      rule: Host(\`empty.test\`)
      service: empty
    slow:
      rule: Host(\`slow.test\`)
      service: slow
  services:
    app:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${upPort}" }]
    app-nohost:
      loadBalancer:
        passHostHeader: false
        servers: [{ url: "http://127.0.0.1:${upPort}" }]
    app-fixed:
      loadBalancer:
        hostHeader: backend.internal
        servers: [{ url: "http://127.0.0.1:${upPort}" }]
    app-prefix:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${upPort}/base" }]
    refused:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${dead}" }]
    empty:
      loadBalancer:
        servers: []
    slow:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${upPort}" }]
        serversTransport: short
  serversTransports:
    short:
      forwardingTimeouts:
        responseHeaderTimeout: 500ms
`,
    },
  });
});

after(async () => {
  await gw.close();
  up.closeAllConnections();
  up.close();
});

test('streams a request body up and the response back; hop-by-hop headers dropped', async () => {
  const body = Buffer.alloc(256 * 1024, 7);
  const res = await request(`${gw.url}/echo`, {
    method: 'POST',
    body,
    headers: { host: 'app.test', te: 'gzip', 'proxy-authorization': 'x' },
  });
  assert.equal(res.statusCode, 200);
  const got = Buffer.from(await res.body.arrayBuffer());
  assert.equal(got.length, body.length);
  assert.ok(got.equals(body));
  assert.notEqual(res.headers['keep-alive'], 'timeout=5', "the backend's Keep-Alive is hop-by-hop (the gateway sends its own)");
  assert.equal(lastHeaders['proxy-authorization'], undefined);
  assert.equal(lastHeaders.te, undefined);
});

test('a 1 MiB response arrives whole', async () => {
  const res = await request(`${gw.url}/big`, { headers: { host: 'app.test' } });
  assert.equal((await res.body.arrayBuffer()).byteLength, 1024 * 1024);
});

test('forwarded headers: untrusted X-Forwarded-* replaced, X-Forwarded-For appended', async () => {
  const res = await request(`${gw.url}/x`, {
    headers: { host: 'app.test', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil', 'x-real-ip': '6.6.6.6' },
  });
  await res.body.dump();
  assert.equal(lastHeaders['x-forwarded-for'], '127.0.0.1');
  assert.equal(lastHeaders['x-forwarded-host'], 'app.test');
  assert.equal(lastHeaders['x-real-ip'], '127.0.0.1');
  assert.equal(lastHeaders['x-forwarded-proto'], 'http');
  assert.equal(lastHeaders['x-forwarded-port'], '80', 'no port in Host: the scheme default');
  assert.ok(typeof lastHeaders['x-forwarded-server'] === 'string');
});

test('passHostHeader false sends the server host; hostHeader overrides; server URL path is a prefix', async () => {
  let r = await request(`${gw.url}/a?b=1`, { headers: { host: 'nohost.test' } });
  assert.deepEqual(await r.body.json(), { url: '/a?b=1', host: `127.0.0.1:${upPort}` });
  r = await request(`${gw.url}/a`, { headers: { host: 'fixed.test' } });
  assert.deepEqual(await r.body.json(), { url: '/a', host: 'backend.internal' });
  r = await request(`${gw.url}/a`, { headers: { host: 'prefix.test' } });
  assert.deepEqual(await r.body.json(), { url: '/base/a', host: 'prefix.test' });
});

test('connection refused → 502, no servers → 503, header timeout → 504', async () => {
  let r = await request(`${gw.url}/`, { headers: { host: 'down.test' } });
  assert.equal(r.statusCode, 502);
  assert.equal(await r.body.text(), 'Bad Gateway');
  r = await request(`${gw.url}/`, { headers: { host: 'empty.test' } });
  assert.equal(r.statusCode, 503);
  await r.body.dump();
  const t0 = Date.now();
  r = await request(`${gw.url}/slow`, { headers: { host: 'slow.test' } });
  assert.equal(r.statusCode, 504);
  await r.body.dump();
  assert.ok(Date.now() - t0 < 2500, 'responseHeaderTimeout bounded the wait');
});

test('a backend that closes mid-response gives the client an aborted response, not a clean 200', async () => {
  const r = await request(`${gw.url}/cut`, { headers: { host: 'app.test' } });
  assert.equal(r.statusCode, 200);
  await assert.rejects(r.body.arrayBuffer());
});

function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(data));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    setTimeout(() => s.destroy(), 2000);
  });
}

test('malformed request line → 400 and the connection closes', async () => {
  const out = await raw(gw.port, 'GARBAGE\r\n\r\n');
  assert.match(out, /^HTTP\/1\.1 400 /);
});

test('headers named in Connection are not forwarded', async () => {
  const out = await raw(
    gw.port,
    'GET /conn HTTP/1.1\r\nHost: app.test\r\nConnection: close, X-Private\r\nX-Private: secret\r\nX-Public: yes\r\n\r\n',
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.equal(lastHeaders['x-private'], undefined);
  assert.equal(lastHeaders['x-public'], 'yes');
});

test('oversized headers → 431', async () => {
  const out = await raw(gw.port, `GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(out, /^HTTP\/1\.1 431 /);
});

test('WebSocket upgrade is proxied both ways', async () => {
  const out = await new Promise<string>((resolve) => {
    const s = connect(gw.port, '127.0.0.1', () => {
      s.write(
        'GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    let buf = '';
    let sent = false;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (!sent && buf.includes('\r\n\r\n')) {
        sent = true;
        s.write('hello-frame');
      }
      if (buf.includes('hello-frame')) {
        s.destroy();
        resolve(buf);
      }
    });
    setTimeout(() => {
      s.destroy();
      resolve(buf);
    }, 3000);
  });
  assert.match(out, /^HTTP\/1\.1 101 Switching Protocols/);
  assert.match(out, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  assert.ok(out.endsWith('hello-frame'));
});
