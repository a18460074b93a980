/**
 * A real git smart-HTTP server for tests: `git http-backend` (the CGI program
 * shipped with git) behind a node `https` server on 127.0.0.1, with HTTP
 * Basic authentication required on every request (user and password
 * compared in constant time), and a TLS certificate for 127.0.0.1/localhost
 * issued by a private CA made with `openssl` for the test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** PEM of the CA certificate (what a client trusts). */
  caFile: string;
  /** Server certificate (signed by the CA) and key. */
  certFile: string;
  keyFile: string;
}

/** A private CA and a server certificate for 127.0.0.1 and localhost (ECDSA P-256, one day). */
export function makeCa(dir: string, name: string): TestCa {
  const p = (f: string): string => join(dir, `${name}-${f}`);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', `/CN=Gatehouse test CA ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ); // prettier-ignore
  openssl('req', '-new', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(
    p('server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  openssl(
    'x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.pem'), '-days', '1', '-extfile', p('server.ext'),
  ); // prettier-ignore
  return { caFile: p('ca.pem'), certFile: p('server.pem'), keyFile: p('server.key') };
}

export interface GitHttpRequest {
  method: string;
  path: string;
  /** The authenticated user, or null when the request was refused (401). */
  user: string | null;
  /** Whether the request carried an Authorization header at all. */
  hadCredentials: boolean;
}

export interface TestGitHttp {
  readonly port: number;
  readonly ca: TestCa;
  /** `https://127.0.0.1:<port>/<name>` for a repository folder under the project root. */
  url(name: string): string;
  /** Every request seen (TLS handshakes that failed never get here). */
  readonly requests: GitHttpRequest[];
  /** TLS connections the server saw (completed or failed handshakes): an untrusting client connects, then sends nothing. */
  tlsConnections(): number;
  close(): Promise<void>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time check of `user:password` against every account (each compared, whatever matches). */
function authenticate(header: string | undefined, accounts: ReadonlyMap<string, string>): string | null {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (m === null) return null;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const user = decoded.slice(0, colon);
  const given = digest(decoded);
  let found: string | null = null;
  for (const [u, p] of accounts) {
    if (timingSafeEqual(given, digest(`${u}:${p}`))) found = user;
  }
  return found;
}

/** Runs `git http-backend` for one request (CGI/1.1) and relays its answer. */
function cgi(projectRoot: string, user: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    AUTH_TYPE: 'Basic',
  };
  const h = req.headers;
  if (h['content-type'] !== undefined) env.CONTENT_TYPE = h['content-type'];
  if (h['content-length'] !== undefined) env.CONTENT_LENGTH = h['content-length'];
  if (typeof h['content-encoding'] === 'string') env.HTTP_CONTENT_ENCODING = h['content-encoding'];
  if (typeof h['git-protocol'] === 'string') env.GIT_PROTOCOL = h['git-protocol'];
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let headersSent = false;
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.on('data', (b: Buffer) => {
    if (headersSent) {
      res.write(b);
      return;
    }
    head = Buffer.concat([head, b]);
    const text = head.toString('latin1');
    const crlf = text.indexOf('\r\n\r\n');
    const lf = text.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    let status = 200;
    for (const line of text.slice(0, end).split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    headersSent = true;
    res.write(head.subarray(end));
  });
  child.on('close', (code) => {
    if (!headersSent) {
      res.statusCode = 500;
      res.end(`git http-backend exited ${code}: ${stderr}`);
    } else res.end();
  });
}

export async function startGitHttp(opts: {
  /** Folder whose sub-folders are the repositories (`/<name>` in the URL). */
  projectRoot: string;
  /** user → password (a token is the password of its user). */
  accounts: Record<string, string>;
}): Promise<TestGitHttp> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-git-http-'));
  const ca = makeCa(dir, 'server');
  const accounts = new Map(Object.entries(opts.accounts));
  const requests: GitHttpRequest[] = [];
  let tlsConnections = 0;
  const server: Server = createServer({ cert: readFileSync(ca.certFile), key: readFileSync(ca.keyFile) }, (req, res) => {
    const user = authenticate(req.headers.authorization, accounts);
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      user,
      hadCredentials: req.headers.authorization !== undefined,
    });
    if (user === null) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="gatehouse-test-git"', 'content-type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    cgi(opts.projectRoot, user, req, res);
  });
  server.on('tlsClientError', () => tlsConnections++);
  server.on('secureConnection', () => tlsConnections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    port,
    ca,
    url: (name) => `https://127.0.0.1:${port}/${name}`,
    requests,
    tlsConnections: () => tlsConnections,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
