/**
 * ACME dns-01 end to end (docs/tls.md, "dns-01 against PowerDNS and BIND"):
 * a real Gatehouse with `--certificatesresolvers.le.acme.dnschallenge.provider=pdns|rfc2136`
 * and only the `--dns.*` connection flags (no targets, no policy: no
 * publisher) writes `_acme-challenge` TXT records into a real PowerDNS
 * (HTTP API) or a real BIND (RFC 2136 + TSIG, AXFR on); a real pebble, whose
 * `-dnsserver` is that same PowerDNS or BIND, validates them; the entry point
 * serves the certificates (openssl s_client -servername), issued by pebble's
 * intermediate; the TXT records are gone afterwards. `.dnschallenge.resolvers`
 * points at a UDP relay in front of the DNS server, which records every
 * question the propagation check asks (and when), so `.resolvers` and
 * `.delaybeforecheck` are seen to be honoured. A wildcard (`*.example.test`,
 * with the apex in the same order: two challenges on one TXT name) is ordered
 * through `tls.domains`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { startGateway, type TestGateway } from './support/gateway.js';
import { freePort, startPebble, type TestPebble } from './support/pebble.js';
import { startPdns, type TestPdns } from './support/pdns.js';
import { startBind9, type TestBind9 } from './support/bind9.js';
import { dns01SolverFor, queryTxt } from '../src/tls/acme/dns01.js';
import { createPdnsProvider } from '../src/dns/pdns.js';

const ZONE = 'example.test';
const DELAY_MS = 1500;

interface Question {
  readonly name: string;
  readonly type: string;
  readonly at: number;
}

/** A UDP relay in front of the DNS server: forwards every query, records its question and time. */
async function startRelay(upstreamPort: number): Promise<{ port: number; questions: Question[]; close(): Promise<void> }> {
  const questions: Question[] = [];
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, client) => {
    try {
      const q = dnsPacket.decode(msg).questions?.[0];
      if (q !== undefined) questions.push({ name: q.name.toLowerCase(), type: q.type, at: Date.now() });
    } catch {
      // not DNS: forwarded anyway
    }
    const up = createSocket('udp4');
    const t = setTimeout(() => up.close(), 3000);
    up.once('message', (answer) => {
      clearTimeout(t);
      up.close();
      sock.send(answer, client.port, client.address);
    });
    up.send(msg, upstreamPort, '127.0.0.1');
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, questions, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** The first time `fqdn` TXT answers something on the DNS server (polled every 50 ms), until stopped. */
function watchFirstTxt(dnsPort: number, fqdn: string): { first(): number | undefined; stop(): void } {
  let first: number | undefined;
  let stopped = false;
  void (async () => {
    while (!stopped && first === undefined) {
      const values = await queryTxt({ host: '127.0.0.1', port: dnsPort }, fqdn, 1000).catch(() => []);
      if (values.length > 0) first = Date.now();
      else await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    first: () => first,
    stop: () => {
      stopped = true;
    },
  };
}

interface CertRow {
  names: string[];
  source: string;
  resolver?: string;
  acme?: { state: string; error?: string };
}

/** The certificate chain the entry point serves for `name` (openssl s_client -showcerts). */
function served(port: number, name: string): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const c = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', name, '-showcerts'],
      { timeout: 10_000 },
      (err, stdout) => {
        const pems = stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        if (pems === null) reject(err ?? new Error(`no certificate in: ${stdout}`));
        else resolve(pems.map((p) => new X509Certificate(p)));
      },
    );
    c.stdin?.end('Q\n');
  });
}

type Dns = { kind: 'pdns'; pdns: TestPdns } | { kind: 'rfc2136'; bind: TestBind9 };

async function startDns(kind: 'pdns' | 'rfc2136', dir: string): Promise<{ dns: Dns; port: number; flags: string[] }> {
  if (kind === 'pdns') {
    const pdns = await startPdns();
    await pdns.createZone(ZONE);
    return {
      dns: { kind, pdns },
      port: pdns.dnsPort,
      flags: ['--dns.provider=pdns', `--dns.pdns.server=${pdns.apiUrl}`, `--dns.pdns.apikeyfile=${pdns.apiKeyFile}`],
    };
  }
  const bind = await startBind9();
  const secretFile = join(dir, 'tsig.secret');
  writeFileSync(secretFile, `${bind.secretBase64}\n`, { mode: 0o600 });
  return {
    dns: { kind, bind },
    port: bind.port,
    flags: [
      '--dns.provider=rfc2136',
      '--dns.rfc2136.host=127.0.0.1',
      `--dns.rfc2136.port=${bind.port}`,
      `--dns.rfc2136.zone=${ZONE}`,
      `--dns.rfc2136.tsigkeyname=${bind.keyName}`,
      `--dns.rfc2136.tsigsecretfile=${secretFile}`,
      '--dns.rfc2136.tsigalgorithm=hmac-sha256',
      '--dns.rfc2136.axfr=true',
    ],
  };
}

/** `dig +short name type` against the test's DNS server. */
async function lookup(dns: Dns, name: string, type: string): Promise<string[]> {
  return dns.kind === 'pdns' ? dns.pdns.dig(name, type) : dns.bind.lookup(name, type);
}

for (const kind of ['pdns', 'rfc2136'] as const)
  test(`dns-01 through ${kind === 'pdns' ? 'PowerDNS' : 'BIND (RFC 2136, TSIG)'}, validated by pebble asking that server: served by SNI, TXT removed, resolvers and delaybeforecheck honoured, a wildcard`, async (t) => {
    // Torn down in reverse order of start (the gateway before the DNS server it writes to).
    const cleanups: (() => unknown)[] = [];
    t.after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const dir = mkdtempSync(join(tmpdir(), `gatehouse-acme-dns01-${kind}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const backend: Server = createServer((_req, res) => res.end('from backend'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => backend.close(() => r())));
    const bport = (backend.address() as { port: number }).port;

    const { dns, port: dnsPort, flags: dnsFlags } = await startDns(kind, dir);
    cleanups.push(() => (dns.kind === 'pdns' ? dns.pdns.close() : dns.bind.stop()));
    const relay = await startRelay(dnsPort);
    cleanups.push(() => relay.close());
    const tlsPort = await freePort();
    // http-01 and tls-alpn-01 ports are never used: the resolver has dns-01 only.
    const pebble: TestPebble = await startPebble({
      httpPort: await freePort(),
      tlsPort: await freePort(),
      dnsServer: `127.0.0.1:${dnsPort}`,
    });
    cleanups.push(() => pebble.close());
    const watch = watchFirstTxt(dnsPort, `_acme-challenge.app.${ZONE}`);
    cleanups.push(() => watch.stop());

    const gw: TestGateway = await startGateway({
      flags: [
        '--api.insecure',
        `--entrypoints.websecure.address=127.0.0.1:${tlsPort}`,
        '--certificatesresolvers.le.acme.email=ops@example.test',
        `--certificatesresolvers.le.acme.caserver=${pebble.directory}`,
        `--certificatesresolvers.le.acme.cacertificates=${pebble.caFile}`,
        `--certificatesresolvers.le.acme.storage=${join(dir, 'le.json')}`,
        `--certificatesresolvers.le.acme.dnschallenge.provider=${kind}`,
        `--certificatesresolvers.le.acme.dnschallenge.resolvers=127.0.0.1:${relay.port}`,
        `--certificatesresolvers.le.acme.dnschallenge.delaybeforecheck=${DELAY_MS}ms`,
        ...dnsFlags,
      ],
      files: {
        'dyn.yml': `
http:
  routers:
    app:
      entryPoints: [websecure]
      rule: Host(\`app.${ZONE}\`)
      service: backend
      tls: { certResolver: le }
    wild:
      entryPoints: [websecure]
      rule: Host(\`${ZONE}\`)
      service: backend
      tls:
        certResolver: le
        domains: [{ main: "${ZONE}", sans: ["*.${ZONE}"] }]
  services:
    backend:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${bport}" }]
`,
      },
    });
    cleanups.push(() => gw.close());

    // Both orders Ready.
    const end = Date.now() + 45_000;
    let rows: CertRow[] = [];
    for (;;) {
      rows = (await (await fetch(`${gw.admin}/api/tls/certificates`)).json()) as CertRow[];
      const acme = rows.filter((r) => r.source === 'acme');
      if (acme.length === 2 && acme.every((r) => r.acme?.state === 'Ready')) break;
      const failed = acme.find((r) => r.acme?.state === 'Failed');
      if (failed !== undefined || Date.now() > end)
        assert.fail(`ACME certificates not Ready: ${JSON.stringify(rows, null, 1)}\npebble: ${pebble.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      rows
        .filter((r) => r.source === 'acme')
        .map((r) => [...r.names].sort().join(','))
        .sort(),
      [`*.${ZONE},${ZONE}`, `app.${ZONE}`],
    );

    // Served by SNI, issued by pebble's intermediate, which pebble's root signed.
    const intermediate = new X509Certificate(await pebble.intermediate());
    const root = new X509Certificate(await pebble.root());
    assert.ok(intermediate.checkIssued(root) && intermediate.verify(root.publicKey), 'pebble intermediate signed by its root');
    for (const [sni, san] of [
      [`app.${ZONE}`, `DNS:app.${ZONE}`],
      [ZONE, `DNS:${ZONE}`],
      [`anything.${ZONE}`, `DNS:*.${ZONE}`],
    ] as const) {
      const leaf = (await served(tlsPort, sni))[0];
      assert.ok(leaf !== undefined, `a certificate for ${sni}`);
      assert.ok((leaf.subjectAltName ?? '').split(', ').includes(san), `${sni}: ${leaf.subjectAltName ?? 'no SAN'} names ${san}`);
      assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), `${sni}: issued by pebble's intermediate`);
    }

    // The challenge records are removed from the zone.
    assert.deepEqual(await lookup(dns, `_acme-challenge.app.${ZONE}`, 'TXT'), []);
    assert.deepEqual(await lookup(dns, `_acme-challenge.${ZONE}`, 'TXT'), []);
    if (dns.kind === 'rfc2136')
      assert.deepEqual(
        dns.bind.axfr(ZONE).filter((l) => l.includes('_acme-challenge')),
        [],
      );
    // The DNS section gave only the connection: nothing was published for the router hosts.
    assert.deepEqual(await lookup(dns, `app.${ZONE}`, 'A'), []);
    const dnsApi = (await (await fetch(`${gw.admin}/api/dns`)).json()) as { enabled?: boolean };
    assert.equal(dnsApi.enabled, false);

    // .resolvers: the propagation check asked the relay for every challenge name, TXT.
    const asked = relay.questions.filter((q) => q.type === 'TXT').map((q) => q.name);
    assert.ok(asked.includes(`_acme-challenge.app.${ZONE}`), `relay saw: ${asked.join(', ')}`);
    assert.ok(asked.includes(`_acme-challenge.${ZONE}`), `relay saw: ${asked.join(', ')}`);
    // .delaybeforecheck: the first check came DELAY_MS after the record was visible on the server (the watcher
    // sees it up to one poll late, hence the margin; without the delay the difference is about 0 ms).
    const written = watch.first();
    const firstAsk = relay.questions.find((q) => q.name === `_acme-challenge.app.${ZONE}`)?.at;
    assert.ok(written !== undefined && firstAsk !== undefined, 'the record was seen and checked');
    assert.ok(firstAsk - written >= DELAY_MS - 500, `checked ${firstAsk - written} ms after the record appeared (delay ${DELAY_MS} ms)`);
  });

test('the dns-01 solver against a real PowerDNS: writes at once on one solver (two values on one name) and from a second solver all land; cleanup leaves nothing', async (t) => {
  const pdns = await startPdns();
  t.after(() => pdns.close());
  await pdns.createZone(ZONE);
  const provider = () => createPdnsProvider({ server: pdns.apiUrl, apiKey: pdns.apiKey });
  const one = dns01SolverFor(provider());
  const two = dns01SolverFor(provider());
  const shared = `_acme-challenge.${ZONE}`;
  const own = (i: number): string => `_acme-challenge.n${i}.${ZONE}`;
  const writes: [typeof one, string, string][] = [
    [one, shared, 'apex-value'],
    [one, shared, 'wildcard-value'],
    ...[0, 1, 2, 3, 4].map((i): [typeof one, string, string] => [one, own(i), `one-${i}`]),
    ...[5, 6, 7, 8, 9].map((i): [typeof one, string, string] => [two, own(i), `two-${i}`]),
  ];
  // PowerDNS (SQLite) answers HTTP 500 to a PATCH that meets another: one solver queues, two retry.
  await Promise.all(writes.map(([s, name, value]) => s.present(name, value)));
  assert.deepEqual(await pdns.dig(shared, 'TXT'), ['"apex-value"', '"wildcard-value"']);
  for (let i = 0; i < 10; i++) assert.deepEqual(await pdns.dig(own(i), 'TXT'), [`"${i < 5 ? 'one' : 'two'}-${i}"`]);
  // Cleanup removes only its value, then the set.
  await one.cleanup(shared, 'apex-value');
  assert.deepEqual(await pdns.dig(shared, 'TXT'), ['"wildcard-value"']);
  await Promise.all(writes.map(([s, name, value]) => s.cleanup(name, value)));
  for (const name of [shared, ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(own)]) assert.deepEqual(await pdns.dig(name, 'TXT'), [], name);
});
