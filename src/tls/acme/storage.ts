/**
 * Where a resolver's ACME account and certificates live: the interface the
 * engine uses, Traefik's `acme.json` format (so a Traefik user's file is read
 * as is, and Traefik reads ours), and the file storage. Shared (Redis)
 * storage is in redis-storage.ts.
 *
 * acme.json, as Traefik writes it (pkg/provider/acme/local_store.go,
 * account.go): one object per resolver,
 *   { "<resolver>": { "Account": { "Email", "Registration": { "body", "uri" },
 *       "PrivateKey": base64(DER: PKCS#1 for RSA, SEC 1 for EC), "KeyType": "P256"|"P384"|"2048"|"4096"|… },
 *     "Certificates": [ { "domain": { "main", "sans" }, "certificate": base64(PEM chain),
 *       "key": base64(PEM key), "Store": "default" } ] } }
 * Mode 600 (Traefik refuses a file other users can read: so does Gatehouse).
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AcmeKeyType } from './config.js';

export interface AcmeDomains {
  readonly main: string;
  readonly sans: readonly string[];
}

export interface StoredAccount {
  readonly email: string;
  /** The CA's account object (RFC 8555 section 7.1.2) and its URL. */
  readonly registration: { readonly body: Record<string, unknown>; readonly uri: string };
  /** PKCS#8 PEM. Never logged, never shown. */
  readonly privateKeyPem: string;
  readonly keyType: AcmeKeyType;
}

export interface StoredCertificate {
  readonly domains: AcmeDomains;
  /** The chain, leaf first (PEM). */
  readonly certPem: string;
  /** PEM. Never logged, never shown. */
  readonly keyPem: string;
  /** Traefik's TLS store name (`default`). */
  readonly store: string;
}

export interface StoredResolver {
  readonly account?: StoredAccount;
  readonly certificates: StoredCertificate[];
}

/** A held lock; `release` is safe to call twice. */
export interface AcmeLock {
  /** False once the lock could not be renewed (another holder may have taken it). */
  readonly held: boolean;
  release(): Promise<void>;
}

export interface AcmeStorage {
  readonly kind: 'file' | 'redis';
  load(resolver: string): Promise<StoredResolver>;
  saveAccount(resolver: string, account: StoredAccount): Promise<void>;
  /** Adds or replaces the certificate for the same domains (main and sans, in any order). */
  saveCertificate(resolver: string, certificate: StoredCertificate): Promise<void>;
  /**
   * Takes the lock `name` for `ttlMs` (renewed while held) or resolves undefined
   * when another holder has it. File storage locks within this process only.
   */
  lock(name: string, ttlMs: number): Promise<AcmeLock | undefined>;
  /** Called when another replica saved something for `resolver` (shared storage only). */
  onChange(listener: (resolver: string) => void): () => void;
  close(): Promise<void>;
}

/** Lower case, sans sorted and without repeats or the main name: the identity of a certificate request. */
export function normalizeDomains(d: AcmeDomains): AcmeDomains {
  const main = d.main.trim().toLowerCase().replace(/\.$/, '');
  const sans = [...new Set(d.sans.map((s) => s.trim().toLowerCase().replace(/\.$/, '')))].filter((s) => s !== '' && s !== main).sort();
  return { main, sans };
}

export function domainsKey(d: AcmeDomains): string {
  const n = normalizeDomains(d);
  return [n.main, ...n.sans].join(',');
}

// --- Traefik's acme.json -----------------------------------------------------

const KEY_TYPE_TO_TRAEFIK: Record<AcmeKeyType, string> = { EC256: 'P256', EC384: 'P384', RSA2048: '2048', RSA4096: '4096' };
const KEY_TYPE_FROM_TRAEFIK: Record<string, AcmeKeyType> = {
  P256: 'EC256',
  P384: 'EC384',
  '2048': 'RSA2048',
  '4096': 'RSA4096',
  '8192': 'RSA4096',
};

export interface TraefikAccount {
  Email: string;
  Registration: { body: Record<string, unknown>; uri: string } | null;
  PrivateKey: string;
  KeyType: string;
}
export interface TraefikCertificate {
  domain: { main?: string; sans?: string[] };
  certificate: string;
  key: string;
  Store: string;
}
export interface TraefikResolver {
  Account: TraefikAccount | null;
  Certificates: TraefikCertificate[] | null;
}

function readKey(der: Buffer): KeyObject {
  for (const type of ['sec1', 'pkcs1', 'pkcs8'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  throw new Error('the account PrivateKey is not a DER private key (PKCS#1, SEC 1 or PKCS#8)');
}

/** A private key as lego writes it: PKCS#1 PEM for RSA, SEC 1 PEM for EC. */
export function legoKeyPem(pem: string): string {
  const k = createPrivateKey(pem);
  return k.asymmetricKeyType === 'rsa'
    ? String(k.export({ format: 'pem', type: 'pkcs1' }))
    : String(k.export({ format: 'pem', type: 'sec1' }));
}

export function accountToTraefik(a: StoredAccount): TraefikAccount {
  const k = createPrivateKey(a.privateKeyPem);
  const der = k.asymmetricKeyType === 'rsa' ? k.export({ format: 'der', type: 'pkcs1' }) : k.export({ format: 'der', type: 'sec1' });
  return {
    Email: a.email,
    Registration: { body: a.registration.body, uri: a.registration.uri },
    PrivateKey: der.toString('base64'),
    KeyType: KEY_TYPE_TO_TRAEFIK[a.keyType],
  };
}

export function accountFromTraefik(t: TraefikAccount, where: string): StoredAccount {
  if (typeof t.PrivateKey !== 'string' || t.PrivateKey === '') throw new Error(`${where}: the account has no PrivateKey`);
  const key = readKey(Buffer.from(t.PrivateKey, 'base64'));
  const keyType =
    KEY_TYPE_FROM_TRAEFIK[t.KeyType] ??
    (key.asymmetricKeyType === 'ec' ? (key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'EC384' : 'EC256') : 'RSA4096');
  return {
    email: typeof t.Email === 'string' ? t.Email : '',
    registration: { body: t.Registration?.body ?? {}, uri: t.Registration?.uri ?? '' },
    privateKeyPem: String(key.export({ format: 'pem', type: 'pkcs8' })),
    keyType,
  };
}

export function certificateToTraefik(c: StoredCertificate): TraefikCertificate {
  const d = normalizeDomains(c.domains);
  return {
    domain: d.sans.length > 0 ? { main: d.main, sans: [...d.sans] } : { main: d.main },
    certificate: Buffer.from(c.certPem).toString('base64'),
    key: Buffer.from(legoKeyPem(c.keyPem)).toString('base64'),
    Store: c.store,
  };
}

export function certificateFromTraefik(t: TraefikCertificate): StoredCertificate {
  return {
    domains: normalizeDomains({ main: t.domain?.main ?? '', sans: t.domain?.sans ?? [] }),
    certPem: Buffer.from(t.certificate ?? '', 'base64').toString('utf8'),
    keyPem: Buffer.from(t.key ?? '', 'base64').toString('utf8'),
    store: t.Store || 'default',
  };
}

export function resolverFromTraefik(t: TraefikResolver | undefined, where: string): StoredResolver {
  if (t === undefined || t === null) return { certificates: [] };
  const certificates = (t.Certificates ?? [])
    .map(certificateFromTraefik)
    .filter((c) => c.domains.main !== '' && c.certPem !== '' && c.keyPem !== '');
  return t.Account !== null && t.Account !== undefined ? { account: accountFromTraefik(t.Account, where), certificates } : { certificates };
}

// --- the file ----------------------------------------------------------------

const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * One acme.json file (Traefik's format), shared by every resolver whose
 * `storage` names it. Reads refuse a file whose mode is not 600; writes go to
 * a temporary file (mode 600) renamed over the old one, one at a time.
 */
export class FileAcmeStorage implements AcmeStorage {
  readonly kind = 'file' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly held = new Set<string>();

  constructor(readonly path: string) {}

  private async readAll(): Promise<Record<string, TraefikResolver>> {
    let st;
    try {
      st = await stat(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`ACME storage ${this.path}: cannot read: ${(e as Error).message}`);
    }
    const mode = st.mode & 0o777;
    if (mode !== 0o600)
      throw new Error(`ACME storage ${this.path}: permissions ${mode.toString(8)} are too open, please use 600 (chmod 600 ${this.path})`);
    if (st.size > MAX_FILE_BYTES) throw new Error(`ACME storage ${this.path}: ${st.size} bytes is more than the ${MAX_FILE_BYTES} allowed`);
    const text = await readFile(this.path, 'utf8');
    if (text.trim() === '') return {};
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`ACME storage ${this.path}: not JSON: ${(e as Error).message}`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw new Error(`ACME storage ${this.path}: expected an object of resolvers`);
    return json as Record<string, TraefikResolver>;
  }

  private async writeAll(data: Record<string, TraefikResolver>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await chmod(tmp, 0o600); // the umask may have removed bits, never added: still make it exact
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`ACME storage ${this.path}: cannot write: ${(e as Error).message}`);
    }
  }

  /** Runs read-modify-write steps one after another (several resolvers may share the file). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async load(resolver: string): Promise<StoredResolver> {
    const all = await this.serial(() => this.readAll());
    return resolverFromTraefik(all[resolver], `ACME storage ${this.path}, resolver ${resolver}`);
  }

  saveAccount(resolver: string, account: StoredAccount): Promise<void> {
    return this.serial(async () => {
      const all = await this.readAll();
      const r = all[resolver] ?? { Account: null, Certificates: null };
      all[resolver] = { ...r, Account: accountToTraefik(account), Certificates: r.Certificates ?? null };
      await this.writeAll(all);
    });
  }

  saveCertificate(resolver: string, certificate: StoredCertificate): Promise<void> {
    return this.serial(async () => {
      const all = await this.readAll();
      const r = all[resolver] ?? { Account: null, Certificates: null };
      const key = domainsKey(certificate.domains);
      const others = (r.Certificates ?? []).filter((c) => domainsKey({ main: c.domain?.main ?? '', sans: c.domain?.sans ?? [] }) !== key);
      all[resolver] = { ...r, Account: r.Account ?? null, Certificates: [...others, certificateToTraefik(certificate)] };
      await this.writeAll(all);
    });
  }

  async lock(name: string): Promise<AcmeLock | undefined> {
    if (this.held.has(name)) return undefined;
    this.held.add(name);
    let held = true;
    return {
      get held() {
        return held;
      },
      release: async () => {
        if (held) this.held.delete(name);
        held = false;
      },
    };
  }

  onChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    await this.queue;
  }
}
