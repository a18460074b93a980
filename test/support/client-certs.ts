/**
 * Client certificates for mutual-TLS tests (passTLSClientCert), made with the
 * openssl command line: a root, an intermediate with a full distinguished name,
 * a client leaf with every name attribute Traefik reads (DC, C, ST, L, O, OU,
 * serialNumber, CN) and every SAN kind (DNS, email, IP, URI), a server
 * certificate for 127.0.0.1 signed by the root. `x509(pem, ...args)` runs
 * `openssl x509` on a certificate so tests compare with openssl's own reading.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientCertPki {
  readonly dir: string;
  readonly rootCrt: string;
  readonly interCrt: string;
  readonly clientCrt: string;
  readonly clientKey: string;
  readonly serverCrt: string;
  readonly serverKey: string;
  /**
   * Files in `dir`: root.crt, inter.crt, client.crt, client.key, server.crt, server.key (127.0.0.1,
   * localhost, open.test), spiffe.crt, spiffe.key (URI spiffe://example.com/backend, DNS elsewhere.test).
   */
  file(name: string): string;
  /** `openssl x509 -in <pem> -noout <args>`, trimmed. */
  x509(pem: string, ...args: string[]): string;
  close(): void;
}

export const CLIENT_SUBJECT =
  '/DC=org/DC=example/C=FR/ST=Occitanie/L=Toulouse/O=Gatehouse Test/OU=Team A/OU=Team B/serialNumber=1234/CN=client one';
export const INTER_SUBJECT = '/DC=com/DC=gatehouse/C=DE/ST=Berlin/L=Berlin/O=Gatehouse CA/OU=PKI/serialNumber=77/CN=Test Intermediate';
export const CLIENT_SAN =
  'email:me@example.com,DNS:client.example.com,URI:spiffe://example.com/client,IP:127.0.0.1,DNS:b.example.com,IP:2001:db8::1';

export function createClientCertPki(): ClientCertPki {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mtls-'));
  const ssl = (...args: string[]): string =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).toString();
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const caExt = write('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const clientExt = write(
    'client.ext',
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=${CLIENT_SAN}\n`,
  );
  const serverExt = write(
    'server.ext',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:open.test\n',
  );
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'root.key',
    '-out',
    'root.crt',
    '-subj',
    '/CN=mTLS Test Root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const signed = (base: string, subj: string, ca: string, ext: string): void => {
    ssl('req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subj);
    ssl(
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${base}.crt`,
      '-days',
      '20',
      '-extfile',
      ext,
    );
  };
  signed('inter', INTER_SUBJECT, 'root', caExt);
  signed('client', CLIENT_SUBJECT, 'inter', clientExt);
  signed('server', '/CN=127.0.0.1', 'root', serverExt);
  const spiffeExt = write(
    'spiffe.ext',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=URI:spiffe://example.com/backend,DNS:elsewhere.test\n',
  );
  signed('spiffe', '/CN=spiffe backend', 'root', spiffeExt);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    rootCrt: read('root.crt'),
    interCrt: read('inter.crt'),
    clientCrt: read('client.crt'),
    clientKey: read('client.key'),
    serverCrt: read('server.crt'),
    serverKey: read('server.key'),
    file: (name) => join(dir, name),
    x509(pem, ...args) {
      const f = write(`x509-${Math.random().toString(36).slice(2)}.pem`, pem);
      return ssl('x509', '-in', f, '-noout', ...args).trim();
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What openssl says of one certificate, in Traefik's info units: decimal serial, notBefore/notAfter in seconds. */
export function opensslFacts(pki: ClientCertPki, pem: string): { serial: string; nb: number; na: number; der: string } {
  const serial = BigInt(`0x${pki.x509(pem, '-serial').replace(/^serial=/, '')}`).toString(10);
  const dates = pki.x509(pem, '-dates', '-dateopt', 'iso_8601');
  const nb = /notBefore=(\S+ \S+)/.exec(dates)?.[1] ?? '';
  const na = /notAfter=(\S+ \S+)/.exec(dates)?.[1] ?? '';
  const der = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return { serial, nb: Date.parse(nb.replace(' ', 'T')) / 1000, na: Date.parse(na.replace(' ', 'T')) / 1000, der };
}
