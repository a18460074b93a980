/**
 * A Key Vault certificate as akv2k8s turns it into a `kubernetes.io/tls`
 * Secret. Key Vault keeps a certificate's private key and chain in the secret
 * of the same name (`GET {vault}/secrets/{name}`), whose `contentType` is the
 * certificate policy's `secretProperties.contentType`: `application/x-pem-file`
 * (PEM: the private key and the certificates) or `application/x-pkcs12`
 * (base64 of a PFX). Gatehouse reads the PEM form with node:crypto; node:crypto
 * has no PKCS#12 reader and Gatehouse does not run `openssl`, so PKCS#12 is
 * refused with what to change. Errors never quote the value.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { SecretFormatError } from './secrets.js';

export const PEM_CONTENT_TYPE = 'application/x-pem-file';
export const PKCS12_CONTENT_TYPE = 'application/x-pkcs12';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

/**
 * `tls.crt` (the chain, PEM) and `tls.key` (PKCS#8 PEM) from the value of a
 * certificate's secret. The chain keeps Key Vault's order; with
 * `ensureServerFirst` (akv2k8s's `chainOrder: ensureserverfirst`) the
 * certificate that matches the private key is moved first. Either way the
 * first certificate must match the key, or the Secret is refused.
 */
export function tlsFromCertificateSecret(
  value: string,
  contentType: string | undefined,
  ensureServerFirst: boolean,
): { crt: string; key: string } {
  if (contentType === PKCS12_CONTENT_TYPE)
    throw new SecretFormatError(
      `the certificate's secret has contentType ${PKCS12_CONTENT_TYPE} (PKCS#12), which Gatehouse does not read: set the Key Vault certificate policy's secretProperties.contentType to ${PEM_CONTENT_TYPE} and create a new version of the certificate`,
    );
  if (contentType !== undefined && contentType !== '' && contentType !== PEM_CONTENT_TYPE)
    throw new SecretFormatError(
      `the certificate's secret has contentType ${JSON.stringify(contentType.slice(0, 80))}: expected ${PEM_CONTENT_TYPE}`,
    );
  const certs: X509Certificate[] = [];
  const keys: string[] = [];
  for (const m of value.matchAll(BLOCK)) {
    const label = m[1] as string;
    if (label === 'CERTIFICATE') {
      try {
        certs.push(new X509Certificate(m[0]));
      } catch {
        throw new SecretFormatError(`certificate ${certs.length + 1} of the certificate's secret does not parse`);
      }
    } else if (KEY_LABELS.has(label)) keys.push(m[0]);
    else if (label === 'ENCRYPTED PRIVATE KEY')
      throw new SecretFormatError("the certificate's private key is encrypted: Key Vault certificates hold an unencrypted key");
  }
  if (certs.length === 0)
    throw new SecretFormatError(`the certificate's secret holds no CERTIFICATE block (contentType ${PEM_CONTENT_TYPE})`);
  if (keys.length !== 1)
    throw new SecretFormatError(
      keys.length === 0
        ? "the certificate's secret holds no private key: is the certificate's key exportable (policy keyProperties.exportable)?"
        : `the certificate's secret holds ${keys.length} private keys: expected one`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(keys[0] as string);
  } catch {
    throw new SecretFormatError("the certificate's private key does not parse");
  }
  const leaf = certs.findIndex((c) => c.checkPrivateKey(key));
  if (leaf === -1) throw new SecretFormatError("no certificate of the certificate's secret matches its private key");
  if (ensureServerFirst && leaf > 0) certs.unshift(...certs.splice(leaf, 1));
  else if (leaf !== 0)
    throw new SecretFormatError(
      `the first certificate of the chain does not match the private key (certificate ${leaf + 1} does): set output.secret.chainOrder: ensureserverfirst`,
    );
  return { crt: certs.map((c) => c.toString()).join(''), key: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}
