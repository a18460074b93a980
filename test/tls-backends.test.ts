/**
 * TLS to backends (docs/tls.md "TLS to backends"): `https://` servers through
 * serversTransports — rootCAs, serverName, certificates (client certificate),
 * insecureSkipVerify (and its warning), peerCertURI, forwardingTimeouts,
 * maxIdleConnsPerHost — and HTTP/2 where the backend offers h2 by ALPN
 * (disableHTTP2 turns it off), against real node:https and node:http2 servers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { startGateway, listenLoopback, type TestGateway } from './support/gateway.js';
import { createClientCertPki, type ClientCertPki } from './support/client-certs.js';
import { send } from './support/http-request.js';

let pki: ClientCertPki;
let gw: TestGateway;
const servers: Array<HttpsServer | Http2SecureServer> = [];
const ports: Record<string, number> = {};

/** What a backend tells about the request: protocol, SNI, client certificate CN. */
function describe(req: IncomingMessage, res: ServerResponse): void {
  const sock = req.socket as TLSSocket;
  const peer = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : null;
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      httpVersion: req.httpVersion,
      servername: (sock as TLSSocket & { servername?: string | false }).servername ?? null,
      clientCN: peer !== null && peer.subject !== undefined ? peer.subject.CN : null,
    }),
  );
}

async function https(name: string, opts: Parameters<typeof createHttps>[0], handler = describe): Promise<void> {
  const s = createHttps(opts, handler);
  servers.push(s);
  ports[name] = await listenLoopback(s);
}

const transports = (): string => {
  const root = pki.file('root.crt');
  return `
  serversTransports:
    verified: { rootCAs: [${root}] }
    untrusted: {}
    insecure: { insecureSkipVerify: true }
    sni-open: { rootCAs: [${root}], serverName: open.test }
    sni-wrong: { rootCAs: [${root}], serverName: wrong.test }
    mtls:
      rootCAs: [${root}]
      certificates: [{ certFile: ${pki.file('client-chain.crt')}, keyFile: ${pki.file('client.key')} }]
    spiffe-ok: { rootCAs: [${root}], peerCertURI: "spiffe://example.com/backend" }
    spiffe-bad: { rootCAs: [${root}], peerCertURI: "spiffe://example.com/other" }
    slow: { rootCAs: [${root}], forwardingTimeouts: { responseHeaderTimeout: 300ms } }
    no-h2: { rootCAs: [${root}], disableHTTP2: true }
    idle: { rootCAs: [${root}], maxIdleConnsPerHost: 1 }`;
};

/** One router (Host `<name>.test`) and service per case: [name, backend, transport]. */
const CASES: Array<[string, string, string]> = [
  ['verified', 'h1', 'verified'],
  ['untrusted', 'h1', 'untrusted'],
  ['insecure', 'h1', 'insecure'],
  ['sni-open', 'h1', 'sni-open'],
  ['sni-wrong', 'h1', 'sni-wrong'],
  ['mtls', 'mtls', 'mtls'],
  ['mtls-none', 'mtls', 'verified'],
  ['spiffe-ok', 'spiffe', 'spiffe-ok'],
  ['spiffe-bad', 'spiffe', 'spiffe-bad'],
  ['spiffe-host', 'spiffe', 'verified'],
  ['slow', 'slow', 'slow'],
  ['h2', 'h2', 'verified'],
  ['no-h2', 'h2', 'no-h2'],
  ['idle', 'h1', 'idle'],
];

function config(): string {
  const routers = CASES.map(([n]) => `    ${n}: { rule: "Host(\`${n}.test\`)", service: ${n} }`).join('\n');
  const services = CASES.map(
    ([n, b, t]) =>
      `    ${n}:\n      loadBalancer:\n        serversTransport: ${t}\n        servers: [{ url: "https://127.0.0.1:${ports[b]}" }]`,
  ).join('\n');
  return `http:\n  routers:\n${routers}\n  services:\n${services}\n${transports()}\n`;
}

before(async () => {
  pki = createClientCertPki();
  writeFileSync(pki.file('client-chain.crt'), pki.clientCrt + pki.interCrt);
  const server = { key: pki.serverKey, cert: pki.serverCrt };
  await https('h1', server);
  await https('mtls', { ...server, ca: pki.rootCrt, requestCert: true, rejectUnauthorized: true });
  await https('spiffe', { key: readKey('spiffe.key'), cert: readKey('spiffe.crt') });
  await https('slow', server, (req, res) => {
    const t = setTimeout(() => describe(req, res), 2000);
    res.on('close', () => clearTimeout(t));
  });
  const h2 = createSecureServer({ ...server, allowHTTP1: true }, (req, res) =>
    describe(req as unknown as IncomingMessage, res as unknown as ServerResponse),
  );
  servers.push(h2);
  ports.h2 = await listenLoopback(h2);
  gw = await startGateway({ files: { 'dyn.yml': config() }, flags: ['--api.insecure'] });
});

function readKey(name: string): string {
  return readFileSync(pki.file(name), 'utf8');
}

after(async () => {
  await gw?.close();
  for (const s of servers) {
    (s as HttpsServer).closeAllConnections?.();
    s.close();
  }
  pki?.close();
});

async function get(host: string): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const r = await send(`${gw.url}/`, { headers: { host } });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: r.status, json };
}

test('rootCAs: a backend certificate signed by them is accepted; without them it is refused (502)', async () => {
  const ok = await get('verified.test');
  assert.equal(ok.status, 200);
  assert.equal(ok.json?.servername, false, 'no SNI for an IP address (Go: the URL host, not the Host header)');
  assert.equal((await get('untrusted.test')).status, 502);
});

test('insecureSkipVerify: no verification, and a warning on the transport in the API', async () => {
  assert.equal((await get('insecure.test')).status, 200);
  const svc = (await (await fetch(`${gw.admin}/api/http/services/insecure@file`)).json()) as { status: string; error?: string[] };
  assert.equal(svc.status, 'warning');
  assert.match(svc.error?.join('\n') ?? '', /serversTransport "insecure@file" has insecureSkipVerify on/);
  const other = (await (await fetch(`${gw.admin}/api/http/services/verified@file`)).json()) as { status: string };
  assert.equal(other.status, 'enabled');
});

test('serverName: sent as SNI and checked against the certificate', async () => {
  const ok = await get('sni-open.test');
  assert.equal(ok.status, 200);
  assert.equal(ok.json?.servername, 'open.test');
  assert.equal((await get('sni-wrong.test')).status, 502);
});

test('certificates: the client certificate (with its chain) a backend requiring one verifies', async () => {
  const ok = await get('mtls.test');
  assert.equal(ok.status, 200);
  assert.equal(ok.json?.clientCN, 'client one');
  assert.equal((await get('mtls-none.test')).status, 502);
});

test('peerCertURI: the URI SAN is required, the host name is not checked', async () => {
  assert.equal((await get('spiffe-ok.test')).status, 200);
  assert.equal((await get('spiffe-bad.test')).status, 502);
  assert.equal((await get('spiffe-host.test')).status, 502, 'without peerCertURI the host name (127.0.0.1) must match');
});

test('forwardingTimeouts.responseHeaderTimeout: a backend slower than it → 504', async () => {
  assert.equal((await get('slow.test')).status, 504);
});

test('HTTP/2 where the backend offers h2 by ALPN; HTTP/1.1 with disableHTTP2 or a backend without h2', async () => {
  const h2 = await get('h2.test');
  assert.equal(h2.status, 200);
  assert.equal(h2.json?.httpVersion, '2.0');
  const again = await get('h2.test');
  assert.equal(again.json?.httpVersion, '2.0', 'the pool keeps HTTP/2');
  assert.equal((await get('no-h2.test')).json?.httpVersion, '1.1');
  assert.equal((await get('verified.test')).json?.httpVersion, '1.1');
});

test('maxIdleConnsPerHost: accepted, requests flow', async () => {
  const all = await Promise.all([get('idle.test'), get('idle.test'), get('idle.test')]);
  assert.deepEqual(
    all.map((r) => r.status),
    [200, 200, 200],
  );
});
