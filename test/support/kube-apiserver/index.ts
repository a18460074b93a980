/**
 * A Kubernetes API server stand-in for tests (docs/kubernetes.md says what it
 * covers): HTTPS on 127.0.0.1 with its own CA, bearer-token auth, discovery,
 * CRUD, patches, the /status subresource, list and watch with
 * resourceVersion, BOOKMARK and 410 Gone. The real `kubectl` drives it
 * through a kubeconfig written next to the certificates.
 *
 *   const api = await KubeApiServer.start();
 *   api.kubectl(['apply', '-f', '-'], yaml);
 *   await api.stop(); await api.restart(); api.compact();
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCerts, type ServingCerts } from './certs.js';
import { makeHandler } from './server.js';
import { Store } from './store.js';
import { findResource, RESOURCES, type ResourceType } from './resources.js';
import { AdmissionWebhooks } from './admission.js';

export { Store } from './store.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubeApiServer {
  readonly store = new Store();
  /**
   * Validating admission webhooks (admission.ts): those of the ValidatingWebhookConfigurations
   * applied to the store, and targets registered here, review create/update.
   */
  readonly webhooks = new AdmissionWebhooks(this.store);
  #token = randomBytes(24).toString('base64url');
  readonly dir: string;
  readonly certs: ServingCerts;
  readonly kubeconfig: string;
  /** Every request served ("METHOD /path?query"). */
  readonly requests: string[] = [];
  /** The User-Agent of each request in `requests` (same index). */
  readonly userAgents: string[] = [];
  #server: Server | null = null;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  readonly #watches = new Set<ServerResponse>();
  readonly #bookmarkMs: number;
  readonly #resources: readonly ResourceType[];

  private constructor(bookmarkMs: number, withoutGroups: readonly string[]) {
    this.#resources = RESOURCES.filter((r) => !withoutGroups.includes(r.group));
    this.dir = mkdtempSync(join(tmpdir(), 'gatehouse-kube-'));
    this.certs = makeCerts(this.dir);
    this.kubeconfig = join(this.dir, 'kubeconfig');
    this.#bookmarkMs = bookmarkMs;
    for (const ns of ['default', 'kube-system', 'kube-public'])
      this.store.create(findResource('', 'v1', 'namespaces')!, '', { metadata: { name: ns } });
  }

  /** `withoutGroups`: API groups the server does not serve (a cluster without those CRDs: 404, absent from discovery). */
  static async start(opts: { bookmarkMs?: number; withoutGroups?: readonly string[] } = {}): Promise<KubeApiServer> {
    const s = new KubeApiServer(opts.bookmarkMs ?? 1000, opts.withoutGroups ?? []);
    await s.#listen(0);
    s.#writeKubeconfig();
    return s;
  }

  /** The bearer token the server accepts (and kubectl's kubeconfig carries). */
  get token(): string {
    return this.#token;
  }

  /**
   * A new token, as when a projected service-account token rotates: from now on only it is
   * accepted (the old one gets 401; open watches keep going, as on a real server).
   * The kubeconfig is rewritten with it; `tokenFile`, when given, gets it too (written atomically).
   */
  rotateToken(tokenFile?: string): string {
    this.#token = randomBytes(24).toString('base64url');
    this.#writeKubeconfig();
    if (tokenFile !== undefined) {
      const tmp = `${tokenFile}.${process.pid}.tmp`;
      writeFileSync(tmp, this.#token, { mode: 0o600 });
      renameSync(tmp, tokenFile);
    }
    return this.#token;
  }

  /**
   * A service-account directory as a pod has it (`token`, `ca.crt`, `namespace`) under
   * this server's temp dir: for in-cluster tests with GATEHOUSE_SERVICEACCOUNT_DIR.
   */
  serviceAccountDir(namespace = 'default'): string {
    const dir = join(this.dir, 'serviceaccount');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'token'), this.#token, { mode: 0o600 });
    copyFileSync(this.certs.caFile, join(dir, 'ca.crt'));
    writeFileSync(join(dir, 'namespace'), namespace);
    return dir;
  }

  #writeKubeconfig(): void {
    const tmp = `${this.kubeconfig}.tmp`;
    writeFileSync(
      tmp,
      `apiVersion: v1
kind: Config
clusters:
  - name: standin
    cluster:
      server: ${this.url}
      certificate-authority: ${this.certs.caFile}
users:
  - name: tester
    user:
      token: ${this.#token}
contexts:
  - name: standin
    context: { cluster: standin, user: tester, namespace: default }
current-context: standin
`,
      { mode: 0o600 },
    );
    renameSync(tmp, this.kubeconfig);
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== null;
  }

  async #listen(port: number): Promise<void> {
    const server = createServer(
      { cert: this.certs.cert, key: this.certs.key },
      makeHandler({
        store: this.store,
        token: () => this.#token,
        bookmarkMs: this.#bookmarkMs,
        requests: this.requests,
        userAgents: this.userAgents,
        watches: this.#watches,
        admission: this.webhooks,
        resources: this.#resources,
      }),
    );
    server.on('connection', (sock: Socket) => {
      this.#sockets.add(sock);
      sock.on('close', () => this.#sockets.delete(sock));
    });
    server.on('secureConnection', (sock) => {
      this.#sockets.add(sock);
      sock.on('close', () => this.#sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.#port = addr.port;
    this.#server = server;
  }

  /** Stop answering: open watches are cut, the port is released (the objects are kept). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    for (const w of this.#watches) w.destroy();
    this.#watches.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listen again on the same port, with the same objects and resourceVersions. */
  async restart(): Promise<void> {
    if (this.#server !== null) return;
    const end = Date.now() + 5000;
    for (;;) {
      try {
        await this.#listen(this.#port);
        return;
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Forget the event history: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** End every open watch cleanly (as an API server does at its watch timeout). */
  endWatches(): void {
    for (const w of this.#watches) w.end();
    this.#watches.clear();
  }

  /** Run the real kubectl against this server (stdin optional); never throws on a non-zero exit. */
  kubectl(args: string[], stdin?: string, timeoutMs = 30_000): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', this.kubeconfig, ...args],
        { timeout: timeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir } },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
          resolve({ code, stdout, stderr });
        },
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
    });
  }

  /** kubectl that must succeed: the output, or an assertion-style error with stderr. */
  async kubectlOk(args: string[], stdin?: string): Promise<string> {
    const r = await this.kubectl(args, stdin);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
