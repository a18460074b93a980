/**
 * The body of `generateDefaultCertificate` (generated.ts), run in a short-lived
 * worker thread: @peculiar/x509 and what it pulls in (tsyringe, the asn1
 * schemas, reflect-metadata) load into that thread's isolate and go away with
 * it, so the gateway's own heap never holds them (measured: about 7 % of
 * requests per CPU-second on a small-body route, docs/benchmarks.md).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import * as x509 from '@peculiar/x509';
import { DEFAULT_CERT_CN } from './default-cert-name.js';

/** A self-signed EC P-256 certificate for one year, as PEM. */
export async function makeDefaultCertificatePem(): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f; // a positive INTEGER
  const now = Date.now();
  // Traefik's default certificate names a host nobody owns, so no client takes it for a real one.
  const cn = `${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}.gatehouse.default`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${DEFAULT_CERT_CN}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 24 * 3600 * 1000),
    signingAlgorithm: alg,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  const pem = cert.toString('pem');
  return { cert: pem, key };
}

if (parentPort !== null) {
  const port = parentPort;
  makeDefaultCertificatePem().then(
    (pem) => port.postMessage({ ok: true, ...pem }),
    (err: unknown) => port.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
  );
}
