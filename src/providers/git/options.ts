/**
 * The git provider's options (`--providers.git.*`, docs/gitops.md), checked
 * once: a bad value is a clear error naming its flag, before anything runs.
 */
import { isAbsolute, normalize, resolve } from 'node:path';
import semver from 'semver';
import { GatehouseError } from '../../errors.js';

export interface GitProviderConfig {
  /** As given (it never holds credentials: refused below). */
  url: string;
  branch?: string;
  tag?: string;
  semver?: string;
  commit?: string;
  /** Folders in the repository (relative, normalised, '' = the root). */
  paths: string[];
  kustomizeRoot?: string;
  intervalMs: number;
  timeoutMs: number;
  sshKeyFile?: string;
  knownHostsFile?: string;
  tokenFile?: string;
  usernameFile?: string;
  passwordFile?: string;
  /** CA certificates (PEM) that https:// servers are checked against, instead of the system's. */
  caFile?: string;
  webhookSecretFile?: string;
}

/** What the static configuration holds under `providers.git` (every field optional). */
export interface GitStaticSection {
  url?: string;
  branch?: string;
  tag?: string;
  semver?: string;
  commit?: string;
  paths?: readonly unknown[];
  kustomizeroot?: string;
  interval?: number;
  timeout?: number;
  sshkeyfile?: string;
  knownhostsfile?: string;
  tokenfile?: string;
  usernamefile?: string;
  passwordfile?: string;
  cafile?: string;
  webhook?: { secretfile?: string };
}

const bad = (flag: string, message: string): GatehouseError => new GatehouseError('GH_FLAG_INVALID', `--providers.git.${flag}: ${message}`);

/** A folder of the repository: relative, inside it. */
function repoPath(flag: string, p: string): string {
  const t = p.trim();
  if (isAbsolute(t)) throw bad(flag, `"${p}" must be a folder of the repository, relative to its root`);
  const n = normalize(t === '' ? '.' : t).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw bad(flag, `"${p}" leaves the repository`);
  return n === '.' ? '' : n;
}

/** The kind of remote a URL names. */
export function urlKind(url: string): 'file' | 'https' | 'http' | 'ssh' | 'path' | 'other' {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (m === null) return /^[^/]*@[^/]*:/.test(url) ? 'other' : 'path';
  const s = (m[1] as string).toLowerCase();
  return s === 'file' || s === 'https' || s === 'http' || s === 'ssh' ? s : 'other';
}

export function gitOptionsFromStatic(g: GitStaticSection | undefined, cwd: string): GitProviderConfig | null {
  if (g === undefined) return null;
  const url = g.url?.trim() ?? '';
  if (url === '') throw bad('url', 'a repository URL is required (file://, a local path, https:// or ssh://user@host/repo.git)');
  const kind = urlKind(url);
  if (kind === 'other')
    throw bad(
      'url',
      `"${url.replace(/:\/\/.*$/, '://…')}" is not supported: use file://, a local path, https:// or ssh://user@host/repo.git`,
    );
  if ((kind === 'https' || kind === 'http') && /^[a-z]+:\/\/[^/]*@/i.test(url))
    throw bad('url', 'credentials in the URL are refused: use --providers.git.tokenfile or --providers.git.usernamefile and passwordfile');
  const file = (flag: string, v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    if (v.trim() === '') throw bad(flag, 'a file name is required');
    return resolve(cwd, v);
  };
  const out: GitProviderConfig = {
    url: kind === 'path' ? resolve(cwd, url) : url,
    paths: [],
    intervalMs: g.interval ?? 60_000,
    timeoutMs: g.timeout ?? 60_000,
  };
  if (out.intervalMs <= 0) throw bad('interval', 'must be more than 0 (e.g. 1m)');
  if (out.timeoutMs <= 0) throw bad('timeout', 'must be more than 0 (e.g. 60s)');
  const ref = (flag: string, v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    const t = v.trim();
    if (t === '' || t.startsWith('-') || /[\s~^:?*[\\]|\.\.|@\{/.test(t)) throw bad(flag, `"${v}" is not a valid git ${flag} name`);
    return t;
  };
  const branch = ref('branch', g.branch);
  const tag = ref('tag', g.tag);
  if (branch !== undefined) out.branch = branch;
  if (tag !== undefined) out.tag = tag;
  if (g.semver !== undefined) {
    if (semver.validRange(g.semver) === null) throw bad('semver', `"${g.semver}" is not a semver range (e.g. "~1", ">=1.2 <2")`);
    out.semver = g.semver.trim();
  }
  if (g.commit !== undefined) {
    if (!/^[0-9a-f]{40}$/i.test(g.commit.trim())) throw bad('commit', `"${g.commit}" is not a full commit SHA (40 hexadecimal digits)`);
    out.commit = g.commit.trim().toLowerCase();
  }
  const paths = (g.paths ?? []).map(String).filter((p) => p.trim() !== '');
  out.paths = paths.length === 0 ? (g.kustomizeroot !== undefined ? [] : ['']) : [...new Set(paths.map((p) => repoPath('paths', p)))];
  if (g.kustomizeroot !== undefined) out.kustomizeRoot = repoPath('kustomizeroot', g.kustomizeroot);
  const sshKey = file('sshkeyfile', g.sshkeyfile);
  const knownHosts = file('knownhostsfile', g.knownhostsfile);
  const token = file('tokenfile', g.tokenfile);
  const user = file('usernamefile', g.usernamefile);
  const pass = file('passwordfile', g.passwordfile);
  if ((sshKey !== undefined || knownHosts !== undefined) && kind !== 'ssh')
    throw bad(sshKey !== undefined ? 'sshkeyfile' : 'knownhostsfile', 'only applies to an ssh:// URL');
  if (kind === 'ssh' && knownHosts === undefined)
    throw bad('knownhostsfile', 'an ssh:// URL needs a known_hosts file (host keys are always checked)');
  if ((token !== undefined || user !== undefined || pass !== undefined) && kind !== 'https' && kind !== 'http')
    throw bad(token !== undefined ? 'tokenfile' : user !== undefined ? 'usernamefile' : 'passwordfile', 'only applies to an https:// URL');
  const ca = file('cafile', g.cafile);
  if (ca !== undefined && kind !== 'https') throw bad('cafile', 'only applies to an https:// URL');
  if (token !== undefined && pass !== undefined) throw bad('tokenfile', 'give either a token file or a password file, not both');
  if (user !== undefined && pass === undefined && token === undefined)
    throw bad('usernamefile', 'needs --providers.git.passwordfile (or --providers.git.tokenfile)');
  if (sshKey !== undefined) out.sshKeyFile = sshKey;
  if (knownHosts !== undefined) out.knownHostsFile = knownHosts;
  if (token !== undefined) out.tokenFile = token;
  if (user !== undefined) out.usernameFile = user;
  if (pass !== undefined) out.passwordFile = pass;
  if (ca !== undefined) out.caFile = ca;
  const hook = file('webhook.secretfile', g.webhook?.secretfile);
  if (hook !== undefined) out.webhookSecretFile = hook;
  return out;
}
