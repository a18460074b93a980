/**
 * The remote repository and its working copy under the data directory, with
 * the real `git`: which commit a reference names now (`ls-remote`), a shallow
 * fetch of that commit, a checkout, and which files changed between two
 * commits. Credentials come from files only and never reach an argument
 * list, a log line or an error message.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { CommandError, redactUrl, run } from './run.js';
import { urlKind, type GitProviderConfig } from './options.js';

/** What one reference resolves to now. */
export interface ResolvedRef {
  /** The full commit SHA. */
  sha: string;
  /** Flux's revision: `main@sha1:<sha>`, `v1.2.0@sha1:<sha>`, `sha1:<sha>`. */
  revision: string;
  /** What to fetch: a ref name (`refs/heads/main`, `refs/tags/v1`) or the SHA. */
  fetch: string;
  /** Whether the fetch must bring the history (a commit checked against its branch). */
  deep: boolean;
}

export class GitFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitFetchError';
  }
}

/** Lines of git's and ssh's stderr worth showing: what failed, not the banners and advice around it. */
const TELLING =
  /host key (for|verification)|no \S+ host key is known|remote host identification has changed|permission denied|too open|bad permissions|load key|connection (refused|timed out|closed|reset)|could not resolve|ssl|certificate|authentication failed|not found|does not appear|fatal:|error:/i;

/** What the operator can do about the usual transport failures. */
const HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Host key verification failed/i, "the server's host key is not the one in --providers.git.knownhostsfile"],
  [/too open|bad permissions/i, 'ssh ignores a private key file others can read: chmod 600 it (on Kubernetes: defaultMode 0400)'],
  [/Permission denied \(publickey/i, 'the server does not accept the key of --providers.git.sshkeyfile for this user'],
  [
    /SSL certificate problem|server certificate verification failed/i,
    "the server's certificate is not trusted: give its CA with --providers.git.cafile",
  ],
  [/Authentication failed/i, 'the server refused the credentials of --providers.git.tokenfile or usernamefile/passwordfile'],
];

/** A one-line account of a failed remote command from its stderr (already without URL credentials). */
export function describeRemoteFailure(command: string, stderr: string, fallback: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/^@+|@+$/g, '').trim())
    .filter((l) => l !== '' && !l.startsWith('hint:'));
  if (lines.length === 0) return fallback;
  const telling = lines.filter((l) => TELLING.test(l));
  const shown = (telling.length > 0 ? telling : lines).slice(0, 4).join('; ');
  const hint = HINTS.find(([re]) => re.test(stderr));
  return `${command} failed: ${shown}${hint === undefined ? '' : ` (${hint[1]})`}`;
}

/** Quotes one word for the POSIX shell git runs GIT_SSH_COMMAND with. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class GitRepository {
  readonly #cfg: GitProviderConfig;
  /** `<datadir>/git/<hash of url>`. */
  readonly home: string;
  /** The working copy. */
  readonly dir: string;
  /** The URL as status and logs show it. */
  readonly displayUrl: string;
  #env: NodeJS.ProcessEnv | null = null;
  #initialised = false;

  constructor(cfg: GitProviderConfig, dataDir: string) {
    this.#cfg = cfg;
    this.home = join(dataDir, 'git', createHash('sha256').update(cfg.url).digest('hex').slice(0, 16));
    this.dir = join(this.home, 'repo');
    // ssh://git@host/…: the user is part of the address, not a secret (a password, if any, is still taken out).
    this.displayUrl = urlKind(cfg.url) === 'ssh' ? cfg.url.replace(/^(ssh:\/\/[^/@:]*):[^/@]*@/i, '$1@') : redactUrl(cfg.url);
  }

  /** The environment every git command runs with (no user or system configuration, no prompt). */
  async #gitEnv(): Promise<NodeJS.ProcessEnv> {
    if (this.#env !== null) return this.#env;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
    };
    const c = this.#cfg;
    if (urlKind(c.url) === 'ssh') {
      const parts = [
        'ssh',
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${shq(c.knownHostsFile ?? '/dev/null')}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        // Never rewrite the operator's known_hosts file (OpenSSH's UpdateHostKeys).
        '-o',
        'UpdateHostKeys=no',
        // No ssh agent and no keys from anywhere but --providers.git.sshkeyfile.
        '-o',
        'IdentityAgent=none',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'PreferredAuthentications=publickey',
        '-o',
        `ConnectTimeout=${Math.max(1, Math.ceil(c.timeoutMs / 1000))}`,
      ];
      if (c.sshKeyFile !== undefined) parts.push('-i', shq(c.sshKeyFile));
      env.GIT_SSH_COMMAND = parts.join(' ');
    }
    // A private CA for https:// (git's GIT_SSL_CAINFO: it replaces the system's CA bundle).
    if (c.caFile !== undefined) env.GIT_SSL_CAINFO = c.caFile;
    if (c.tokenFile !== undefined || c.passwordFile !== undefined) {
      // GIT_ASKPASS answers git's questions from the files: nothing secret in argv or in the environment.
      await mkdir(this.home, { recursive: true });
      const script = join(this.home, 'askpass.sh');
      await writeFile(
        script,
        [
          '#!/bin/sh',
          '# Written by Gatehouse: answers git from the credential files (never their contents in argv).',
          'case "$1" in',
          '  Username*) if [ -n "$GATEHOUSE_GIT_USERNAME_FILE" ]; then cat "$GATEHOUSE_GIT_USERNAME_FILE"; else echo x-access-token; fi ;;',
          '  *) cat "$GATEHOUSE_GIT_PASSWORD_FILE" ;;',
          'esac',
          '',
        ].join('\n'),
        { mode: 0o700 },
      );
      await chmod(script, 0o700);
      env.GIT_ASKPASS = script;
      env.GATEHOUSE_GIT_PASSWORD_FILE = c.tokenFile ?? c.passwordFile;
      if (c.usernameFile !== undefined) env.GATEHOUSE_GIT_USERNAME_FILE = c.usernameFile;
    }
    this.#env = env;
    return env;
  }

  async #git(args: readonly string[], opts: { cwd?: string; remote?: boolean } = {}): Promise<string> {
    const env = await this.#gitEnv();
    try {
      const r = await run('git', ['-c', 'protocol.version=2', '-c', 'core.hooksPath=/dev/null', ...args], {
        cwd: opts.cwd ?? this.dir,
        env,
        timeoutMs: this.#cfg.timeoutMs,
      });
      return r.stdout;
    } catch (e) {
      if (e instanceof CommandError && opts.remote === true) {
        const command = `git ${args[0] ?? ''}`;
        const message =
          e.exitCode === null || e.timedOut ? e.message.replace(/^git -c\b/, command) : describeRemoteFailure(command, e.stderr, e.message);
        throw new GitFetchError(`${this.displayUrl}: ${message}`);
      }
      throw e;
    }
  }

  async #init(): Promise<void> {
    if (this.#initialised) return;
    await mkdir(this.dir, { recursive: true });
    try {
      await this.#git(['rev-parse', '--git-dir']);
      const top = (await this.#git(['rev-parse', '--show-toplevel'])).trim();
      if (top !== this.dir) throw new Error('not its own repository');
    } catch {
      await this.#git(['init', '--quiet', '.']);
    }
    this.#initialised = true;
  }

  /** Which commit the configured reference names now (Flux's order: commit > semver > tag > branch). */
  async resolve(): Promise<ResolvedRef> {
    await this.#init();
    const c = this.#cfg;
    if (c.commit !== undefined) {
      if (c.branch === undefined) return { sha: c.commit, revision: `sha1:${c.commit}`, fetch: c.commit, deep: false };
      await this.#lsRemote([`refs/heads/${c.branch}`], `branch "${c.branch}"`);
      return { sha: c.commit, revision: `${c.branch}@sha1:${c.commit}`, fetch: `refs/heads/${c.branch}`, deep: true };
    }
    if (c.semver !== undefined) {
      const tags = await this.#tags();
      const names = [...tags.keys()].filter((t) => semver.valid(t) !== null);
      const best = semver.maxSatisfying(names, c.semver);
      if (best === null)
        throw new GitFetchError(
          `${this.displayUrl}: no tag matches the semver range "${c.semver}" (${names.length} semver tag(s): ${names.slice(0, 10).join(', ') || 'none'})`,
        );
      const sha = tags.get(best) as string;
      return { sha, revision: `${best}@sha1:${sha}`, fetch: `refs/tags/${best}`, deep: false };
    }
    if (c.tag !== undefined) {
      const tags = await this.#tags();
      const sha = tags.get(c.tag);
      if (sha === undefined) throw new GitFetchError(`${this.displayUrl}: tag "${c.tag}" not found`);
      return { sha, revision: `${c.tag}@sha1:${sha}`, fetch: `refs/tags/${c.tag}`, deep: false };
    }
    let branch = c.branch;
    if (branch === undefined) {
      const out = await this.#git(['ls-remote', '--symref', '--', c.url, 'HEAD'], { remote: true });
      const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
      if (m === null) throw new GitFetchError(`${this.displayUrl}: the remote has no HEAD branch: name one with --providers.git.branch`);
      branch = m[1] as string;
    }
    const sha = await this.#lsRemote([`refs/heads/${branch}`], `branch "${branch}"`);
    return { sha, revision: `${branch}@sha1:${sha}`, fetch: `refs/heads/${branch}`, deep: false };
  }

  async #lsRemote(refs: string[], what: string): Promise<string> {
    const out = await this.#git(['ls-remote', '--', this.#cfg.url, ...refs], { remote: true });
    const line = out.split('\n').find((l) => l.endsWith(`\t${refs[0]}`));
    if (line === undefined) throw new GitFetchError(`${this.displayUrl}: ${what} not found`);
    return line.slice(0, 40);
  }

  /** Tag name → the commit it names (annotated tags peeled). */
  async #tags(): Promise<Map<string, string>> {
    const out = await this.#git(['ls-remote', '--tags', '--', this.#cfg.url], { remote: true });
    const tags = new Map<string, string>();
    const peeled = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f]{40})\trefs\/tags\/(.+)$/.exec(line);
      if (m === null) continue;
      const name = m[2] as string;
      if (name.endsWith('^{}')) peeled.set(name.slice(0, -3), m[1] as string);
      else tags.set(name, m[1] as string);
    }
    for (const [n, sha] of peeled) tags.set(n, sha);
    return tags;
  }

  /** Whether the commit is in the working copy's object store already. */
  async has(sha: string): Promise<boolean> {
    await this.#init();
    try {
      await this.#git(['cat-file', '-e', `${sha}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Fetch (shallow unless the commit must be checked against its branch) and check out the commit, clean. */
  async checkout(ref: ResolvedRef): Promise<void> {
    await this.#init();
    if (!(await this.has(ref.sha)) || ref.deep) {
      const depth = ref.deep ? [] : ['--depth=1'];
      const shallow = ref.deep && (await this.#isShallow()) ? ['--unshallow'] : [];
      await this.#git(
        [
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          ...depth,
          ...shallow,
          '--',
          this.#cfg.url,
          `+${ref.fetch}:refs/gatehouse/fetched`,
        ],
        {
          remote: true,
        },
      );
      if (!(await this.has(ref.sha)))
        throw new GitFetchError(
          ref.deep
            ? `${this.displayUrl}: commit ${ref.sha} is not on branch "${this.#cfg.branch ?? ''}"`
            : `${this.displayUrl}: commit ${ref.sha} was not fetched (not in the repository, or the server refuses fetching a commit by SHA: name its branch too)`,
        );
    }
    if (ref.deep) {
      try {
        await this.#git(['merge-base', '--is-ancestor', ref.sha, 'refs/gatehouse/fetched']);
      } catch {
        throw new GitFetchError(`${this.displayUrl}: commit ${ref.sha} is not on branch "${this.#cfg.branch ?? ''}"`);
      }
    }
    await this.#git(['checkout', '--quiet', '--force', '--detach', ref.sha]);
    await this.#git(['clean', '--quiet', '-ffdx']);
  }

  async #isShallow(): Promise<boolean> {
    return (await this.#git(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
  }

  /** Keep a commit (the one applied) from being pruned. */
  async pin(sha: string): Promise<void> {
    await this.#git(['update-ref', 'refs/gatehouse/applied', sha]);
  }

  /** Files changed between two commits (paths relative to the root), or null when either is unknown here. */
  async changedFiles(from: string, to: string): Promise<string[] | null> {
    if (!(await this.has(from)) || !(await this.has(to))) return null;
    const out = await this.#git(['diff', '--name-only', '--no-renames', '-z', from, to]);
    return out.split('\0').filter((p) => p !== '');
  }

  /** Write a file atomically (temporary file, then rename). */
  static async writeAtomic(path: string, content: string): Promise<void> {
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, path);
  }

  static async readText(path: string): Promise<string | null> {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return null;
    }
  }
}
