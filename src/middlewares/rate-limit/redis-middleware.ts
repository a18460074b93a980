/**
 * The `redis` block of rateLimit and inFlightReq (docs/redis.md): what a
 * middleware does when the shared store cannot answer. The connection itself
 * is static (`--redis.*`), the same for every middleware of a replica;
 * Traefik's per-middleware connection fields are refused with a pointer to
 * those flags.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Problem } from '../types.js';
import type { FailureMode } from './redis-client.js';

/** Traefik v3's per-middleware Redis connection fields. */
const TRAEFIK_FIELDS = [
  'endpoints',
  'username',
  'password',
  'db',
  'tls',
  'poolSize',
  'minIdleConns',
  'maxActiveConns',
  'readTimeout',
  'writeTimeout',
  'dialTimeout',
] as const;

export const RedisMiddlewareSchema = Type.Object(
  {
    /** When Redis cannot answer: `open` lets every request through, `closed` answers 503, `local` (default) limits this replica to its share. */
    onFailure: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('local')])),
    /** Replicas sharing the limit (default `--redis.replicas`): `local` allows 1/replicas of it on each. */
    replicas: Type.Optional(Type.Integer({ minimum: 1 })),
    ...Object.fromEntries(TRAEFIK_FIELDS.map((f) => [f, Type.Optional(Type.Unknown())])),
  },
  { additionalProperties: false },
);

export type RedisMiddlewareOptions = Static<typeof RedisMiddlewareSchema>;

export const DEFAULT_ON_FAILURE: FailureMode = 'local';

/** Problems of a middleware's `redis` block (compile time, so `check` shows them). */
export function checkRedisBlock(type: string, r: RedisMiddlewareOptions | undefined): Problem[] {
  if (r === undefined) return [];
  const given = TRAEFIK_FIELDS.filter((f) => (r as Record<string, unknown>)[f] !== undefined);
  if (given.length === 0) return [];
  return [
    {
      path: `redis.${given[0]}`,
      message: `${type}.redis.${given.join(', ')}: the Redis connection is static in Gatehouse, the same for every middleware: give --redis.endpoints (and --redis.passwordfile, --redis.db, --redis.tls) to every replica instead; a middleware's redis block takes onFailure and replicas (docs/redis.md)`,
    },
  ];
}

/** Share of a limit one replica keeps when Redis is away (`local`): at least 1. */
export function localShare(limit: number, replicas: number): number {
  return Math.max(1, Math.floor(limit / replicas));
}
