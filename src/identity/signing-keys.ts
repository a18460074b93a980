/**
 * The issuer's RS256 signing keys: generated on first start, persisted in
 * `<dataDir>/identity/signing-keys.json` (written atomically, mode 0600),
 * rotated every `rotationIntervalMs`; a retired key stays published until every
 * token it signed has expired.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface StoredKey {
  kid: string;
  createdAt: number;
  /** Published until (epoch ms) once retired; absent for the active key. */
  publishUntil?: number;
  privateKeyPem: string;
}

export interface SigningKey {
  readonly kid: string;
  readonly createdAt: number;
  readonly publishUntil: number | undefined;
  readonly privateKey: KeyObject;
  /** Public JWK members (kty, n, e). */
  readonly jwk: { kty: 'RSA'; n: string; e: string };
}

const FILE = 'signing-keys.json';

/** What the token endpoint and the JWKS read. */
export interface KeySource {
  /** The key that signs new tokens; undefined when this process has none it may use. */
  active(): SigningKey | undefined;
  /** Keys in the JWKS. */
  published(): SigningKey[];
}

/** A store of signing keys: the data directory's file, or Redis (shared-keys.ts). */
export interface KeyStore extends KeySource {
  load(): Promise<void>;
  /** Rotate now, or (with `olderThanMs`) only when the active key is at least that old. */
  rotate(olderThanMs?: number): Promise<SigningKey | undefined>;
  close(): Promise<void>;
}

/** The stored document (file and Redis alike). */
export interface StoredDoc {
  version: 1;
  keys: StoredKey[];
}

/** Parse a stored document; throws with `where` named when it is not one. */
export function parseDoc(text: string, where: string): StoredKey[] {
  const doc = JSON.parse(text) as { version?: number; keys?: StoredKey[] };
  if (doc.version !== 1 || !Array.isArray(doc.keys)) throw new Error(`${where}: unknown format`);
  for (const k of doc.keys) {
    if (
      typeof k !== 'object' ||
      k === null ||
      typeof k.kid !== 'string' ||
      typeof k.createdAt !== 'number' ||
      typeof k.privateKeyPem !== 'string'
    )
      throw new Error(`${where}: a key lacks kid, createdAt or privateKeyPem`);
  }
  return doc.keys;
}

/** The next key list: the active key retired (published for `retainMs`), a new key added, expired keys dropped. */
export async function nextKeys(stored: readonly StoredKey[], now: number, retainMs: number): Promise<StoredKey[]> {
  const priv = await generate();
  const jwk = createPublicKey(priv).export({ format: 'jwk' }) as { n: string; e: string };
  const next: StoredKey[] = stored.map((s) => (s.publishUntil === undefined ? { ...s, publishUntil: now + retainMs } : s));
  next.push({ kid: thumbprint(jwk.n, jwk.e), createdAt: now, privateKeyPem: priv.export({ format: 'pem', type: 'pkcs8' }) as string });
  return next.filter((s) => s.publishUntil === undefined || s.publishUntil > now);
}

/** The active key of a list: the newest not retired. */
export function activeOf<T extends { publishUntil?: number | undefined }>(keys: readonly T[]): T | undefined {
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i] as T;
    if (k.publishUntil === undefined) return k;
  }
  return undefined;
}

export function toKey(s: StoredKey): SigningKey {
  const privateKey = createPrivateKey(s.privateKeyPem);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string; e: string };
  return { kid: s.kid, createdAt: s.createdAt, publishUntil: s.publishUntil, privateKey, jwk: { kty: 'RSA', n: jwk.n, e: jwk.e } };
}

/** RFC 7638 JWK thumbprint, the kid. */
export function thumbprint(n: string, e: string): string {
  return createHash('sha256').update(`{"e":"${e}","kty":"RSA","n":"${n}"}`).digest('base64url');
}

export function generate(): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, priv) => (err === null ? resolve(priv) : reject(err)));
  });
}

/** Write a file atomically: temp file (0600) + fsync + rename + directory fsync. */
export async function writeFileAtomic(path: string, data: string, dir: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const d = await open(dir, 'r').catch(() => null);
  if (d !== null) {
    await d.sync().catch(() => undefined);
    await d.close();
  }
}

export class SigningKeyStore implements KeyStore {
  private stored: StoredKey[] = [];
  private keys: SigningKey[] = [];
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly now: () => number,
    private readonly retainMs: number,
  ) {
    this.dir = join(dataDir, 'identity');
  }

  get path(): string {
    return join(this.dir, FILE);
  }

  /** Load persisted keys, creating the first one when there is none. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let text: string | null = null;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== null) {
      this.stored = parseDoc(text, this.path);
      this.keys = this.stored.map(toKey);
    }
    if (this.active() === undefined) await this.rotate();
    else this.prune();
  }

  /** The key that signs new tokens (newest not retired). */
  active(): SigningKey | undefined {
    return activeOf(this.keys);
  }

  /** Keys in the JWKS: the active key and retired keys still within their publication window. */
  published(): SigningKey[] {
    const now = this.now();
    return this.keys.filter((k) => k.publishUntil === undefined || k.publishUntil > now);
  }

  /** Generate a new active key; the previous one stays published for `retainMs`. */
  async rotate(olderThanMs?: number): Promise<SigningKey> {
    const current = this.active();
    if (olderThanMs !== undefined && current !== undefined && this.now() - current.createdAt < olderThanMs) return current;
    this.stored = await nextKeys(this.stored, this.now(), this.retainMs);
    await this.persist();
    this.keys = this.stored.map(toKey);
    return this.active() as SigningKey;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private prune(): void {
    const now = this.now();
    const before = this.stored.length;
    this.stored = this.stored.filter((s) => s.publishUntil === undefined || s.publishUntil > now);
    if (this.stored.length !== before) {
      this.keys = this.stored.map(toKey);
      void this.persist().catch(() => undefined);
    }
  }

  private persist(): Promise<void> {
    return writeFileAtomic(this.path, `${JSON.stringify({ version: 1, keys: this.stored }, null, 2)}\n`, this.dir);
  }
}
