/**
 * `--redis.*` (static configuration) → the options of the Redis connection
 * that rateLimit and inFlightReq share across replicas (docs/redis.md),
 * checked once at start-up with errors that name the flag. Plain data: the
 * primary sends it to every worker, and it holds the password file's path,
 * never the password.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface RedisOptions {
  readonly endpoints: readonly RedisEndpoint[];
  readonly username: string | null;
  /** Absolute path of the file holding the password; null: no AUTH. */
  readonly passwordFile: string | null;
  readonly db: number;
  /** null: plain TCP. Paths are absolute. */
  readonly tls: { ca: string | null; cert: string | null; key: string | null; insecureSkipVerify: boolean } | null;
  /** Replicas sharing the limits; `onFailure: local` limits each to 1/replicas of the limit. */
  readonly replicas: number;
  /** Longest wait for one Redis call, ms. */
  readonly timeoutMs: number;
  /** After `failureThreshold` consecutive failures, how long Redis is not asked before one probe, ms. */
  readonly cooldownMs: number;
  readonly failureThreshold: number;
}

export interface RedisStaticSection {
  readonly endpoints: readonly unknown[];
  readonly username?: string;
  readonly passwordfile?: string;
  readonly db: number;
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly insecureSkipVerify: boolean };
  readonly replicas: number;
  readonly timeout: number;
  readonly cooldown: number;
}

export const FAILURE_THRESHOLD = 3;

/** "host:port", "[::1]:port". */
export function parseRedisEndpoint(text: string): RedisEndpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535)
    throw new Error(`--redis.endpoints: "${text}" is not host:port (for example 127.0.0.1:6379 or [::1]:6379)`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function readable(flag: string, path: string): string {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new Error(`--${flag}: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return path;
}

export function redisOptionsFromStatic(s: RedisStaticSection | undefined, cwd: string): RedisOptions | null {
  if (s === undefined) return null;
  const list = s.endpoints.flatMap((e) => String(e).split(',')).filter((e) => e.trim() !== '');
  if (list.length === 0) throw new Error('--redis needs --redis.endpoints=host:port[,host:port…] (docs/redis.md)');
  const file = (flag: string, p: string | undefined): string | null =>
    p === undefined || p.trim() === '' ? null : readable(flag, resolve(cwd, p));
  if (s.timeout < 1) throw new Error('--redis.timeout must be at least 1ms');
  return {
    endpoints: list.map(parseRedisEndpoint),
    username: s.username !== undefined && s.username !== '' ? s.username : null,
    passwordFile: file('redis.passwordfile', s.passwordfile),
    db: s.db,
    tls:
      s.tls === undefined
        ? null
        : {
            ca: file('redis.tls.ca', s.tls.ca),
            cert: file('redis.tls.cert', s.tls.cert),
            key: file('redis.tls.key', s.tls.key),
            insecureSkipVerify: s.tls.insecureSkipVerify,
          },
    replicas: s.replicas,
    timeoutMs: s.timeout,
    cooldownMs: s.cooldown,
    failureThreshold: FAILURE_THRESHOLD,
  };
}
