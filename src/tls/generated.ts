/**
 * Gatehouse's own default certificate, as Traefik's "TRAEFIK DEFAULT CERT":
 * self-signed, made at start (EC P-256, one year), served when no configured
 * certificate matches the SNI and no default certificate is configured.
 * Made with @peculiar/x509 (node:crypto parses X.509 but cannot issue it), in a
 * worker thread (generated-worker.ts) so that library never loads into the
 * gateway's heap.
 */
import { X509Certificate } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { describe, type CertificateInfo, type CertificateMaterial } from './certificates.js';

export { DEFAULT_CERT_CN } from './default-cert-name.js';

/** How long the worker may take (a key pair and one signature: milliseconds in practice). */
const GENERATE_TIMEOUT_MS = 30_000;

export async function generateDefaultCertificate(): Promise<{ material: CertificateMaterial; info: CertificateInfo }> {
  // From TypeScript sources (tests, through tsx, whose hooks a worker thread does not get) it runs in-process;
  // the built gateway (dist/) always uses the worker, which test/deploy-image.test.ts starts.
  const pem = import.meta.url.endsWith('.ts')
    ? await (await import('./generated-worker.js')).makeDefaultCertificatePem()
    : await inWorker(new URL('./generated-worker.js', import.meta.url));
  return { material: pem, info: describe(new X509Certificate(pem.cert)) };
}

function inWorker(url: URL): Promise<{ cert: string; key: string }> {
  const worker = new Worker(url);
  return new Promise<{ cert: string; key: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('generating the default certificate timed out')), GENERATE_TIMEOUT_MS);
    worker.once('message', (m: { ok: true; cert: string; key: string } | { ok: false; message: string }) => {
      clearTimeout(timer);
      if (m.ok) resolve({ cert: m.cert, key: m.key });
      else reject(new Error(`generating the default certificate failed: ${m.message}`));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the default certificate worker exited (${code}) without an answer`));
    });
  }).finally(() => void worker.terminate());
}
