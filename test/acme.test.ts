/**
 * ACME certificate resolvers against a real CA (pebble) and a real Redis:
 * http-01, tls-alpn-01 and dns-01 each issue a certificate that chains to
 * pebble's root; a short certificatesDuration renews; a CA that is down turns
 * the renewal Failed while the old certificate keeps serving; two engines
 * sharing Redis order a name once and both serve it; acme.json is Traefik's
 * format with mode 600; no private key reaches a log line, the status or an error.
 *
 * The http-01 and tls-alpn-01 servers here are thin glue over the
 * ChallengeStore, as the gateway's entry points are.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../src/log.js';
import { AcmeEngine, type AcmeEngineOptions } from '../src/tls/acme/engine.js';
import { ACME_TLS_ALPN, ChallengeStore } from '../src/tls/acme/challenges.js';
import { validateAcmeResolver, type AcmeResolverConfig } from '../src/tls/acme/config.js';
import type { Dns01Solver } from '../src/tls/acme/dns01.js';
import { RedisAcmeStorage } from '../src/tls/acme/redis-storage.js';
import { freePort, startPebble, type TestPebble } from './support/pebble.js';
import { startRedis, type TestRedis } from './support/redis.js';

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function splitPem(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}

/** The chain verifies up to the root pebble is running with, and the leaf names exactly `names`. */
async function assertIssued(pebble: TestPebble, certPem: string, names: string[]): Promise<void> {
  const chain = splitPem(certPem);
  assert.ok(chain.length >= 2, 'leaf and intermediate');
  const root = new X509Certificate(await pebble.root());
  const [leaf, ...rest] = chain as [X509Certificate, ...X509Certificate[]];
  let child = leaf;
  for (const issuer of [...rest, root]) {
    assert.ok(child.checkIssued(issuer) && child.verify(issuer.publicKey), `${child.subject} is signed by ${issuer.subject}`);
    child = issuer;
  }
  const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));
  assert.deepEqual(sans.sort(), [...names].sort());
}

/** A logger writing into a string, to check what was logged. */
function capturedLogger(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { log: createLogger('debug', stream), text: () => text };
}

function keyMaterialIn(text: string, keys: string[]): boolean {
  if (text.includes('PRIVATE KEY')) return true;
  return keys.some((k) => {
    const body = k.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
    return body.length > 0 && text.includes(body.slice(0, 40));
  });
}

const silentProblems = { tuning: { lockRetryMs: 300, pollMinMs: 200, pollMaxMs: 1000, propagationIntervalMs: 200 } } as const;

describe('ACME against pebble', { timeout: 120_000 }, () => {
  let pebble: TestPebble;
  const challenges = new ChallengeStore();
  let http: HttpServer;
  let tls: TlsServer;
  const dirs: string[] = [];
  const engines: AcmeEngine[] = [];

  const resolver = (raw: Record<string, unknown>, name = 'le'): AcmeResolverConfig => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-acme-'));
    dirs.push(dir);
    const v = validateAcmeResolver(
      name,
      { email: 'ops@example.com', caserver: pebble.directory, cacertificates: pebble.caFile, ...raw },
      { dataDir: dir },
    );
    assert.deepEqual(v.errors, []);
    return v.config as AcmeResolverConfig;
  };
  const engine = (o: Omit<AcmeEngineOptions, 'challenges'> & { challenges?: ChallengeStore }): AcmeEngine => {
    const e = new AcmeEngine({ challenges, ...silentProblems, ...o, tuning: { ...silentProblems.tuning, ...o.tuning } });
    engines.push(e);
    return e;
  };

  before(async () => {
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    http = createHttpServer((req, res) => {
      const answer = challenges.http01ForPath(req.url ?? '');
      res.writeHead(answer === undefined ? 404 : 200, { 'content-type': 'application/octet-stream' });
      res.end(answer ?? 'not found');
    });
    tls = createTlsServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (name, cb) => {
        const ctx = challenges.tlsAlpnSecureContext(name);
        if (ctx === undefined) cb(new Error(`no tls-alpn-01 challenge for ${name}`));
        else cb(null, ctx);
      },
    });
    tls.on('secureConnection', (s) => s.end());
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => http.listen(httpPort, '127.0.0.1', r));
    await new Promise<void>((r) => tls.listen(tlsPort, '127.0.0.1', r));
    pebble = await startPebble({ httpPort, tlsPort });
  });

  after(async () => {
    for (const e of engines) await e.close();
    await pebble?.close();
    await new Promise((r) => http?.close(r));
    await new Promise((r) => tls?.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('http-01: a certificate for every name, chained to the CA; acme.json is Traefik-shaped, mode 600', async () => {
    const cap = capturedLogger();
    const config = resolver({ httpchallenge: { entrypoint: 'web' } });
    const e = engine({ resolvers: [config], log: cap.log });
    await e.start();
    const got: string[] = [];
    e.onCertificate((c) => got.push(c.domains.main));
    assert.deepEqual(e.setWanted('le', [{ main: 'http01.example.com', sans: ['www.http01.example.com'] }]).errors, []);
    // A wildcard needs dns-01: refused with the reason, never ordered.
    const refused = e.setWanted('le', [
      { main: 'http01.example.com', sans: ['www.http01.example.com', 'WWW.http01.example.com'] },
      { main: '*.wild.example.com', sans: [] },
    ]);
    assert.match(refused.errors.join('\n'), /wildcard "\*\.wild\.example\.com" needs the dns-01 challenge/);

    const cert = await waitFor('the certificate', () => e.certificates().find((c) => c.domains.main === 'http01.example.com'));
    await assertIssued(pebble, cert.certPem, ['http01.example.com', 'www.http01.example.com']);
    assert.deepEqual(got, ['http01.example.com']);
    const st = e.status().find((s) => s.domains.main === 'http01.example.com');
    assert.equal(st?.state, 'Ready');
    assert.equal(st?.serving, true);
    assert.ok(st?.nextRenewal !== undefined && Date.parse(st.nextRenewal) > Date.now());
    assert.equal(e.status().find((s) => s.domains.main === '*.wild.example.com')?.state, 'Failed');
    assert.deepEqual(e.orderCounts(), [{ resolver: 'le', result: 'success', count: 1 }]);
    assert.equal(challenges.pending, false, 'challenge answers are removed after the order');

    // acme.json: mode 600, Traefik's shape (base64 DER account key, base64 PEM certificate and key).
    assert.equal(statSync(config.storage).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(config.storage, 'utf8')) as Record<
      string,
      { Account: Record<string, unknown>; Certificates: Record<string, unknown>[] }
    >;
    const le = json['le'];
    assert.ok(le !== undefined);
    assert.equal(le.Account['Email'], 'ops@example.com');
    assert.equal(le.Account['KeyType'], 'P256');
    assert.match(String((le.Account['Registration'] as { uri: string }).uri), /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.doesNotMatch(Buffer.from(String(le.Account['PrivateKey']), 'base64').toString('latin1'), /BEGIN/, 'DER, not PEM');
    assert.equal(le.Certificates.length, 1);
    const c0 = le.Certificates[0] as { domain: { main: string; sans: string[] }; certificate: string; key: string; Store: string };
    assert.deepEqual(c0.domain, { main: 'http01.example.com', sans: ['www.http01.example.com'] });
    assert.equal(c0.Store, 'default');
    assert.equal(Buffer.from(c0.certificate, 'base64').toString(), cert.certPem);
    assert.match(Buffer.from(c0.key, 'base64').toString(), /^-----BEGIN EC PRIVATE KEY-----/);

    // A second engine (a restart) serves the stored certificate without ordering.
    const again = engine({ resolvers: [config] });
    await again.start();
    again.setWanted('le', [{ main: 'http01.example.com', sans: ['www.http01.example.com'] }]);
    assert.equal(again.certificates()[0]?.certPem, cert.certPem);
    assert.deepEqual(again.orderCounts(), []);

    // No key material in logs or status.
    const keys = [cert.keyPem, ...e.certificates().map((c) => c.keyPem)];
    assert.equal(keyMaterialIn(cap.text() + JSON.stringify(e.status()), keys), false);
    assert.match(cap.text(), /ACME certificate obtained/);
  });

  test('external account binding: required by the CA, given by eab.kid / eab.hmacencoded', async () => {
    const hmac = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
    const eabCa = await startPebble({ httpPort: pebble.httpPort, tlsPort: pebble.tlsPort, externalAccountMACKeys: { 'kid-1': hmac } });
    try {
      const withEab = (eab: Record<string, string> | undefined): AcmeResolverConfig =>
        resolver({ tlschallenge: true, caserver: eabCa.directory, cacertificates: eabCa.caFile, ...(eab !== undefined ? { eab } : {}) });
      const cap = capturedLogger();
      const bound = engine({ resolvers: [withEab({ kid: 'kid-1', hmacencoded: hmac })], log: cap.log });
      await bound.start();
      bound.setWanted('le', [{ main: 'eab.example.com', sans: [] }]);
      const cert = await waitFor('the certificate', () => bound.certificates()[0]);
      await assertIssued(eabCa, cert.certPem, ['eab.example.com']);

      const unbound = engine({ resolvers: [withEab(undefined)], log: cap.log });
      await unbound.start();
      unbound.setWanted('le', [{ main: 'noeab.example.com', sans: [] }]);
      const failed = await waitFor('the refusal', () => unbound.status().find((s) => s.state === 'Failed'));
      assert.match(failed.error ?? '', /externalAccountBinding/);
      assert.doesNotMatch(cap.text() + JSON.stringify([bound.status(), unbound.status()]), new RegExp(hmac.slice(0, 20)));
      await bound.close();
      await unbound.close();
    } finally {
      await eabCa.close();
    }
  });

  test('tls-alpn-01: a certificate through the acme-tls/1 answer', async () => {
    const e = engine({ resolvers: [resolver({ tlschallenge: true, keytype: 'EC384' })] });
    await e.start();
    e.setWanted('le', [{ main: 'alpn.example.com', sans: [] }]);
    const cert = await waitFor('the certificate', () => e.certificates()[0]);
    await assertIssued(pebble, cert.certPem, ['alpn.example.com']);
    const leaf = splitPem(cert.certPem)[0] as X509Certificate;
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    assert.equal(e.status()[0]?.state, 'Ready');
  });

  test('dns-01: a wildcard through TXT records on the DNS server, checked before the CA is asked', async () => {
    const written: string[] = [];
    const solver: Dns01Solver = {
      async present(fqdn, value) {
        written.push(fqdn);
        await pebble.setTxt(fqdn, value);
      },
      async cleanup(fqdn) {
        await pebble.clearTxt(fqdn);
      },
    };
    const config = resolver(
      { dnschallenge: { provider: 'pdns', resolvers: `127.0.0.1:${pebble.dnsPort}`, delaybeforecheck: '0s' } },
      'dns',
    );
    const e = engine({ resolvers: [config], dns01: { dns: solver } });
    await e.start();
    assert.deepEqual(e.setWanted('dns', [{ main: '*.wild.example.com', sans: ['wild.example.com'] }]).errors, []);
    const cert = await waitFor('the certificate', () => e.certificates()[0]);
    await assertIssued(pebble, cert.certPem, ['*.wild.example.com', 'wild.example.com']);
    assert.deepEqual([...new Set(written)], ['_acme-challenge.wild.example.com']);
  });

  test("a challenge the CA cannot validate: Failed with the CA's problem detail, back-off, no certificate", async () => {
    // The answers go to a store no server reads: pebble gets a 404 on port httpPort.
    const e = engine({ resolvers: [resolver({ httpchallenge: { entrypoint: 'web' } })], challenges: new ChallengeStore() });
    await e.start();
    e.setWanted('le', [{ main: 'unanswered.example.com', sans: [] }]);
    const failed = await waitFor('the failure', () => e.status().find((s) => s.state === 'Failed'));
    assert.match(failed.error ?? '', /404/);
    assert.equal(failed.serving, false);
    assert.equal(failed.failures, 1);
    assert.deepEqual(e.certificates(), []);
    assert.deepEqual(e.orderCounts(), [{ resolver: 'le', result: 'failure', count: 1 }]);
  });

  test('renewal with a short certificatesDuration; then a CA that is down: Failed, old certificate kept, back-off', async () => {
    const cap = capturedLogger();
    // 6 s counted lifetime: renewal when half is left, 3 s after notBefore.
    const e = engine({
      resolvers: [resolver({ httpchallenge: { entrypoint: 'web' }, certificatesduration: String(6 / 3600) })],
      log: cap.log,
    });
    await e.start();
    const serials: string[] = [];
    e.onCertificate((c) => serials.push(new X509Certificate(c.certPem).serialNumber));
    e.setWanted('le', [{ main: 'renew.example.com', sans: [] }]);
    await waitFor('two certificates (one renewal)', () => serials.length >= 2, 40_000);
    assert.notEqual(serials[0], serials[1]);

    await pebble.stop();
    try {
      const failed = await waitFor('a failed renewal', () => e.status().find((s) => s.state === 'Failed'), 40_000);
      assert.equal(failed.serving, true);
      assert.equal(failed.failures, 1);
      assert.match(failed.error ?? '', /^cannot reach the ACME server: ECONNREFUSED \(https:\/\/127\.0\.0\.1:\d+\/[\w/-]+\)$/);
      assert.ok(failed.nextAttempt !== undefined && failed.lastAttempt !== undefined);
      const backoff = Date.parse(failed.nextAttempt) - Date.parse(failed.lastAttempt);
      assert.ok(backoff >= 3_590_000 && backoff <= 3_700_000, `first back-off is 1 h (${backoff} ms)`);
      assert.equal(e.certificates().length, 1, 'the old certificate keeps serving');
      assert.ok(e.orderCounts().some((r) => r.result === 'failure' && r.count === 1));
      assert.match(cap.text(), /ACME renewal failed: the current certificate keeps serving/);
      assert.equal(
        keyMaterialIn(
          cap.text() + JSON.stringify(e.status()),
          e.certificates().map((c) => c.keyPem),
        ),
        false,
      );
    } finally {
      await pebble.start();
    }
  });

  test('two engines sharing Redis: one order, both serve the certificate', async () => {
    let redis: TestRedis | undefined;
    const clients: Redis[] = [];
    try {
      redis = await startRedis();
      const config = resolver({ httpchallenge: { entrypoint: 'web' } });
      const make = (): AcmeEngine => {
        const client = new Redis({ host: '127.0.0.1', port: (redis as TestRedis).port, lazyConnect: false, maxRetriesPerRequest: 1 });
        clients.push(client);
        return engine({ resolvers: [config], storage: new RedisAcmeStorage({ client, prefix: 'test:acme:' }) });
      };
      const [a, b] = [make(), make()];
      await Promise.all([a.start(), b.start()]);
      a.setWanted('le', [{ main: 'shared.example.com', sans: [] }]);
      b.setWanted('le', [{ main: 'shared.example.com', sans: [] }]);
      const [ca, cb] = await Promise.all([waitFor('A has it', () => a.certificates()[0]), waitFor('B has it', () => b.certificates()[0])]);
      assert.equal(ca.certPem, cb.certPem);
      const orders = [...a.orderCounts(), ...b.orderCounts()];
      assert.deepEqual(orders, [{ resolver: 'le', result: 'success', count: 1 }]);
      assert.deepEqual(
        [a, b].map((x) => x.status()[0]?.state),
        ['Ready', 'Ready'],
      );
      const stored = await redis.command('HLEN', 'test:acme:le:certificates');
      assert.match(stored, /^:1/);
      assert.match(await redis.command('EXISTS', 'test:acme:le:account'), /^:1/);
    } finally {
      for (const e of engines.splice(0)) await e.close();
      for (const c of clients) c.disconnect();
      await redis?.close();
    }
  });
});

describe('acme.json permissions', () => {
  test('a storage file other users can read is refused with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-acme-'));
    try {
      const file = join(dir, 'acme.json');
      writeFileSync(file, '{}');
      chmodSync(file, 0o644);
      const v = validateAcmeResolver(
        'le',
        { email: 'a@example.com', storage: file, tlschallenge: 'true', caserver: 'https://127.0.0.1:1/dir' },
        { dataDir: dir },
      );
      const e = new AcmeEngine({ resolvers: [v.config as AcmeResolverConfig], challenges: new ChallengeStore() });
      await assert.rejects(e.start(), /permissions 644 are too open, please use 600/);
      await e.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
