/**
 * The issuer's signing keys shared by every replica through Redis
 * (`--redis.endpoints`, docs/redis.md "The identity issuer"): one string key
 * holds the same JSON document as `<dataDir>/identity/signing-keys.json`;
 * rotation happens under a lock (`SET NX PX` with a random token, released by
 * a compare-and-delete script) so one replica rotates at a time; every replica
 * reloads the set every `reloadIntervalMs`, on a pub/sub message sent after
 * each write, and when its connection becomes ready again. A replica that
 * cannot reach Redis keeps the last set it read and never makes a key of its
 * own: with no set at all it has no active key and the token endpoint answers
 * 503 `GH_IDENTITY_KEYS_UNAVAILABLE`.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { SharedRedis, SharedRedisClient } from './shared-redis.js';
import { REDIS_KEYS } from './shared-redis.js';
import { activeOf, nextKeys, parseDoc, toKey, type KeyStore, type SigningKey, type StoredKey } from './signing-keys.js';

/** Deletes the lock only when it still holds our token (never another replica's lock). */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const LOCK_MS = 30_000;

export interface SharedKeyStoreOptions {
  redis: SharedRedis;
  log: Logger;
  now: () => number;
  retainMs: number;
  /** Where keys of a gateway that ran without Redis are (imported when Redis has none yet). */
  dataDir: string;
  /** Reload period, default 10 s. */
  reloadIntervalMs?: number;
  /**
   * A replica holding no key that finds Redis empty after its start (Redis restarted
   * without persistence while it was away) waits this long, default 5 s, for a replica
   * that holds the set to put it back, before it makes a new key.
   */
  emptyGraceMs?: number;
}

export class SharedKeyStore implements KeyStore {
  private stored: StoredKey[] = [];
  private keys: SigningKey[] = [];
  private text: string | null = null;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private sub: SharedRedisClient | null = null;
  private reachable: boolean | null = null;
  private closed = false;
  /** The first read, at start: an empty Redis then is a new deployment, and a new key is made at once. */
  private starting = false;
  /** When this replica (holding no key) first found Redis empty after start (Date.now()). */
  private emptySince: number | null = null;

  constructor(private readonly o: SharedKeyStoreOptions) {}

  /** Read the shared set (creating it when Redis has none), subscribe, start the reload timer. Never throws for Redis being away. */
  async load(): Promise<void> {
    this.starting = true;
    await this.reload();
    // Another replica may be creating the set right now: give it a moment.
    for (let i = 0; i < 10 && this.active() === undefined && this.reachable === true; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await this.reload();
    }
    this.starting = false;
    // Back after an outage: catch up (and put the set back into an emptied Redis).
    this.o.redis.client.on('ready', this.onReady);
    this.subscribe();
    const every = this.o.reloadIntervalMs ?? 10_000;
    this.timer = setInterval(() => void this.reload(), every);
    this.timer.unref();
  }

  active(): SigningKey | undefined {
    return activeOf(this.keys);
  }

  published(): SigningKey[] {
    const now = this.o.now();
    return this.keys.filter((k) => k.publishUntil === undefined || k.publishUntil > now);
  }

  /** Reload now (serialized with other reloads). */
  reload(): Promise<void> {
    const p = this.chain.then(() => this.reloadOnce());
    this.chain = p.catch(() => undefined);
    return this.chain;
  }

  /**
   * Rotate under the lock. Another replica holding the lock means a rotation is
   * under way there: this one returns its current key and picks up the new one
   * from the message. Throws when Redis cannot be reached (nothing changes).
   */
  async rotate(olderThanMs?: number): Promise<SigningKey | undefined> {
    if (!this.o.redis.up) throw new Error('Redis is down: the shared signing keys cannot be rotated now');
    const token = randomBytes(16).toString('hex');
    const got = await this.o.redis.run((c) => c.set(REDIS_KEYS.lock, token, 'PX', LOCK_MS, 'NX'));
    if (got !== 'OK') return this.active();
    try {
      const text = await this.o.redis.run((c) => c.get(REDIS_KEYS.keys));
      const current = text === null ? this.stored : parseDoc(text, `redis key ${REDIS_KEYS.keys}`);
      const act = activeOf(current);
      const now = this.o.now();
      if (olderThanMs !== undefined && act !== undefined && now - act.createdAt < olderThanMs) {
        if (text !== null) this.adopt(text);
        return this.active();
      }
      await this.write(await nextKeys(current, now, this.o.retainMs));
      return this.active();
    } finally {
      await this.o.redis.run((c) => c.eval(RELEASE_LUA, 1, REDIS_KEYS.lock, token)).catch(() => undefined);
    }
  }

  private readonly onReady = (): void => {
    if (!this.closed) void this.reload();
  };

  async close(): Promise<void> {
    this.closed = true;
    this.o.redis.client.off('ready', this.onReady);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const sub = this.sub;
    this.sub = null;
    sub?.disconnect();
    await this.chain;
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    let text: string | null;
    if (!this.o.redis.up) {
      this.setReachable(false, new Error('the Redis connection is down'));
      return;
    }
    try {
      text = await this.o.redis.run((c) => c.get(REDIS_KEYS.keys));
    } catch (err) {
      this.setReachable(false, err);
      return;
    }
    this.setReachable(true);
    if (text === null) {
      // A new Redis, or one restarted without persistence: put the set back (ours, else the data directory's, else a new key).
      await this.seed().catch((err: Error) => this.o.log.warn({ err: err.message }, 'identity: cannot store the signing keys in Redis'));
      return;
    }
    this.emptySince = null;
    this.adopt(text);
  }

  private async seed(): Promise<void> {
    const token = randomBytes(16).toString('hex');
    const got = await this.o.redis.run((c) => c.set(REDIS_KEYS.lock, token, 'PX', LOCK_MS, 'NX'));
    if (got !== 'OK') return; // another replica is writing; its message (or the next reload) brings the set
    try {
      const text = await this.o.redis.run((c) => c.get(REDIS_KEYS.keys));
      if (text !== null) {
        this.adopt(text);
        return;
      }
      const now = this.o.now();
      const mine = this.stored.filter((s) => s.publishUntil === undefined || s.publishUntil > now);
      let keys: StoredKey[];
      let from: string;
      if (activeOf(mine) !== undefined) {
        keys = mine;
        from = 'this replica';
      } else if (!this.starting && !this.graceOver()) {
        // Redis came back empty while this replica held no key: a replica that holds the
        // set puts it back; give it the time to, rather than replacing the set with keys no other replica knows.
        return;
      } else {
        const file = await this.fileKeys();
        if (file !== null && activeOf(file) !== undefined) {
          keys = file;
          from = 'the data directory';
        } else {
          keys = await nextKeys([], now, this.o.retainMs);
          from = 'a new key';
        }
      }
      await this.write(keys);
      this.o.log.info({ kid: this.active()?.kid, from }, 'identity: signing keys stored in Redis');
    } finally {
      await this.o.redis.run((c) => c.eval(RELEASE_LUA, 1, REDIS_KEYS.lock, token)).catch(() => undefined);
    }
  }

  private graceOver(): boolean {
    const t = Date.now();
    if (this.emptySince === null) this.emptySince = t;
    return t - this.emptySince >= (this.o.emptyGraceMs ?? 5_000);
  }

  /** Keys a gateway wrote to its data directory before Redis was configured (so its tokens keep verifying). */
  private async fileKeys(): Promise<StoredKey[] | null> {
    const path = join(this.o.dataDir, 'identity', 'signing-keys.json');
    try {
      const now = this.o.now();
      return parseDoc(await readFile(path, 'utf8'), path).filter((s) => s.publishUntil === undefined || s.publishUntil > now);
    } catch {
      return null;
    }
  }

  private async write(keys: StoredKey[]): Promise<void> {
    const text = JSON.stringify({ version: 1, keys });
    await this.o.redis.run((c) => c.set(REDIS_KEYS.keys, text));
    this.adopt(text);
    const kid = this.active()?.kid ?? '';
    await this.o.redis.run((c) => c.publish(REDIS_KEYS.channel, kid)).catch(() => undefined);
  }

  private adopt(text: string): void {
    if (text === this.text) return;
    let stored: StoredKey[];
    let keys: SigningKey[];
    try {
      stored = parseDoc(text, `redis key ${REDIS_KEYS.keys}`);
      keys = stored.map(toKey);
    } catch (err) {
      // Keep the last good set; say so (never the content: it holds private keys).
      this.o.log.error(
        { err: (err as Error).message.slice(0, 200) },
        'identity: the shared signing keys cannot be read; keeping the last set',
      );
      return;
    }
    const was = this.active()?.kid;
    this.stored = stored;
    this.keys = keys;
    this.text = text;
    const now = this.active()?.kid;
    if (now !== was) this.o.log.info({ kid: now, was: was ?? null }, 'identity: shared signing key loaded');
  }

  private setReachable(ok: boolean, err?: unknown): void {
    if (this.reachable === ok) return;
    this.reachable = ok;
    if (ok) this.o.log.info({}, 'identity: signing keys shared through Redis');
    else
      this.o.log.warn(
        { err: err instanceof Error ? err.message : String(err), kid: this.active()?.kid ?? null },
        this.active() !== undefined
          ? 'identity: Redis unreachable, keeping the last shared signing keys'
          : 'identity: Redis unreachable and no shared signing key yet: the token endpoint answers 503',
      );
  }

  private subscribe(): void {
    if (this.closed) return;
    let sub: SharedRedisClient;
    try {
      // Its own name in CLIENT LIST: the serving connection stays the one named `gatehouse`.
      const c = this.o.redis.client;
      sub = c.isCluster
        ? (c as Cluster).duplicate(undefined, {
            redisOptions: { ...(c as Cluster).options.redisOptions, connectionName: 'gatehouse-identity' },
          })
        : (c as Redis).duplicate({ connectionName: 'gatehouse-identity' });
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'identity: no Redis subscription; keys reload on the timer only');
      return;
    }
    this.sub = sub;
    sub.on('error', () => undefined); // the main connection reports Redis's state
    sub.on('message', (channel: string) => {
      if (channel === REDIS_KEYS.channel) void this.reload();
    });
    sub.on('ready', () => {
      if (this.closed) return;
      sub.subscribe(REDIS_KEYS.channel).catch(() => undefined);
      // Back after an outage: catch up (and put the set back into an emptied Redis).
      void this.reload();
    });
    sub.connect().catch(() => undefined);
  }
}
