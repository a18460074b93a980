import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as http2Connect, createSecureServer } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:net';
import { echoHandler, testDeps, type Echo } from '../../../test/support/handler-server.js';
import { through } from '../../../test/support/middleware-request.js';
import { CLIENT_SUBJECT, createClientCertPki, opensslFacts, type ClientCertPki } from '../../../test/support/client-certs.js';
import { contextFromRequest } from '../../server/make-context.js';
import { builtinRegistry } from '../builtin.js';
import { certInfo, goIp, goQueryEscape, sanList, type PeerCert } from './format.js';
import { middleware } from './index.js';

const ALL_DN = {
  country: true,
  province: true,
  locality: true,
  organization: true,
  commonName: true,
  serialNumber: true,
  domainComponent: true,
};
const ALL_INFO = {
  notAfter: true,
  notBefore: true,
  sans: true,
  serialNumber: true,
  subject: { ...ALL_DN, organizationalUnit: true },
  issuer: ALL_DN,
};

test('Go url.QueryEscape: unreserved kept, space is +, the rest %XX', () => {
  assert.equal(goQueryEscape('Subject="CN=a b";SAN="x.example,1.2.3.4"'), 'Subject%3D%22CN%3Da+b%22%3BSAN%3D%22x.example%2C1.2.3.4%22');
  assert.equal(goQueryEscape('~-_.AZaz09'), '~-_.AZaz09');
  assert.equal(goQueryEscape("!'()*/+é"), '%21%27%28%29%2A%2F%2B%C3%A9');
});

test("SANs in Go's order (DNS, email, IP, URI) from node's subjectaltname, quoted values and IPv6", () => {
  assert.deepEqual(
    sanList(
      'email:me@example.com, DNS:a.example, URI:spiffe://x/y, IP Address:127.0.0.1, DNS:"b,c.example", IP Address:2001:DB8:0:0:0:0:0:1',
    ),
    ['a.example', 'b,c.example', 'me@example.com', '127.0.0.1', '2001:db8::1', 'spiffe://x/y'],
  );
  assert.deepEqual(sanList(undefined), []);
  assert.equal(goIp('0:0:0:0:0:FFFF:102:304'), '1.2.3.4');
  assert.equal(goIp('::1'), '::1');
});

test('info fields: empty fields are left out; Traefik reads no OU in the issuer', () => {
  const cert: PeerCert = {
    raw: Buffer.from('x'),
    subject: { CN: ['first', 'last'], OU: ['a', 'b'], DC: ['org', 'example'] },
    issuer: { CN: 'ca', OU: 'pki', C: '' },
    valid_from: 'Jan  1 00:00:00 2026 GMT',
    valid_to: 'Jan  2 00:00:00 2026 GMT',
    serialNumber: '0A',
  };
  assert.equal(
    certInfo(cert, { ...ALL_INFO }),
    'Subject="DC=org,DC=example,OU=a,OU=b,CN=last";Issuer="CN=ca";SerialNumber="10";NB="1767225600";NA="1767312000"',
  );
  assert.equal(certInfo(cert, {}), '');
  assert.equal(certInfo(cert, { subject: {} }), '');
});

test('the schema takes Traefik keys and refuses unknown ones', () => {
  const reg = builtinRegistry();
  const def = reg.get('passtlsclientcert');
  assert.ok(def !== undefined);
  assert.deepEqual(reg.validate(def, { pem: true, info: ALL_INFO }), []);
  assert.notDeepEqual(reg.validate(def, { info: { issuer: { organizationalUnit: true } } }), []);
  assert.notDeepEqual(reg.validate(def, { pem: 'yes' }), []);
});

test('without TLS: no header is added and spoofed copies are removed', async () => {
  const headers = { 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' };
  const both = await through(middleware, { pem: true, info: { sans: true } }, '/', { headers });
  assert.equal(both.echo?.headers['x-forwarded-tls-client-cert'], undefined);
  assert.equal(both.echo?.headers['x-forwarded-tls-client-cert-info'], undefined);
  // A header the middleware is not configured for is left alone (the entry point handles untrusted peers).
  const pemOnly = await through(middleware, { pem: true }, '/', { headers });
  assert.equal(pemOnly.echo?.headers['x-forwarded-tls-client-cert'], undefined);
  assert.equal(pemOnly.echo?.headers['x-forwarded-tls-client-cert-info'], 'forged');
});

describe('over mutual TLS', () => {
  let pki: ClientCertPki;
  const servers: Server[] = [];
  before(() => {
    pki = createClientCertPki();
  });
  after(() => {
    for (const s of servers) s.close();
    pki.close();
  });

  const handler = middleware.create({ pem: true, info: ALL_INFO }, testDeps())(echoHandler);
  const serve = (req: IncomingMessage, res: ServerResponse): void =>
    handler(contextFromRequest(req, res, { entryPoint: 'websecure', scheme: 'https' }));

  function expected(): { pem: string; info: string } {
    const leaf = opensslFacts(pki, pki.clientCrt);
    const inter = opensslFacts(pki, pki.interCrt);
    assert.equal(CLIENT_SUBJECT.startsWith('/DC=org/DC=example/C=FR'), true);
    const leafInfo =
      'Subject="DC=org,DC=example,C=FR,ST=Occitanie,L=Toulouse,O=Gatehouse Test,OU=Team A,OU=Team B,SN=1234,CN=client one";' +
      'Issuer="DC=com,DC=gatehouse,C=DE,ST=Berlin,L=Berlin,O=Gatehouse CA,SN=77,CN=Test Intermediate";' +
      `SerialNumber="${leaf.serial}";NB="${leaf.nb}";NA="${leaf.na}";` +
      'SAN="client.example.com,b.example.com,me@example.com,127.0.0.1,2001:db8::1,spiffe://example.com/client"';
    const interInfo =
      'Subject="DC=com,DC=gatehouse,C=DE,ST=Berlin,L=Berlin,O=Gatehouse CA,OU=PKI,SN=77,CN=Test Intermediate";' +
      'Issuer="CN=mTLS Test Root";' +
      `SerialNumber="${inter.serial}";NB="${inter.nb}";NA="${inter.na}"`;
    return { pem: `${leaf.der},${inter.der}`, info: encodeURIComponent(`${leafInfo},${interInfo}`) };
  }

  test('HTTP/1.1 (node:https): the chain the client sent and its info', async () => {
    const srv = createHttpsServer(
      { key: pki.serverKey, cert: pki.serverCrt, ca: pki.rootCrt, requestCert: true, rejectUnauthorized: true },
      serve,
    );
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const echo = await new Promise<Echo>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          ca: pki.rootCrt,
          cert: pki.clientCrt + pki.interCrt,
          key: pki.clientKey,
          headers: { 'x-forwarded-tls-client-cert': 'forged' },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Echo));
        },
      );
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    });
    const want = expected();
    assert.equal(echo.headers['x-forwarded-tls-client-cert'], want.pem);
    // encodeURIComponent differs from Go's QueryEscape only on !'()* and space: none here but spaces.
    assert.equal(echo.headers['x-forwarded-tls-client-cert-info'], want.info.replaceAll('%20', '+'));
  });

  test('HTTP/2 (node:http2 secure server): the same headers', async () => {
    const srv = createSecureServer(
      { key: pki.serverKey, cert: pki.serverCrt, ca: pki.rootCrt, requestCert: true, rejectUnauthorized: true },
      (req, res) => serve(req as unknown as IncomingMessage, res as unknown as ServerResponse),
    );
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca: pki.rootCrt, cert: pki.clientCrt + pki.interCrt, key: pki.clientKey });
    try {
      const echo = await new Promise<Echo>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Echo));
        stream.on('error', reject);
        stream.setTimeout(10_000, () => stream.destroy(new Error('timeout')));
        stream.end();
      });
      const want = expected();
      assert.equal(echo.headers['x-forwarded-tls-client-cert'], want.pem);
      assert.equal(echo.headers['x-forwarded-tls-client-cert-info'], want.info.replaceAll('%20', '+'));
    } finally {
      session.close();
    }
  });
});
