/**
 * A bearer token read from a file and read again when the file changes: the
 * in-cluster service-account token is a projected token that the kubelet
 * rotates (hourly by default) by swapping the file. `@kubernetes/client-node`
 * 1.x re-reads its `tokenFile` only every 60 s (as client-go), so a request in
 * the minute after a rotation whose old token the API server no longer
 * accepts gets 401. This authenticator checks the file (one `stat`, which
 * follows the kubelet's `..data` symlink) before each request and reads it
 * again when its inode, size or mtime changed, and at least once a minute.
 * The token is trimmed (a trailing newline would make an invalid header),
 * never logged, never put in an error message.
 */
import { readFileSync, statSync } from 'node:fs';
import type { KubeConfig, User } from '@kubernetes/client-node';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

/** The `authProvider.name` a KubeConfig user carries to be authenticated by TokenFileAuth. */
export const TOKEN_FILE_PROVIDER = 'gatehouse-token-file';

const MAX_AGE_MS = 60_000;
/** A service-account token is a JWT of a few KiB; anything much larger is not a token. */
const MAX_TOKEN_BYTES = 64 * 1024;

/** The KubeConfig user entry for a token file. */
export function tokenFileUser(name: string, path: string): User {
  return { name, authProvider: { name: TOKEN_FILE_PROVIDER, config: { path } } };
}

export class TokenFileAuth implements Authenticator {
  #token = '';
  #key = '';
  #readAt = 0;
  /** How many times the file was read (tests). */
  reads = 0;

  isAuthProvider(user: User): boolean {
    const p = user.authProvider as { name?: unknown; config?: { path?: unknown } } | undefined;
    return p?.name === TOKEN_FILE_PROVIDER && typeof p.config?.path === 'string';
  }

  applyAuthentication(user: User, opts: Parameters<Authenticator['applyAuthentication']>[1]): Promise<void> {
    const path = (user.authProvider as { config: { path: string } }).config.path;
    try {
      const headers = (opts.headers ??= {}) as Record<string, string>;
      headers.Authorization = `Bearer ${this.token(path)}`;
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The token in `path`, read again when the file changed or a minute passed. Throws a clear error (without the token). */
  token(path: string): string {
    let key: string;
    try {
      const st = statSync(path);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (st.size > MAX_TOKEN_BYTES) throw new Error(`larger than ${MAX_TOKEN_BYTES} bytes`);
    } catch (err) {
      throw new Error(`cannot read the Kubernetes token file ${path}: ${errText(err)}`);
    }
    if (key === this.#key && this.#token !== '' && Date.now() - this.#readAt < MAX_AGE_MS) return this.#token;
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read the Kubernetes token file ${path}: ${errText(err)}`);
    }
    if (token === '' || /[\s\x00-\x1f\x7f]/.test(token))
      throw new Error(
        `the Kubernetes token file ${path} does not hold a bearer token (empty, or white space or control characters inside)`,
      );
    this.#token = token;
    this.#key = key;
    this.#readAt = Date.now();
    this.reads++;
    return token;
  }
}

function errText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined ? code : err instanceof Error ? err.message : String(err);
}
