/**
 * Gatehouse's own default certificate, as Traefik's "TRAEFIK DEFAULT CERT":
 * self-signed, made at start (EC P-256, one year), served when no configured
 * certificate matches the SNI and no default certificate is configured.
 * Made with @peculiar/x509 (node:crypto parses X.509 but cannot issue it).
 */
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, type CertificateInfo, type CertificateMaterial } from './certificates.js';

export const DEFAULT_CERT_CN = 'GATEHOUSE DEFAULT CERT';

export async function generateDefaultCertificate(): Promise<{ material: CertificateMaterial; info: CertificateInfo }> {
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
  return { material: { cert: pem, key }, info: describe(new X509Certificate(pem)) };
}
