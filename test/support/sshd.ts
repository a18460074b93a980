/**
 * A real OpenSSH server for tests (Debian's `openssh-server`): a host key and
 * a deploy key made with `ssh-keygen -t ed25519 -N ''`, an `sshd_config` in a
 * temporary folder (127.0.0.1 on a free port, public-key login only, the
 * deploy key as the only authorised key), run in the foreground as the
 * current user (`sshd -D -e -f config`), stopped by `close()`.
 *
 * git over ssh runs `git-upload-pack '<path>'` through the login shell of the
 * current user, so a repository is reachable as
 * `ssh://<user>@127.0.0.1:<port><absolute path>`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface KeyPair {
  /** The private key file (mode 0600). */
  file: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** The private key file's content (to check that it never leaks). */
  privateKey: string;
}

export interface TestSshd {
  readonly dir: string;
  readonly port: number;
  /** The user git logs in as (the current user). */
  readonly user: string;
  readonly hostKey: KeyPair;
  readonly deployKey: KeyPair;
  /** A known_hosts file holding the server's real host key. */
  readonly knownHostsFile: string;
  /** `ssh://user@127.0.0.1:port<path>`. */
  url(absPath: string): string;
  /** A known_hosts line for this server with another public key. */
  knownHostsLine(publicKey: string): string;
  /** What sshd printed (-e: its log on stderr). */
  log(): string;
  close(): Promise<void>;
}

/** `ssh-keygen -t ed25519 -N ''` into `file` (and `file.pub`). */
export function makeKey(file: string, comment: string): KeyPair {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
  return {
    file,
    publicKey: readFileSync(`${file}.pub`, 'utf8').trim(),
    privateKey: readFileSync(file, 'utf8'),
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The OpenSSH version as [major, minor], from `ssh -V`. */
function opensshVersion(): [number, number] {
  const out = execFileSync('ssh', ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseVersion(out);
}
function parseVersion(text: string): [number, number] {
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(text);
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}

async function untilListening(port: number, child: ChildProcess, log: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    if (/Server listening on 127\.0\.0\.1 port/.test(log())) {
      const ok = await new Promise<boolean>((r) => {
        const c = connect(port, '127.0.0.1', () => {
          c.destroy();
          r(true);
        });
        c.on('error', () => r(false));
      });
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${ms} ms:\n${log()}`);
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install Debian's openssh-server (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'));
  const user = userInfo().username;
  const hostKey = makeKey(join(dir, 'host_ed25519'), 'gatehouse-test-host');
  const deployKey = makeKey(join(dir, 'deploy_ed25519'), 'gatehouse-test-deploy');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, `${deployKey.publicKey}\n`, { mode: 0o600 });
  // sshd running as root insists on its privilege-separation folder (systemd makes it for the service).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { recursive: true });
    chmodSync('/run/sshd', 0o755);
  }
  const [major, minor] = opensshVersion();
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        `HostKey ${hostKey.file}`,
        `AuthorizedKeysFile ${authorized}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        // Tests run as root in CI: a key login for root needs this (it is also OpenSSH's default).
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'LogLevel VERBOSE',
        'MaxStartups 50',
        // OpenSSH 9.8+ delays a source whose connections close before authenticating (a refused host key does).
        ...(major > 9 || (major === 9 && minor >= 8) ? ['PerSourcePenalties no'] : []),
        '',
      ].join('\n'),
    );
    let out = '';
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await untilListening(port, child, () => out, 10_000);
    } catch (e) {
      lastError = e as Error;
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      continue; // the free port was taken in between: another one
    }
    const knownHostsFile = join(dir, 'known_hosts');
    const knownHostsLine = (publicKey: string): string => `[127.0.0.1]:${port} ${publicKey}`;
    writeFileSync(knownHostsFile, `${knownHostsLine(hostKey.publicKey)}\n`);
    return {
      dir,
      port,
      user,
      hostKey,
      deployKey,
      knownHostsFile,
      url: (absPath) => `ssh://${user}@127.0.0.1:${port}${absPath}`,
      knownHostsLine,
      log: () => out,
      async close() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
          if (!done) child.kill('SIGKILL');
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('sshd did not start');
}
