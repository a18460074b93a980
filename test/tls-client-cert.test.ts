/**
 * passTLSClientCert end to end (docs/tls.md "passTLSClientCert"): a gateway
 * with a mutual-TLS router (clientAuth RequireAndVerifyClientCert) and the
 * middleware in front of a backend that echoes the headers it got; the values
 * are compared with openssl's own reading of the certificates.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect } from 'node:http2';
import { startGateway, listenLoopback, type TestGateway } from './support/gateway.js';
import { createClientCertPki, opensslFacts, type ClientCertPki } from './support/client-certs.js';

let pki: ClientCertPki;
let backend: Server;
let gw: TestGateway;

type Headers = Record<string, string | string[] | undefined>;

before(async () => {
  pki = createClientCertPki();
  backend = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  const port = await listenLoopback(backend);
  gw = await startGateway({
    files: {
      'dyn.yml': `
http:
  routers:
    mtls:
      rule: Host(\`localhost\`)
      service: echo
      middlewares: [client-cert]
      tls:
        options: mtls
    open:
      rule: Host(\`open.test\`)
      service: echo
      middlewares: [client-cert]
      tls: {}
  middlewares:
    client-cert:
      passTLSClientCert:
        pem: true
        info:
          notAfter: true
          notBefore: true
          sans: true
          serialNumber: true
          subject: { country: true, province: true, locality: true, organization: true, organizationalUnit: true, commonName: true, serialNumber: true, domainComponent: true }
          issuer: { country: true, province: true, locality: true, organization: true, commonName: true, serialNumber: true, domainComponent: true }
  services:
    echo:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
tls:
  certificates:
    - certFile: ${pki.file('server.crt')}
      keyFile: ${pki.file('server.key')}
  options:
    mtls:
      clientAuth:
        caFiles: [${pki.file('root.crt')}]
        clientAuthType: RequireAndVerifyClientCert
`,
    },
  });
});

after(async () => {
  await gw?.close();
  await new Promise<void>((r) => backend.close(() => r()));
  pki?.close();
});

/** What openssl reads in the client's chain (leaf, intermediate), in Traefik's header formats. */
function expected(): { pem: string; info: string } {
  const leaf = opensslFacts(pki, pki.clientCrt);
  const inter = opensslFacts(pki, pki.interCrt);
  const leafInfo =
    'Subject="DC=org,DC=example,C=FR,ST=Occitanie,L=Toulouse,O=Gatehouse Test,OU=Team A,OU=Team B,SN=1234,CN=client one";' +
    'Issuer="DC=com,DC=gatehouse,C=DE,ST=Berlin,L=Berlin,O=Gatehouse CA,SN=77,CN=Test Intermediate";' +
    `SerialNumber="${leaf.serial}";NB="${leaf.nb}";NA="${leaf.na}";` +
    'SAN="client.example.com,b.example.com,me@example.com,127.0.0.1,2001:db8::1,spiffe://example.com/client"';
  const interInfo =
    'Subject="DC=com,DC=gatehouse,C=DE,ST=Berlin,L=Berlin,O=Gatehouse CA,OU=PKI,SN=77,CN=Test Intermediate";' +
    `Issuer="CN=mTLS Test Root";SerialNumber="${inter.serial}";NB="${inter.nb}";NA="${inter.na}"`;
  // Go's url.QueryEscape = encodeURIComponent plus space → '+' and !'()* escaped (none of those here).
  return { pem: `${leaf.der},${inter.der}`, info: encodeURIComponent(`${leafInfo},${interInfo}`).replaceAll('%20', '+') };
}

function get(servername: string, withCert: boolean, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: gw.port,
        servername,
        path: '/',
        headers: { host: servername, ...headers },
        ca: pki.rootCrt,
        ...(withCert ? { cert: pki.clientCrt + pki.interCrt, key: pki.clientKey } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: JSON.parse(Buffer.concat(chunks).toString()) as Headers }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('HTTP/1.1 over mutual TLS: the chain and its info reach the backend, a forged copy does not', async () => {
  const r = await get('localhost', true, { 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' });
  assert.equal(r.status, 200);
  const want = expected();
  assert.equal(r.headers['x-forwarded-tls-client-cert'], want.pem);
  assert.equal(r.headers['x-forwarded-tls-client-cert-info'], want.info);
});

test('a TLS router without client certificates: no header, forged copies removed', async () => {
  const r = await get('open.test', false, { 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-forwarded-tls-client-cert'], undefined);
  assert.equal(r.headers['x-forwarded-tls-client-cert-info'], undefined);
});

test('the mutual-TLS router refuses a client without a certificate', async () => {
  await assert.rejects(get('localhost', false));
});

test('HTTP/2 over mutual TLS: the same headers', async () => {
  const session = h2connect(`https://127.0.0.1:${gw.port}`, {
    servername: 'localhost',
    ca: pki.rootCrt,
    cert: pki.clientCrt + pki.interCrt,
    key: pki.clientKey,
  });
  try {
    const headers = await new Promise<Headers>((resolve, reject) => {
      const s = session.request({ ':path': '/', ':authority': 'localhost' });
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve(JSON.parse(text) as Headers);
        } catch {
          reject(new Error(`not the echo: ${text.slice(0, 200)}`));
        }
      });
      s.on('error', reject);
      s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
      s.end();
    });
    const want = expected();
    assert.equal(headers['x-forwarded-tls-client-cert'], want.pem);
    assert.equal(headers['x-forwarded-tls-client-cert-info'], want.info);
  } finally {
    session.close();
  }
});
