/**
 * Shared ACME storage in Redis, for several Gatehouse replicas: the account
 * and the certificates (each in Traefik's acme.json shape, as JSON), a lock
 * per order so exactly one replica orders a name, and a pub/sub channel so
 * the others load a new certificate at once.
 *
 *   <prefix><resolver>:account        string: TraefikAccount JSON
 *   <prefix><resolver>:certificates   hash: domains key → TraefikCertificate JSON
 *   <prefix>lock:<name>               string with PX: the holder's random token
 *   <prefix>changed                   channel: the resolver name, after every write
 *
 * The private keys are in Redis as they are in acme.json: protect it (ACL,
 * requirepass, TLS) as you protect that file. The client is the gateway's
 * Redis connection (`--redis.*`); this module only uses it.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  accountFromTraefik,
  accountToTraefik,
  certificateFromTraefik,
  certificateToTraefik,
  domainsKey,
  type AcmeLock,
  type AcmeStorage,
  type StoredAccount,
  type StoredCertificate,
  type StoredResolver,
  type TraefikAccount,
  type TraefikCertificate,
} from './storage.js';

export type AcmeRedisClient = Redis | Cluster;

export interface RedisAcmeStorageOptions {
  readonly client: AcmeRedisClient;
  /** Key prefix (default `gatehouse:acme:`). */
  readonly prefix?: string;
  /** Every Redis call's timeout (default 5 s). */
  readonly timeoutMs?: number;
}

/** Renews the lock's expiry only while it still holds our token. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock only while it still holds our token. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

const MAX_VALUE_BYTES = 1024 * 1024;

export class RedisAcmeStorage implements AcmeStorage {
  readonly kind = 'redis' as const;
  private readonly client: AcmeRedisClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private sub: AcmeRedisClient | undefined;
  private subscribing: Promise<void> | undefined;
  private readonly listeners = new Set<(resolver: string) => void>();
  private readonly locks = new Set<{ release(): Promise<void> }>();

  constructor(opts: RedisAcmeStorageOptions) {
    this.client = opts.client;
    this.prefix = opts.prefix ?? 'gatehouse:acme:';
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  private run<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ACME storage (Redis): ${what} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer)) as Promise<T>;
  }

  private fail(what: string, e: unknown): Error {
    return new Error(`ACME storage (Redis): ${what}: ${(e as Error).message}`);
  }

  async load(resolver: string): Promise<StoredResolver> {
    let account: string | null;
    let certs: Record<string, string>;
    try {
      [account, certs] = await this.run(
        `reading resolver ${resolver}`,
        Promise.all([this.client.get(`${this.prefix}${resolver}:account`), this.client.hgetall(`${this.prefix}${resolver}:certificates`)]),
      );
    } catch (e) {
      throw this.fail(`reading resolver ${resolver}`, e);
    }
    const certificates: StoredCertificate[] = [];
    for (const [field, json] of Object.entries(certs)) {
      try {
        const c = certificateFromTraefik(JSON.parse(json) as TraefikCertificate);
        if (c.certPem !== '' && c.keyPem !== '') certificates.push(c);
      } catch {
        throw new Error(`ACME storage (Redis): ${this.prefix}${resolver}:certificates field ${field} is not a certificate entry`);
      }
    }
    if (account === null) return { certificates };
    let parsed: TraefikAccount;
    try {
      parsed = JSON.parse(account) as TraefikAccount;
    } catch {
      throw new Error(`ACME storage (Redis): ${this.prefix}${resolver}:account is not JSON`);
    }
    return { account: accountFromTraefik(parsed, `ACME storage (Redis) ${this.prefix}${resolver}:account`), certificates };
  }

  async saveAccount(resolver: string, account: StoredAccount): Promise<void> {
    const json = JSON.stringify(accountToTraefik(account));
    try {
      await this.run(`writing the account of ${resolver}`, this.client.set(`${this.prefix}${resolver}:account`, json));
      await this.publish(resolver);
    } catch (e) {
      throw this.fail(`writing the account of ${resolver}`, e);
    }
  }

  async saveCertificate(resolver: string, certificate: StoredCertificate): Promise<void> {
    const json = JSON.stringify(certificateToTraefik(certificate));
    if (json.length > MAX_VALUE_BYTES)
      throw new Error(`ACME storage (Redis): the certificate for ${certificate.domains.main} is larger than ${MAX_VALUE_BYTES} bytes`);
    try {
      await this.run(
        `writing a certificate of ${resolver}`,
        this.client.hset(`${this.prefix}${resolver}:certificates`, domainsKey(certificate.domains), json),
      );
      await this.publish(resolver);
    } catch (e) {
      throw this.fail(`writing the certificate for ${certificate.domains.main}`, e);
    }
  }

  private async publish(resolver: string): Promise<void> {
    await this.run('publishing a change', this.client.publish(`${this.prefix}changed`, resolver));
  }

  async lock(name: string, ttlMs: number): Promise<AcmeLock | undefined> {
    const key = `${this.prefix}lock:${name}`;
    const token = randomBytes(16).toString('hex');
    let ok: string | null;
    try {
      ok = await this.run(`taking lock ${name}`, this.client.set(key, token, 'PX', ttlMs, 'NX'));
    } catch (e) {
      throw this.fail(`taking lock ${name}`, e);
    }
    if (ok !== 'OK') return undefined;
    let held = true;
    const renew = setInterval(
      () => {
        this.run(`renewing lock ${name}`, this.client.eval(RENEW, 1, key, token, String(ttlMs)) as Promise<number>).then(
          (n) => {
            if (n !== 1) {
              held = false;
              clearInterval(renew);
            }
          },
          () => undefined, // Redis unreachable for a moment: the next renewal tries again
        );
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    renew.unref();
    const entry = {
      get held() {
        return held;
      },
      release: async (): Promise<void> => {
        clearInterval(renew);
        this.locks.delete(entry);
        if (!held) return;
        held = false;
        await this.run(`releasing lock ${name}`, this.client.eval(RELEASE, 1, key, token) as Promise<number>).catch(() => undefined);
      },
    };
    this.locks.add(entry);
    return entry;
  }

  onChange(listener: (resolver: string) => void): () => void {
    this.listeners.add(listener);
    if (this.subscribing === undefined) this.subscribing = this.subscribe();
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the subscription is active (tests; the engine does not need to wait). */
  async ready(): Promise<void> {
    await this.subscribing;
  }

  private async subscribe(): Promise<void> {
    // The gateway's client connects lazily and refuses commands while offline (--redis.* fail fast);
    // the subscriber must connect by itself and keep its SUBSCRIBE until it can send it.
    const sub =
      'isCluster' in this.client && this.client.isCluster
        ? (this.client as Cluster).duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false })
        : (this.client as Redis).duplicate({ enableOfflineQueue: true, lazyConnect: false, maxRetriesPerRequest: null });
    this.sub = sub;
    sub.on('error', () => undefined); // ioredis reconnects by itself; a failed call is reported where it is made
    sub.on('message', (channel: string, message: string) => {
      if (channel !== `${this.prefix}changed`) return;
      for (const l of this.listeners) l(message);
    });
    await this.run('subscribing', sub.subscribe(`${this.prefix}changed`)).catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const l of [...this.locks]) await l.release();
    this.listeners.clear();
    const sub = this.sub;
    this.sub = undefined;
    if (sub !== undefined) sub.disconnect();
  }
}
