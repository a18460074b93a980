/**
 * What the identity issuer needs of the serving process's Redis connection
 * (src/middlewares/rate-limit/redis-client.ts `RedisConnection`, passed in by
 * src/server/serving.ts): the ioredis client and a call through the circuit
 * breaker. Types only: a gateway without `--redis.endpoints` never loads ioredis.
 */
import type { Cluster, Redis } from 'ioredis';

export type SharedRedisClient = Redis | Cluster;

export interface SharedRedis {
  readonly client: SharedRedisClient;
  /** One call through the breaker, with the connection's timeout; throws when Redis cannot answer. */
  run<T>(fn: (c: SharedRedisClient) => Promise<T>): Promise<T>;
  /** The connection is ready and its breaker closed: when false the issuer does not call Redis (nothing to wait for, no failure counted). */
  readonly up: boolean;
}

/** The Redis names the issuer uses (docs/redis.md, "The identity issuer"). */
export const REDIS_KEYS = {
  /** String: the signing keys, JSON `{version:1,keys:[…]}` as `<dataDir>/identity/signing-keys.json`. */
  keys: 'gatehouse:identity:signing-keys',
  /** String with PX: the rotation lock, holding its owner's random token. */
  lock: 'gatehouse:identity:rotate-lock',
  /** Pub/sub channel: a message (the new kid) after every write of the keys. */
  channel: 'gatehouse:identity:signing-keys-changed',
  /** Prefix of the failure counters: `<prefix><sha256(client \n ip)>`. */
  failPrefix: 'gatehouse:identity:fail:',
} as const;
