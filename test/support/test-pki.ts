/**
 * A small PKI for tests, made with the openssl command line (test support
 * only; Gatehouse itself never runs openssl): a root CA, an intermediate, and
 * leaves signed by the intermediate, each as PEM; a leaf as PKCS#12 too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly rootCrt: string;
  readonly interCrt: string;
  /** A new leaf (EC P-256) signed by the intermediate: its certificate, key (PKCS#8 PEM), PFX (base64, no password). */
  leaf(cn: string): { crt: string; key: string; pfxBase64: string };
  /** A self-signed server certificate for 127.0.0.1. */
  readonly serverCrt: string;
  readonly serverKey: string;
  close(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  };
  const ext = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  const ca = ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const leafExt = ext(
    'leaf.ext',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'root.key',
    '-out',
    'root.crt',
    '-subj',
    '/CN=Test Root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  ssl('req', ...ec, '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Test Intermediate');
  ssl(
    'x509',
    '-req',
    '-in',
    'inter.csr',
    '-CA',
    'root.crt',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-out',
    'inter.crt',
    '-days',
    '30',
    '-extfile',
    ca,
  );
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.crt',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '30',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  );
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  let n = 0;
  return {
    rootCrt: read('root.crt'),
    interCrt: read('inter.crt'),
    serverCrt: read('server.crt'),
    serverKey: read('server.key'),
    leaf(cn) {
      const b = `leaf${++n}`;
      ssl('req', ...ec, '-keyout', `${b}.key`, '-out', `${b}.csr`, '-subj', `/CN=${cn}`);
      ssl(
        'x509',
        '-req',
        '-in',
        `${b}.csr`,
        '-CA',
        'inter.crt',
        '-CAkey',
        'inter.key',
        '-CAcreateserial',
        '-out',
        `${b}.crt`,
        '-days',
        '30',
        '-extfile',
        leafExt,
      );
      ssl('pkcs12', '-export', '-inkey', `${b}.key`, '-in', `${b}.crt`, '-certfile', 'inter.crt', '-out', `${b}.pfx`, '-passout', 'pass:');
      return { crt: read(`${b}.crt`), key: read(`${b}.key`), pfxBase64: readFileSync(join(dir, `${b}.pfx`)).toString('base64') };
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
