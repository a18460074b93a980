/**
 * A real ACME CA for tests: Let's Encrypt's `pebble` (Debian package) with
 * `pebble-challtestsrv` as its DNS server, so every name resolves to
 * 127.0.0.1 and dns-01 TXT records can be set through its management API.
 * With `dnsServer` pebble asks that server instead (a test's PowerDNS or
 * BIND, authoritative for the zone): dns-01 is then validated against the
 * records Gatehouse wrote there, and no challtestsrv runs.
 *
 * Pebble ships no usable TLS certificate: a CA and a leaf for
 * 127.0.0.1/localhost are made with openssl here, and `caPem` is what a client
 * must trust (the resolver's `cacertificates`). Pebble validates http-01 on
 * `<domain>:httpPort` and tls-alpn-01 on `<domain>:tlsPort`, which the test's
 * own servers listen on. `stop()`/`start()` take the CA down and bring it back
 * on the same ports (a new CA root: pebble makes its roots at start).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPebble {
  readonly dir: string;
  /** The ACME directory URL. */
  readonly directory: string;
  /** The PEM file of the CA that signed pebble's own TLS certificate. */
  readonly caFile: string;
  readonly caPem: string;
  readonly httpPort: number;
  readonly tlsPort: number;
  /** The DNS port pebble asks (UDP and TCP on 127.0.0.1): challtestsrv's, or the port of `dnsServer`. */
  readonly dnsPort: number;
  /** The issuing root of the running pebble (PEM), from its management API. */
  root(): Promise<string>;
  /** Its intermediates/0 (PEM). */
  intermediate(): Promise<string>;
  /** Sets / clears a TXT record on challtestsrv (dns-01 for a test's own solver); throws with `dnsServer`. */
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /** What pebble printed. */
  log(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PebbleOptions {
  readonly httpPort: number;
  readonly tlsPort: number;
  /** Seconds; pebble's default is 5 years. */
  readonly certificateValidityPeriod?: number;
  /** External account binding required, with these kid → base64url HMAC keys. */
  readonly externalAccountMACKeys?: Readonly<Record<string, string>>;
  /**
   * `host:port` of the DNS server pebble resolves every name with (its
   * `-dnsserver`), instead of a challtestsrv started here. Pebble's resolver (Go)
   * asks over UDP with recursion desired; an authoritative server answers for
   * its zones anyway. The host must be an IP address.
   */
  readonly dnsServer?: string;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function makeTlsCert(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=Pebble Test TLS CA',
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  ssl('req', ...ec, '-keyout', 'key.pem', '-out', 'cert.csr', '-subj', '/CN=localhost');
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'cert.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'cert.pem',
    '-days',
    '2',
    '-extfile',
    'leaf.ext',
  );
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

async function untilListening(port: number, child: ChildProcess, what: string, out: () => string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${out().slice(-1500)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} did not listen on ${port} within ${ms} ms: ${out().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(c: ChildProcess | null): Promise<void> {
  if (c === null || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

export async function startPebble(opts: PebbleOptions): Promise<TestPebble> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pebble-'));
  const tls = makeTlsCert(dir);
  const caPem = readFileSync(tls.caFile, 'utf8');
  const [acmePort, mgmtPort, dnsPort, challMgmtPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: tls.certFile,
        privateKey: tls.keyFile,
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.externalAccountMACKeys !== undefined,
        ...(opts.externalAccountMACKeys !== undefined ? { externalAccountMACKeys: opts.externalAccountMACKeys } : {}),
        ...(opts.certificateValidityPeriod !== undefined ? { certificateValidityPeriod: opts.certificateValidityPeriod } : {}),
      },
    }),
  );
  let out = '';
  const dnsServer = opts.dnsServer ?? `127.0.0.1:${dnsPort}`;
  let chall: ChildProcess | null = null;
  if (opts.dnsServer === undefined) {
    const c = spawn(
      'pebble-challtestsrv',
      [
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${challMgmtPort}`,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    chall = c;
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await untilListening(challMgmtPort, c, 'pebble-challtestsrv', () => out);
  }

  let pebble: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const c = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', dnsServer], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    });
    pebble = c;
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await untilListening(acmePort, c, 'pebble', () => out);
    await untilListening(mgmtPort, c, 'pebble', () => out);
  };
  const stop = async (): Promise<void> => {
    const c = pebble;
    pebble = null;
    await stopChild(c);
  };

  const mgmt = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: mgmtPort, path, ca: caPem, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble ${path}: ${res.statusCode} ${body}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`pebble ${path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  const chMgmt = (path: string, body: object): Promise<void> =>
    new Promise((resolve, reject) => {
      if (chall === null) return reject(new Error(`challtestsrv ${path}: pebble asks ${dnsServer}, no challtestsrv runs`));
      const req = httpRequest({ host: '127.0.0.1', port: challMgmtPort, path, method: 'POST', timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`challtestsrv ${path}: ${res.statusCode}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`challtestsrv ${path}: timed out`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  try {
    await start();
  } catch (e) {
    await stopChild(chall);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile: tls.caFile,
    caPem,
    httpPort: opts.httpPort,
    tlsPort: opts.tlsPort,
    dnsPort: opts.dnsServer === undefined ? dnsPort : Number(opts.dnsServer.slice(opts.dnsServer.lastIndexOf(':') + 1)),
    root: () => mgmt('/roots/0'),
    intermediate: () => mgmt('/intermediates/0'),
    setTxt: (host, value) => chMgmt('/set-txt', { host: host.endsWith('.') ? host : `${host}.`, value }),
    clearTxt: (host) => chMgmt('/clear-txt', { host: host.endsWith('.') ? host : `${host}.` }),
    log: () => out,
    stop,
    start,
    async close() {
      await stop();
      await stopChild(chall);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
