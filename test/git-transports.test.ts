/**
 * The git provider over real transports (issue 12):
 * - ssh:// to a real OpenSSH sshd the test starts (a deploy key, a
 *   known_hosts file): the seed-style repository is fetched and serves; a
 *   changed or unknown host key is refused (FetchFailed in GET
 *   /api/providers, nothing of the refused revision serves); a key the
 *   server does not accept is refused; the private key is in no log line
 *   and no status.
 * - https:// to `git http-backend` behind a TLS server with HTTP Basic auth:
 *   --providers.git.tokenfile, --providers.git.usernamefile + passwordfile;
 *   a wrong password (FetchFailed, the password nowhere); the server
 *   certificate is verified (a private CA is trusted only through
 *   --providers.git.cafile).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve, type RunningGatehouse } from '../src/server/serve.js';
import { createLogger } from '../src/log.js';
import type { ProviderStatus } from '../src/providers/types.js';
import { eventually, listenLoopback } from './support/gateway.js';
import { TestRepo, calcOverlays } from './support/git-repo.js';
import { makeKey, startSshd, type TestSshd } from './support/sshd.js';
import { makeCa, startGitHttp, type TestGitHttp } from './support/git-http.js';

const TOKEN = 'tok-3f9a1c0e7b2d4a6f8e5c1b9d7a3e2f40';
const ALICE_PASSWORD = 'alice-pw-51c8e2a9d04b7f36';
const WRONG_PASSWORD = 'wrong-pw-8d2f6b1a93c7e054';

let root: string;
let up: Server;
let upPort = 0;
let repo: TestRepo;
let sshd: TestSshd;
let http: TestGitHttp;

/** The seed's layout, smaller: kustomize/base, a dev overlay (namespace + patch), a plain config/ folder. */
function seed(port: number): Record<string, string> {
  return {
    ...calcOverlays(port),
    'config/plain.yaml': plain('plain', port),
  };
}

function plain(name: string, port: number): string {
  return `http:
  routers:
    ${name}:
      rule: Host(\`${name}.test\`)
      service: ${name}
  services:
    ${name}:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`;
}

interface Gw {
  running: RunningGatehouse;
  data: string;
  logs: () => string;
  get: (host: string) => Promise<number>;
  statuses: () => Promise<ProviderStatus[]>;
  git: () => Promise<ProviderStatus>;
  until: (what: string, pred: (s: ProviderStatus) => boolean, ms?: number) => Promise<ProviderStatus>;
  close: () => Promise<void>;
}

const ready = (s: ProviderStatus): { status: string; reason: string; message: string } =>
  s.conditions!.find((c) => c.type === 'Ready') ?? { status: '', reason: '', message: '' };

async function startGw(flags: string[]): Promise<Gw> {
  const data = mkdtempSync(join(root, 'data-'));
  let logs = '';
  const out = new PassThrough();
  out.on('data', (c: Buffer) => (logs += c.toString()));
  const argv = [
    '--entrypoints.web.address=127.0.0.1:0',
    '--entrypoints.traefik.address=127.0.0.1:0',
    '--api.insecure',
    '--providers.git.paths=config',
    '--providers.git.kustomizeroot=kustomize',
    '--providers.git.interval=200ms',
    '--providers.git.timeout=20s',
    '--providers.providersThrottleDuration=0s',
    '--workers=1',
    `--datadir=${data}`,
    ...flags,
  ];
  const running = await serve(serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root), {
    log: createLogger('debug', out),
  });
  const web = `http://127.0.0.1:${running.addresses.web!.port}`;
  const admin = `http://127.0.0.1:${running.addresses.traefik!.port}`;
  const statuses = async (): Promise<ProviderStatus[]> => {
    const r = await request(`${admin}/api/providers`);
    assert.equal(r.statusCode, 200);
    return (await r.body.json()) as ProviderStatus[];
  };
  const git = async (): Promise<ProviderStatus> => {
    const s = (await statuses()).find((p) => p.name === 'git');
    assert.ok(s !== undefined, 'a git provider in GET /api/providers');
    return s;
  };
  return {
    running,
    data,
    logs: () => logs,
    get: async (host) => {
      const r = await request(web, { headers: { host } });
      await r.body.dump();
      return r.statusCode;
    },
    statuses,
    git,
    until: async (what, pred, ms = 25_000) => {
      let last: ProviderStatus | undefined;
      const ok = await eventually(
        async () => {
          last = await git();
          return pred(last);
        },
        ms,
        100,
      );
      assert.ok(ok, `${what} (status: ${JSON.stringify(last)})`);
      return last!;
    },
    close: async () => {
      await running.close();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The base64 lines of a PEM/OpenSSH private key: none may appear anywhere. */
function keyLines(privateKey: string): string[] {
  return privateKey.split('\n').filter((l) => /^[A-Za-z0-9+/=]{20,}$/.test(l));
}

function assertNoSecret(where: string, text: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} shows a secret (${s.slice(0, 6)}…)`);
}

const accepted = (): number => (sshd.log().match(/Accepted publickey for /g) ?? []).length;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-transports-'));
  up = createServer((_q, s) => s.end('calc'));
  upPort = await listenLoopback(up);
  repo = new TestRepo(join(root, 'origin'));
  repo.commit(seed(upPort), 'the seed layout');
  sshd = await startSshd();
  http = await startGitHttp({ projectRoot: root, accounts: { 'x-access-token': TOKEN, alice: ALICE_PASSWORD } });
});

after(async () => {
  await sshd?.close();
  await http?.close();
  up?.close();
  rmSync(root, { recursive: true, force: true });
});

const sshFlags = (knownHosts = sshd.knownHostsFile, key = sshd.deployKey.file): string[] => [
  `--providers.git.url=${sshd.url(repo.dir)}`,
  `--providers.git.sshkeyfile=${key}`,
  `--providers.git.knownhostsfile=${knownHosts}`,
];

test(
  'ssh://: the seed layout is fetched from a real sshd with the deploy key and serves; a changed host key is refused, the last good revision serving',
  { timeout: 120_000 },
  async () => {
    const gw = await startGw(sshFlags());
    const originalKnownHosts = readFileSync(sshd.knownHostsFile, 'utf8');
    try {
      let s = await gw.until('applied over ssh', (x) => ready(x).status === 'True');
      assert.equal(ready(s).reason, 'ReconciliationSucceeded');
      assert.equal(s.type, 'git');
      assert.equal(s.url, sshd.url(repo.dir));
      assert.equal(s.lastAppliedRevision, `main@sha1:${repo.head()}`);
      assert.equal(await gw.get('dev.calc.test'), 200, 'the dev overlay, rendered by kustomize');
      assert.equal(await gw.get('calc.test'), 404, 'base is not applied on its own');
      assert.equal(await gw.get('plain.test'), 200, 'config/ as plain files');
      assert.match(sshd.log(), new RegExp(`Accepted publickey for ${sshd.user} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519`));

      // A new commit arrives over ssh too.
      const second = repo.commit({ 'config/second.yaml': plain('second', upPort) }, 'second');
      await gw.until('second applied', (x) => x.lastAppliedRevision === `main@sha1:${second}`);
      assert.equal(await gw.get('second.test'), 200);

      // The server's host key no longer matches known_hosts (a changed host, or a man in the middle).
      const other = makeKey(join(root, 'other-host'), 'not-the-server');
      writeFileSync(sshd.knownHostsFile, `${sshd.knownHostsLine(other.publicKey)}\n`);
      const acceptedBefore = accepted();
      const third = repo.commit({ 'config/third.yaml': plain('third', upPort) }, 'third');
      s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
      assert.equal(ready(s).status, 'False');
      assert.match(ready(s).message, /Host key verification failed/);
      assert.match(ready(s).message, /knownhostsfile/);
      assert.doesNotMatch(ready(s).message, /@@@/, 'the message is the failure, not the banner');
      assert.equal(s.lastAppliedRevision, `main@sha1:${second}`);
      assert.equal(await gw.get('third.test'), 404, 'nothing of the unverified revision serves');
      assert.equal(await gw.get('dev.calc.test'), 200, 'the last good revision keeps serving');
      assert.equal(await gw.get('second.test'), 200);
      assert.equal(accepted(), acceptedBefore, 'no login happened with the unverified host');

      // The right host key back: the waiting commit applies.
      writeFileSync(sshd.knownHostsFile, originalKnownHosts);
      s = await gw.until('third applied', (x) => x.lastAppliedRevision === `main@sha1:${third}` && ready(x).status === 'True');
      assert.equal(await gw.get('third.test'), 200);

      const secrets = keyLines(sshd.deployKey.privateKey);
      assert.ok(secrets.length > 0);
      assertNoSecret('the logs', gw.logs(), secrets);
      assertNoSecret('GET /api/providers', JSON.stringify(await gw.statuses()), secrets);
    } finally {
      writeFileSync(sshd.knownHostsFile, originalKnownHosts);
      await gw.close();
    }
  },
);

test(
  'ssh://: an unknown host key at start, a key file others can read, or a key the server refuses: FetchFailed and nothing serves',
  { timeout: 90_000 },
  async () => {
    const unknown = join(root, 'known_hosts_other');
    writeFileSync(unknown, `${sshd.knownHostsLine(makeKey(join(root, 'stranger'), 'stranger').publicKey)}\n`);
    const acceptedBefore = accepted();
    let gw = await startGw(sshFlags(unknown));
    try {
      const s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
      assert.match(ready(s).message, /Host key verification failed/);
      assert.equal(s.lastAppliedRevision ?? '', '');
      assert.equal(await gw.get('dev.calc.test'), 404);
      assert.equal(await gw.get('plain.test'), 404);
      assert.equal(accepted(), acceptedBefore);
      assertNoSecret('the logs', gw.logs(), keyLines(sshd.deployKey.privateKey));
    } finally {
      await gw.close();
    }

    // The deploy key in a file others can read (a Kubernetes secret volume's default 0644): ssh ignores it; the status says why.
    const open = join(root, 'deploy-0644');
    copyFileSync(sshd.deployKey.file, open);
    chmodSync(open, 0o644);
    gw = await startGw(sshFlags(sshd.knownHostsFile, open));
    try {
      const s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
      assert.match(ready(s).message, /too open|bad permissions/);
      assert.match(ready(s).message, /chmod 600/);
      assert.equal(await gw.get('plain.test'), 404);
      assertNoSecret('GET /api/providers', JSON.stringify(await gw.statuses()), keyLines(sshd.deployKey.privateKey));
    } finally {
      await gw.close();
    }

    const notAuthorised = makeKey(join(root, 'not-authorised'), 'not-authorised');
    gw = await startGw(sshFlags(sshd.knownHostsFile, notAuthorised.file));
    try {
      const s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
      assert.match(ready(s).message, /Permission denied \(publickey\)/);
      assert.match(ready(s).message, /sshkeyfile/);
      assert.equal(await gw.get('plain.test'), 404);
      const secrets = keyLines(notAuthorised.privateKey);
      assertNoSecret('the logs', gw.logs(), secrets);
      assertNoSecret('GET /api/providers', JSON.stringify(await gw.statuses()), secrets);
    } finally {
      await gw.close();
    }
  },
);

test('https://: --providers.git.tokenfile, with the private CA trusted by --providers.git.cafile', { timeout: 60_000 }, async () => {
  const tokenFile = join(root, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const from = http.requests.length;
  const gw = await startGw([
    `--providers.git.url=${http.url('origin')}`,
    `--providers.git.tokenfile=${tokenFile}`,
    `--providers.git.cafile=${http.ca.caFile}`,
  ]);
  try {
    const s = await gw.until('applied over https', (x) => ready(x).status === 'True');
    assert.equal(s.url, http.url('origin'));
    assert.equal(s.lastAppliedRevision, `main@sha1:${repo.head()}`);
    assert.equal(await gw.get('dev.calc.test'), 200);
    assert.equal(await gw.get('plain.test'), 200);
    const seen = http.requests.slice(from);
    assert.ok(
      seen.some((r) => r.user === null && !r.hadCredentials),
      'git asked without credentials first (401)',
    );
    assert.ok(
      seen.some((r) => r.user === 'x-access-token' && r.method === 'POST'),
      'fetched as the token user',
    );
    assert.ok(seen.every((r) => r.user !== 'alice'));
    assertNoSecret('the logs', gw.logs(), [TOKEN]);
    assertNoSecret('GET /api/providers', JSON.stringify(await gw.statuses()), [TOKEN]);
  } finally {
    await gw.close();
  }
});

test(
  'https://: --providers.git.usernamefile + passwordfile; a wrong password is FetchFailed without the password anywhere',
  { timeout: 60_000 },
  async () => {
    const userFile = join(root, 'user');
    const passFile = join(root, 'password');
    writeFileSync(userFile, 'alice\n');
    writeFileSync(passFile, `${ALICE_PASSWORD}\n`, { mode: 0o600 });
    const flags = [
      `--providers.git.url=${http.url('origin')}`,
      `--providers.git.usernamefile=${userFile}`,
      `--providers.git.passwordfile=${passFile}`,
      `--providers.git.cafile=${http.ca.caFile}`,
    ];
    let from = http.requests.length;
    let gw = await startGw(flags);
    try {
      await gw.until('applied over https', (x) => ready(x).status === 'True');
      assert.equal(await gw.get('dev.calc.test'), 200);
      assert.ok(
        http.requests.slice(from).some((r) => r.user === 'alice' && r.method === 'POST'),
        'fetched as alice',
      );
      // The askpass helper holds file names, not secrets.
      const scripts = readdirSync(join(gw.data, 'git')).map((d) => join(gw.data, 'git', d, 'askpass.sh'));
      assert.equal(scripts.length, 1);
      const script = readFileSync(scripts[0]!, 'utf8');
      assert.match(script, /GATEHOUSE_GIT_PASSWORD_FILE/);
      assertNoSecret('askpass.sh', script, [ALICE_PASSWORD, 'alice']);
      assertNoSecret('the logs', gw.logs(), [ALICE_PASSWORD]);
    } finally {
      await gw.close();
    }

    writeFileSync(passFile, `${WRONG_PASSWORD}\n`);
    from = http.requests.length;
    gw = await startGw(flags);
    try {
      const s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
      assert.match(ready(s).message, /Authentication failed/);
      assert.equal(await gw.get('dev.calc.test'), 404, 'nothing serves');
      const seen = http.requests.slice(from);
      assert.ok(
        seen.some((r) => r.hadCredentials && r.user === null),
        'the wrong password reached the server and was refused',
      );
      const shown = JSON.stringify(await gw.statuses());
      assertNoSecret('GET /api/providers', shown, [WRONG_PASSWORD, ALICE_PASSWORD]);
      assertNoSecret('the logs', gw.logs(), [WRONG_PASSWORD, ALICE_PASSWORD]);
    } finally {
      await gw.close();
    }
  },
);

test(
  'https://: the server certificate is verified: an untrusted CA fails, unless --providers.git.cafile names it',
  { timeout: 60_000 },
  async () => {
    const tokenFile = join(root, 'token2');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const otherCa = makeCa(mkdtempSync(join(root, 'ca-')), 'other');
    for (const extra of [[], [`--providers.git.cafile=${otherCa.caFile}`]]) {
      const from = http.requests.length;
      const tls = http.tlsConnections();
      const gw = await startGw([`--providers.git.url=${http.url('origin')}`, `--providers.git.tokenfile=${tokenFile}`, ...extra]);
      try {
        const s = await gw.until('FetchFailed', (x) => ready(x).reason === 'FetchFailed');
        assert.match(
          ready(s).message,
          /SSL certificate problem|server certificate verification failed/,
          `with ${extra.join(' ') || 'the system CAs'}`,
        );
        assert.match(ready(s).message, /--providers\.git\.cafile/);
        assert.equal(await gw.get('plain.test'), 404);
        assert.ok(http.tlsConnections() > tls, 'git connected to the server');
        assert.equal(http.requests.length, from, 'no HTTP request (and so no credentials) reached the server');
        assertNoSecret('GET /api/providers', JSON.stringify(await gw.statuses()), [TOKEN]);
      } finally {
        await gw.close();
      }
    }
  },
);

test('--providers.git.cafile only applies to https://', () => {
  assert.throws(
    () =>
      serveOptionsFromStatic(
        parseStaticConfig({
          argv: [`--providers.git.url=${repo.url}`, `--providers.git.cafile=${http.ca.caFile}`],
          env: {},
          cwd: root,
        }),
        root,
      ),
    /--providers\.git\.cafile: only applies to an https:\/\/ URL/,
  );
});
