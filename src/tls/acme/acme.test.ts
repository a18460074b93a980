/**
 * The parts of the ACME engine that need no CA: flag validation, renewal and
 * back-off arithmetic, the ARI certificate identifier, the challenge store,
 * reading a Traefik-written acme.json. The engine against a real CA is in
 * test/acme.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ChallengeStore, type ChallengeChange } from './challenges.js';
import { LETSENCRYPT_PRODUCTION, validateAcmeResolver } from './config.js';
import { dns01Name, dns01SolverFor } from './dns01.js';
import { ariCertId, backoffDelay, certIdFrom, classifyFailure, parseRetryAfter, renewalTime, timeInWindow } from './renewal.js';
import { FileAcmeStorage, domainsKey } from './storage.js';
import type { DnsProvider, RecordChanges, RecordSet } from '../../dns/types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('validateAcmeResolver', () => {
  const opts = { dataDir: '/var/lib/gatehouse', entryPoints: ['web', 'websecure'] };

  test('defaults: Let us Encrypt production, EC256, 2160 h, acme.json in the data dir', () => {
    const v = validateAcmeResolver('le', { email: 'ops@example.com', httpChallenge: { entryPoint: 'web' } }, opts);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.config, {
      name: 'le',
      email: 'ops@example.com',
      storage: '/var/lib/gatehouse/acme.json',
      caServer: LETSENCRYPT_PRODUCTION,
      caCertificates: [],
      keyType: 'EC256',
      certificatesDuration: 2160,
      preferredChain: '',
      httpChallenge: { entryPoint: 'web' },
    });
  });

  test('flag strings (lower-case keys, comma lists, durations) parse like typed file values', () => {
    const v = validateAcmeResolver(
      'dns',
      {
        email: 'a@example.com',
        storage: 'certs/acme.json',
        caserver: 'https://ca.internal/dir',
        cacertificates: '/etc/ca1.pem, /etc/ca2.pem',
        keytype: 'rsa4096',
        certificatesduration: '24',
        preferredchain: 'ISRG Root X1',
        eab: { kid: 'kid-1', hmacencoded: 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W' },
        dnschallenge: { provider: 'rfc2136', resolvers: '10.0.0.53:53,[::1]:5353', delaybeforecheck: '5s' },
        tlschallenge: 'false',
      },
      opts,
    );
    assert.deepEqual(v.errors, []);
    assert.equal(v.config?.storage, '/var/lib/gatehouse/certs/acme.json');
    assert.deepEqual(v.config?.caCertificates, ['/etc/ca1.pem', '/etc/ca2.pem']);
    assert.equal(v.config?.keyType, 'RSA4096');
    assert.equal(v.config?.certificatesDuration, 24);
    assert.deepEqual(v.config?.dnsChallenge, { provider: 'rfc2136', resolvers: ['10.0.0.53:53', '[::1]:5353'], delayBeforeCheck: 5000 });
    assert.equal(v.config?.tlsChallenge, undefined);
    assert.equal(v.config?.eab?.kid, 'kid-1');
  });

  test('every error names its flag; secrets are not repeated', () => {
    const v = validateAcmeResolver(
      'le',
      {
        email: 'not-an-address',
        caserver: 'http://ca.example/dir',
        keytype: 'EC521',
        certificatesduration: '-1',
        eab: { kid: 'k', hmacencoded: 'sh!rt-secret' },
        httpchallenge: { entrypoint: 'nope' },
        dnschallenge: { provider: 'route53', delaybeforecheck: 'soon' },
      },
      opts,
    );
    assert.equal(v.config, undefined);
    const text = v.errors.join('\n');
    assert.match(text, /certificatesresolvers\.le\.acme\.keytype: "EC521" is not one of EC256, EC384, RSA2048, RSA4096/);
    assert.match(text, /certificatesresolvers\.le\.acme\.email: "not-an-address" is not an e-mail address/);
    assert.match(text, /certificatesresolvers\.le\.acme\.caserver: "http:\/\/ca\.example\/dir" must be an https:\/\/ URL/);
    assert.match(text, /certificatesresolvers\.le\.acme\.certificatesduration: "-1" is not a positive number of hours/);
    assert.match(text, /certificatesresolvers\.le\.acme\.eab\.hmacencoded: not a base64url-encoded key/);
    assert.match(
      text,
      /certificatesresolvers\.le\.acme\.httpchallenge\.entrypoint: no entry point named "nope" \(defined: web, websecure\)/,
    );
    assert.match(text, /certificatesresolvers\.le\.acme\.dnschallenge\.provider: "route53" is not one of pdns, rfc2136/);
    assert.match(text, /certificatesresolvers\.le\.acme\.dnschallenge\.delaybeforecheck: invalid duration "soon"/);
    assert.doesNotMatch(text, /sh!rt-secret/);
  });

  test('a resolver without a challenge is refused (Traefik: select TLS, HTTP or DNS)', () => {
    const v = validateAcmeResolver('le', { email: 'a@example.com' }, opts);
    assert.deepEqual(v.errors, [
      'certificatesresolvers.le.acme: no challenge configured: set httpchallenge.entrypoint, tlschallenge or dnschallenge.provider',
    ]);
  });

  test('a bare tlschallenge flag enables it', () => {
    assert.equal(validateAcmeResolver('le', { tlschallenge: '' }, opts).config?.tlsChallenge, true);
    assert.equal(validateAcmeResolver('le', { tlschallenge: {} }, opts).config?.tlsChallenge, true);
  });
});

describe('renewal and back-off', () => {
  test('one third of the lifetime left; one half under 10 days; certificatesDuration caps the lifetime', () => {
    const nb = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(renewalTime({ notBefore: nb, notAfter: nb + 90 * DAY }, 2160), nb + 60 * DAY);
    assert.equal(renewalTime({ notBefore: nb, notAfter: nb + 6 * DAY }, 2160), nb + 3 * DAY);
    // A 5-year certificate counted as 90 days.
    assert.equal(renewalTime({ notBefore: nb, notAfter: nb + 5 * 365 * DAY }, 2160), nb + 60 * DAY);
    // 10 days exactly is not "under 10 days".
    assert.equal(renewalTime({ notBefore: nb, notAfter: nb + 10 * DAY }, 2160), nb + Math.floor((20 * DAY) / 3));
  });

  test("cert-manager's back-off: 1 h, 2 h, 4 h … capped at 32 h", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 6, 7, 100].map((n) => backoffDelay(n) / HOUR),
      [0, 1, 2, 4, 32, 32, 32],
    );
    assert.equal(backoffDelay(3, 1000, 3000), 3000);
  });

  test('Retry-After: seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 01:00:00 GMT', now), HOUR);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test("a 429 / rateLimited problem: rate_limited, the CA's Retry-After kept; a lost account is registered again", () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.deepEqual(classifyFailure({ status: 429, type: 'urn:ietf:params:acme:error:rateLimited', retryAfter: '7200' }, now), {
      result: 'rate_limited',
      retryAfterMs: 7_200_000,
      resetAccount: false,
    });
    assert.equal(classifyFailure({ status: 400, type: 'urn:ietf:params:acme:error:rateLimited' }, now).result, 'rate_limited');
    assert.equal(classifyFailure({ status: 403, type: 'urn:ietf:params:acme:error:unauthorized' }, now).resetAccount, true);
    assert.deepEqual(classifyFailure(undefined, now), { result: 'failure', retryAfterMs: undefined, resetAccount: false });
  });

  test('a time inside the ARI window; now when the window has passed', () => {
    assert.equal(
      timeInWindow({ start: 1000, end: 2000 }, 0, () => 0.5),
      1500,
    );
    assert.equal(
      timeInWindow({ start: 1000, end: 2000 }, 1500, () => 0),
      1500,
    );
    assert.equal(
      timeInWindow({ start: 1000, end: 2000 }, 3000, () => 0.9),
      3000,
    );
  });

  test('the ARI certificate identifier (RFC 9773 section 4.1 example)', () => {
    const aki = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
    assert.equal(certIdFrom(aki, '0087654321'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    assert.equal(certIdFrom(aki, '87654321'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  test('the ARI identifier of a real certificate: its AKI and serial', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ari-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'k.pem',
          '-out',
          'c.pem',
          '-subj',
          '/CN=x',
          '-days',
          '1',
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      const text = execFileSync('openssl', ['x509', '-in', 'c.pem', '-noout', '-text', '-serial'], { cwd: dir, encoding: 'utf8' });
      const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1]?.replace(/:/g, '');
      const serial = /serial=([0-9A-F]+)/.exec(text)?.[1];
      assert.ok(aki !== undefined && serial !== undefined);
      assert.equal(ariCertId(readFileSync(join(dir, 'c.pem'), 'utf8')), certIdFrom(Buffer.from(aki, 'hex'), serial));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ChallengeStore', () => {
  test('http-01 answers by token and path; changes reach a replica store', () => {
    const primary = new ChallengeStore();
    const worker = new ChallengeStore();
    const seen: ChallengeChange[] = [];
    primary.onChange((c) => {
      seen.push(c);
      worker.apply(c);
    });
    primary.setHttp01('tok_en-1', 'tok_en-1.thumb');
    assert.equal(worker.http01Answer('tok_en-1'), 'tok_en-1.thumb');
    assert.equal(worker.http01ForPath('/.well-known/acme-challenge/tok_en-1'), 'tok_en-1.thumb');
    assert.equal(worker.http01ForPath('/.well-known/acme-challenge/tok_en-1?x=1'), 'tok_en-1.thumb');
    assert.equal(worker.http01ForPath('/.well-known/acme-challenge/../tok_en-1'), undefined);
    assert.equal(worker.http01ForPath('/other/tok_en-1'), undefined);
    assert.throws(() => primary.setHttp01('bad/token', 'x'), /base64url/);
    primary.removeHttp01('tok_en-1');
    assert.equal(worker.http01Answer('tok_en-1'), undefined);
    assert.equal(worker.pending, false);
    assert.equal(seen.length, 2);
  });

  test('tls-alpn-01 certificates by SNI name, case and trailing dot ignored; snapshot for a late worker', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-alpn-'));
    try {
      writeFileSync(join(dir, 'k.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
      execFileSync('openssl', ['req', '-x509', '-key', 'k.pem', '-out', 'c.pem', '-subj', '/CN=a.example.com', '-days', '1'], {
        cwd: dir,
        stdio: 'ignore',
      });
      const cert = { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
      const s = new ChallengeStore();
      s.setTlsAlpn('A.Example.com', cert);
      assert.equal(s.tlsAlpnCertificate('a.example.com.'), cert);
      assert.ok(s.tlsAlpnSecureContext('a.example.com') !== undefined);
      const late = new ChallengeStore();
      for (const c of s.snapshot()) late.apply(c);
      assert.equal(late.tlsAlpnCertificate('a.example.com'), cert);
      s.removeTlsAlpn('a.example.com');
      assert.equal(s.tlsAlpnSecureContext('a.example.com'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dns01SolverFor', () => {
  /** A DNS provider holding records in memory, as the PowerDNS and RFC 2136 providers expose them. */
  function memoryProvider(read: boolean): DnsProvider & { sets: Map<string, RecordSet>; applied: RecordChanges[] } {
    const sets = new Map<string, RecordSet>();
    const applied: RecordChanges[] = [];
    return {
      kind: 'pdns',
      capabilities: { alias: false, read },
      sets,
      applied,
      zones: async () => ['example.com', 'sub.example.com'],
      records: async () => [...sets.values()],
      apply: async (_zone, ch) => {
        applied.push(ch);
        for (const s of [...ch.create, ...ch.update]) sets.set(`${s.name}/${s.type}`, s);
        for (const s of ch.delete) sets.delete(`${s.name}/${s.type}`);
      },
      close: async () => undefined,
    };
  }

  test('adds our value beside the others and removes only ours', async () => {
    const p = memoryProvider(true);
    const name = dns01Name('*.Sub.Example.com');
    assert.equal(name, '_acme-challenge.sub.example.com');
    p.sets.set(`${name}/TXT`, { name, type: 'TXT', ttl: 60, values: ['someone-else'] });
    const s = dns01SolverFor(p);
    await s.present(name, 'ours');
    assert.deepEqual(p.sets.get(`${name}/TXT`)?.values, ['someone-else', 'ours']);
    await s.present(name, 'ours');
    assert.equal(p.applied.length, 1, 'present twice writes once');
    await s.cleanup(name, 'ours');
    assert.deepEqual(p.sets.get(`${name}/TXT`)?.values, ['someone-else']);
    await s.present(name, 'second');
    await s.cleanup(name, 'second');
    await s.cleanup(name, 'someone-else');
    assert.equal(p.sets.has(`${name}/TXT`), false);
  });

  test('a provider that cannot read gets a create and a delete of our record only', async () => {
    const p = memoryProvider(false);
    const s = dns01SolverFor(p);
    await s.present('_acme-challenge.a.example.com', 'v');
    await s.cleanup('_acme-challenge.a.example.com', 'v');
    assert.deepEqual(
      p.applied.map((c) => [c.create.map((x) => x.values), c.delete.map((x) => x.values)]),
      [
        [[['v']], []],
        [[], [['v']]],
      ],
    );
    await assert.rejects(s.present('_acme-challenge.other.org', 'v'), /no zone of the pdns provider holds _acme-challenge\.other\.org/);
  });
});

describe('acme.json written by Traefik', () => {
  test('is read: an RSA PKCS#1 account key, an EC SEC 1 certificate key, the domains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-acmejson-'));
    try {
      const account = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const certKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      writeFileSync(join(dir, 'k.pem'), certKey.export({ format: 'pem', type: 'sec1' }));
      execFileSync('openssl', ['req', '-x509', '-key', 'k.pem', '-out', 'c.pem', '-subj', '/CN=app.example.com', '-days', '1'], {
        cwd: dir,
        stdio: 'ignore',
      });
      const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
      const file = join(dir, 'acme.json');
      const traefik = {
        le: {
          Account: {
            Email: 'ops@example.com',
            Registration: {
              body: { status: 'valid', contact: ['mailto:ops@example.com'] },
              uri: 'https://acme-v02.api.letsencrypt.org/acme/acct/1',
            },
            PrivateKey: account.export({ format: 'der', type: 'pkcs1' }).toString('base64'),
            KeyType: '4096',
          },
          Certificates: [
            {
              domain: { main: 'app.example.com', sans: ['www.app.example.com'] },
              certificate: Buffer.from(certPem).toString('base64'),
              key: Buffer.from(String(certKey.export({ format: 'pem', type: 'sec1' }))).toString('base64'),
              Store: 'default',
            },
          ],
        },
        other: { Account: null, Certificates: null },
      };
      writeFileSync(file, JSON.stringify(traefik), { mode: 0o600 });
      const storage = new FileAcmeStorage(file);
      const le = await storage.load('le');
      assert.equal(le.account?.email, 'ops@example.com');
      assert.equal(le.account?.keyType, 'RSA4096');
      assert.equal(le.account?.registration.uri, 'https://acme-v02.api.letsencrypt.org/acme/acct/1');
      assert.equal(createPrivateKey(le.account?.privateKeyPem ?? '').asymmetricKeyType, 'rsa');
      assert.equal(le.certificates.length, 1);
      assert.equal(domainsKey(le.certificates[0]?.domains ?? { main: '', sans: [] }), 'app.example.com,www.app.example.com');
      assert.equal(le.certificates[0]?.certPem, certPem);
      assert.deepEqual(await storage.load('other'), { certificates: [] });

      // Written back: the other resolver is kept, the account key is PKCS#1 DER again, the file stays 600.
      await storage.saveAccount('le', le.account as NonNullable<typeof le.account>);
      await storage.saveCertificate('le', {
        ...(le.certificates[0] as NonNullable<(typeof le.certificates)[0]>),
        domains: { main: 'APP.example.com', sans: ['www.app.example.com'] },
      });
      const back = JSON.parse(readFileSync(file, 'utf8')) as typeof traefik;
      assert.equal(back.le.Account.PrivateKey, traefik.le.Account.PrivateKey);
      assert.equal(back.le.Account.KeyType, '4096');
      assert.equal(back.le.Certificates.length, 1, 'same domains: replaced, not added');
      assert.deepEqual(back.le.Certificates[0]?.domain, traefik.le.Certificates[0]?.domain);
      assert.deepEqual(back.other, { Account: null, Certificates: null });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      await storage.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
