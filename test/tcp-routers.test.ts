/**
 * TCP routers (docs/tcp.md) on real sockets: passthrough by SNI (the client sees
 * the backend's certificate, checked with `openssl s_client`), TLS termination
 * to a plain backend, the `HostSNI(\`*\`)` catch-all for a server-speaks-first
 * protocol, ClientIP, ipAllowList and inFlightConn refusals, weighted services,
 * PROXY protocol v1 and v2 to backends (parsed by a tiny parser here), inbound
 * PROXY protocol from trusted and untrusted peers, and HTTP(S) routing unchanged
 * on the same entry point when no TCP router matches.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTls, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve, type RunningGatehouse } from '../src/server/serve.js';
import { silentLogger } from '../src/log.js';
import { eventually, listenLoopback } from './support/gateway.js';

let dir: string;
let running: RunningGatehouse;
const servers: Array<NetServer | HttpServer> = [];
const ports: Record<string, number> = {};
let web = 0;
let tcpep = 0;
let ppin = 0;

function ssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A self-signed EC certificate `name`.crt/.key with CN `cn` and the given SANs. */
function selfSigned(name: string, cn: string, san: string): void {
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    `subjectAltName=${san}`,
  );
}

async function serveNet(name: string, onConn: (s: Socket) => void): Promise<void> {
  const srv = createNet({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    onConn(s);
  });
  servers.push(srv);
  ports[name] = await listenLoopback(srv);
}

/** Echo with a prefix: `<prefix>:<bytes>`. */
function echo(prefix: string): (s: Socket) => void {
  return (s) => {
    s.on('data', (d: Buffer) => s.write(`${prefix}:${d.toString()}`));
    s.on('end', () => s.end());
  };
}

/** The tiny PROXY parser of a backend: v1 line or v2 IPv4/IPv6 header, then echo. */
function proxyAware(s: Socket): void {
  let buf = Buffer.alloc(0);
  let parsed = false;
  s.on('data', (d: Buffer) => {
    if (parsed) {
      s.write(`data:${d.toString()}`);
      return;
    }
    buf = Buffer.concat([buf, d]);
    let info: string | null = null;
    let used = 0;
    if (buf.subarray(0, 6).toString('latin1') === 'PROXY ') {
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      const [, fam, src, , sport] = buf.subarray(0, end).toString('latin1').split(' ');
      info = `v1 ${fam} ${src} ${sport}`;
      used = end + 2;
    } else if (buf.length >= 16 && buf.subarray(0, 12).equals(Buffer.from('0d0a0d0a000d0a515549540a', 'hex'))) {
      const len = buf.readUInt16BE(14);
      if (buf.length < 16 + len) return;
      const fam = buf[13];
      if (fam === 0x11) info = `v2 TCP4 ${[...buf.subarray(16, 20)].join('.')} ${buf.readUInt16BE(24)}`;
      else info = `v2 fam=${fam}`;
      used = 16 + len;
    } else info = 'none';
    parsed = true;
    s.write(`pp:${info}\n`);
    const rest = buf.subarray(used);
    if (rest.length > 0) s.write(`data:${rest.toString()}`);
  });
  s.on('end', () => s.end());
}

interface Talk {
  data: string;
  closed: boolean;
  cn?: string;
  alpn?: string | false;
}

/** Open a connection (TLS when `servername` is given), send, read until `until` is seen, the connection ends, or `ms` pass. */
function talk(
  port: number,
  opts: { servername?: string; send?: string; until?: string; ms?: number; alpn?: string[]; localAddress?: string; raw?: Buffer },
): Promise<Talk> {
  return new Promise((resolve) => {
    let data = '';
    let cn: string | undefined;
    let alpn: string | false | undefined;
    let settled = false;
    const s: Socket | TLSSocket =
      opts.servername !== undefined
        ? tlsConnect({
            host: '127.0.0.1',
            port,
            servername: opts.servername,
            rejectUnauthorized: false,
            ...(opts.alpn !== undefined ? { ALPNProtocols: opts.alpn } : {}),
          })
        : netConnect({ host: '127.0.0.1', port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data, closed, ...(cn !== undefined ? { cn } : {}), ...(alpn !== undefined ? { alpn } : {}) });
    };
    const timer = setTimeout(() => done(false), opts.ms ?? 3000);
    const start = (): void => {
      if (s instanceof Object && 'getPeerCertificate' in s) {
        const t = s as TLSSocket;
        cn = String(t.getPeerCertificate().subject?.CN ?? '');
        alpn = t.alpnProtocol ?? false;
      }
      if (opts.raw !== undefined) s.write(opts.raw);
      if (opts.send !== undefined) s.write(opts.send);
    };
    if (opts.servername !== undefined) s.once('secureConnect', start);
    else s.once('connect', start);
    s.on('data', (d: Buffer) => {
      data += d.toString();
      if (opts.until !== undefined && data.includes(opts.until)) done(false);
    });
    s.on('error', () => done(true));
    s.on('close', () => done(true));
  });
}

function sClient(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername],
      { timeout: 15_000 },
      (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end();
  });
}

function config(): string {
  return `
http:
  routers:
    plainhttp:
      entryPoints: [web, ppin]
      rule: Host(\`http.test\`)
      service: httpb
    securehttp:
      entryPoints: [web, ppin]
      rule: Host(\`https.test\`)
      service: httpb
      tls: {}
  services:
    httpb:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${ports.http}" }]
tls:
  certificates:
    - certFile: ${join(dir, 'gw.crt')}
      keyFile: ${join(dir, 'gw.key')}
tcp:
  routers:
    pass:
      entryPoints: [web]
      rule: HostSNI(\`pass.test\`)
      service: tlsback
      tls: { passthrough: true }
    term:
      entryPoints: [web]
      rule: HostSNI(\`term.test\`) || HostSNI(\`https-shadow.test\`)
      service: plain
      tls: {}
    alpn:
      entryPoints: [web]
      rule: HostSNI(\`alpn.test\`) && ALPN(\`x-proto\`)
      service: plain2
      tls: {}
    nearby:
      entryPoints: [web]
      rule: HostSNI(\`cip.test\`) && ClientIP(\`10.0.0.0/8\`)
      service: plain
      tls: {}
    deny:
      entryPoints: [web]
      rule: HostSNI(\`deny.test\`)
      middlewares: [only-ten]
      service: plain
      tls: {}
    limit:
      entryPoints: [web]
      rule: HostSNI(\`limit.test\`)
      middlewares: [one-conn]
      service: plain
      tls: {}
    wrr:
      entryPoints: [web]
      rule: HostSNI(\`weighted.test\`)
      service: wrr
      tls: {}
    pp1:
      entryPoints: [web]
      rule: HostSNI(\`pp1.test\`)
      service: pp1
      tls: {}
    pp2:
      entryPoints: [web]
      rule: HostSNI(\`pp2.test\`)
      service: pp2
      tls: {}
    smtp:
      entryPoints: [tcpep]
      rule: HostSNI(\`*\`)
      service: smtp
    inbound:
      entryPoints: [ppin]
      rule: HostSNI(\`*\`) && ClientIP(\`203.0.113.7\`)
      service: pp2
    broken:
      entryPoints: [web]
      rule: HostSNI(\`nottls.test\`)
      service: plain
  middlewares:
    only-ten:
      ipAllowList: { sourceRange: [10.0.0.0/8] }
    one-conn:
      inFlightConn: { amount: 1 }
  services:
    tlsback:
      loadBalancer: { servers: [{ address: "127.0.0.1:${ports.tls}" }] }
    plain:
      loadBalancer: { servers: [{ address: "127.0.0.1:${ports.plain}" }] }
    plain2:
      loadBalancer: { servers: [{ address: "127.0.0.1:${ports.plain2}" }] }
    smtp:
      loadBalancer: { servers: [{ address: "127.0.0.1:${ports.smtp}" }] }
    pp1:
      loadBalancer:
        servers: [{ address: "127.0.0.1:${ports.pp}" }]
        proxyProtocol: { version: 1 }
    pp2:
      loadBalancer:
        servers: [{ address: "127.0.0.1:${ports.pp}" }]
        proxyProtocol: { version: 2 }
    wrr:
      weighted:
        services: [{ name: plain, weight: 3 }, { name: plain2, weight: 1 }]
`;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tcp-'));
  selfSigned('backend', 'backend.test', 'DNS:pass.test');
  selfSigned('gw', 'gw.test', 'DNS:*.test');
  const tlsSrv = createTls({ cert: readFileSync(join(dir, 'backend.crt')), key: readFileSync(join(dir, 'backend.key')) }, (s) => {
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`tls-backend:${d.toString()}`));
  });
  servers.push(tlsSrv);
  ports.tls = await listenLoopback(tlsSrv);
  await serveNet('plain', echo('plain'));
  await serveNet('plain2', echo('plain2'));
  await serveNet('pp', proxyAware);
  await serveNet('smtp', (s) => {
    s.write('220 smtp.test ready\r\n');
    s.on('data', (d: Buffer) => s.write(`250 ${d.toString()}`));
    s.on('end', () => s.end());
  });
  const http = createHttp((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ host: req.headers.host, xff: req.headers['x-forwarded-for'] ?? null, proto: req.headers['x-forwarded-proto'] }),
    );
  });
  servers.push(http);
  ports.http = await listenLoopback(http);

  const root = join(dir, 'gw');
  const conf = join(root, 'conf');
  mkdirSync(conf, { recursive: true });
  writeFileSync(join(conf, 'dyn.yml'), config());
  const cfg = parseStaticConfig({
    argv: [
      '--entrypoints.web.address=127.0.0.1:0',
      '--entrypoints.tcpep.address=127.0.0.1:0',
      '--entrypoints.ppin.address=127.0.0.1:0',
      '--entrypoints.traefik.address=127.0.0.1:0',
      `--providers.file.directory=${conf}`,
      '--providers.providersThrottleDuration=0s',
      '--log.level=ERROR',
      // One serving process: inFlightConn counts per process (docs/tcp.md).
      '--workers=1',
      `--datadir=${join(root, 'data')}`,
    ],
    env: {},
    cwd: root,
  });
  const o = serveOptionsFromStatic(cfg, root);
  // entryPoints.ppin.proxyProtocol.trustedIPs=127.0.0.1/32 (the static schema line is the lead's: set on the spec here).
  const spec = o.entryPoints.find((e) => e.name === 'ppin')!;
  spec.proxyProtocol = { trustedIPs: ['127.0.0.1/32'], insecure: false };
  running = await serve(o, { log: silentLogger });
  web = running.addresses.web!.port;
  tcpep = running.addresses.tcpep!.port;
  ppin = running.addresses.ppin!.port;
  // The first snapshot (and the TLS material) is in force once a TCP router answers.
  assert.ok(
    await eventually(
      async () => (await talk(web, { servername: 'term.test', send: 'x', until: 'plain:x', ms: 500 })).data === 'plain:x',
      8000,
    ),
  );
});

after(async () => {
  await running?.close();
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('passthrough by SNI: openssl s_client sees the backend certificate, bytes reach the TLS backend', async () => {
  const out = await sClient(web, 'pass.test');
  assert.match(out, /CN ?= ?backend\.test/);
  assert.doesNotMatch(out, /CN ?= ?gw\.test/);
  const t = await talk(web, { servername: 'pass.test', send: 'hello', until: 'tls-backend:hello' });
  assert.equal(t.cn, 'backend.test');
  assert.equal(t.data, 'tls-backend:hello');
});

test('termination: the gateway certificate, bytes reach a plain backend', async () => {
  const out = await sClient(web, 'term.test');
  assert.match(out, /CN ?= ?gw\.test/);
  const t = await talk(web, { servername: 'term.test', send: 'ping', until: 'plain:ping' });
  assert.equal(t.cn, 'gw.test');
  assert.equal(t.data, 'plain:ping');
});

test('HostSNI(`*`) catch-all without TLS: routed before the client speaks (server-speaks-first)', async () => {
  const t = await talk(tcpep, { until: 'ready\r\n' });
  assert.equal(t.data, '220 smtp.test ready\r\n');
  const t2 = await talk(tcpep, { send: 'EHLO x\r\n', until: '250 EHLO x\r\n' });
  assert.equal(t2.data, '220 smtp.test ready\r\n250 EHLO x\r\n');
});

test('HTTP and HTTPS routing unchanged on the same entry point when no TCP router matches', async () => {
  const plain = await talk(web, { send: 'GET / HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n', until: '}' });
  assert.match(plain.data, /^HTTP\/1\.1 200/);
  assert.match(plain.data, /"host":"http.test"/);
  const secure = await talk(web, {
    servername: 'https.test',
    send: 'GET / HTTP/1.1\r\nHost: https.test\r\nConnection: close\r\n\r\n',
    until: '}',
  });
  assert.equal(secure.cn, 'gw.test');
  assert.match(secure.data, /^HTTP\/1\.1 200/);
  assert.match(secure.data, /"proto":"https"/);
  // An SNI no TCP router names: HTTPS, and its 404.
  const other = await talk(web, {
    servername: 'nobody.test',
    send: 'GET / HTTP/1.1\r\nHost: nobody.test\r\nConnection: close\r\n\r\n',
    until: '\r\n\r\n',
  });
  assert.match(other.data, /^HTTP\/1\.1 404/);
});

test('ALPN and ClientIP matchers', async () => {
  const withAlpn = await talk(web, { servername: 'alpn.test', alpn: ['x-proto'], send: 'a', until: 'plain2:a' });
  assert.equal(withAlpn.data, 'plain2:a');
  // Without the protocol the router does not match: HTTPS takes the connection (and answers the bytes as HTTP).
  const without = await talk(web, {
    servername: 'alpn.test',
    alpn: ['http/1.1'],
    send: 'GET / HTTP/1.1\r\nHost: alpn.test\r\n\r\n',
    until: '\r\n\r\n',
  });
  assert.match(without.data, /^HTTP\/1\.1 404/);
  // ClientIP(10.0.0.0/8) does not match 127.0.0.1: HTTPS.
  const cip = await talk(web, { servername: 'cip.test', send: 'GET / HTTP/1.1\r\nHost: cip.test\r\n\r\n', until: '\r\n\r\n' });
  assert.match(cip.data, /^HTTP\/1\.1 404/);
});

test('ipAllowList refuses (closes) a client outside its ranges', async () => {
  const t = await talk(web, { servername: 'deny.test', send: 'x', ms: 3000 });
  assert.equal(t.closed, true);
  assert.equal(t.data, '');
});

test('inFlightConn: a second simultaneous connection from the same IP is closed; after the first ends, one is accepted again', async () => {
  const first = tlsConnect({ host: '127.0.0.1', port: web, servername: 'limit.test', rejectUnauthorized: false });
  first.on('error', () => undefined);
  const got = new Promise<string>((r) => first.once('data', (d: Buffer) => r(d.toString())));
  await new Promise<void>((r) => first.once('secureConnect', () => r()));
  first.write('one');
  assert.equal(await got, 'plain:one');
  const second = await talk(web, { servername: 'limit.test', send: 'two', ms: 3000 });
  assert.equal(second.closed, true);
  assert.equal(second.data, '');
  first.destroy();
  assert.ok(
    await eventually(
      async () => (await talk(web, { servername: 'limit.test', send: 'three', until: 'plain:three', ms: 1000 })).data === 'plain:three',
    ),
  );
});

test('weighted: 3:1 over two load balancers', async () => {
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const t = await talk(web, { servername: 'weighted.test', send: 'w', until: ':w' });
    seen.push(t.data.split(':')[0] as string);
  }
  assert.equal(seen.filter((s) => s === 'plain').length, 6);
  assert.equal(seen.filter((s) => s === 'plain2').length, 2);
});

test('PROXY protocol v1 and v2 to the backend carry the client address', async () => {
  const v1 = await talk(web, { servername: 'pp1.test', send: 'a', until: 'data:a' });
  assert.match(v1.data, /^pp:v1 TCP4 127\.0\.0\.1 \d+\n/);
  const v2 = await talk(web, { servername: 'pp2.test', send: 'b', until: 'data:b' });
  assert.match(v2.data, /^pp:v2 TCP4 127\.0\.0\.1 \d+\n/);
});

test('inbound PROXY protocol: used from a trusted peer, ignored from an untrusted one', async () => {
  const header = 'PROXY TCP4 203.0.113.7 192.0.2.1 40000 80\r\n';
  // Trusted (127.0.0.1): the client is 203.0.113.7, so the ClientIP router takes it and passes the address on (v2).
  const trusted = await talk(ppin, { raw: Buffer.from(header), send: 'hi', until: 'data:hi' });
  assert.match(trusted.data, /^pp:v2 TCP4 203\.0\.113\.7 40000\n/);
  // v2 header from the trusted peer, HTTP after it: X-Forwarded-For is the header's source.
  const v2 = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(v2);
  v2[12] = 0x21;
  v2[13] = 0x11;
  v2.writeUInt16BE(12, 14);
  Buffer.from([198, 51, 100, 9]).copy(v2, 16);
  Buffer.from([192, 0, 2, 1]).copy(v2, 20);
  v2.writeUInt16BE(5555, 24);
  v2.writeUInt16BE(80, 26);
  const http = await talk(ppin, { raw: v2, send: 'GET / HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n', until: '}' });
  assert.match(http.data, /^HTTP\/1\.1 200/);
  assert.match(http.data, /"xff":"198\.51\.100\.9"/);
  // Untrusted peer (127.0.0.2): the header is read and ignored; the client stays 127.0.0.2 (no TCP router matches: HTTP).
  const untrusted = await talk(ppin, {
    localAddress: '127.0.0.2',
    raw: Buffer.from(header),
    send: 'GET / HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n',
    until: '}',
  });
  assert.match(untrusted.data, /^HTTP\/1\.1 200/);
  assert.match(untrusted.data, /"xff":"127\.0\.0\.2"/);
});

test('a non-TLS router naming a host is disabled with its error', async () => {
  const t = await talk(web, { send: 'GET / HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n', until: '}' });
  assert.match(t.data, /^HTTP\/1\.1 200/); // the broken router takes nothing
});
