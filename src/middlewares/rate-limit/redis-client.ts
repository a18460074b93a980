/**
 * The Redis connection of one serving process (docs/redis.md): an ioredis
 * client (reconnects by itself, EVALSHA with EVAL fallback for the scripts)
 * behind a circuit breaker. Every call has a timeout (`commandTimeout`) and
 * fails at once while the connection is down (no offline queue), so a dead
 * Redis never holds a request longer than `timeoutMs`. After
 * `failureThreshold` consecutive failures the breaker opens: calls fail fast
 * for `cooldownMs`, then one call probes; a success (or the connection
 * becoming ready again) closes it. The state is logged once per change and
 * shows in `GET /api/redis` and the `gatehouse_redis_*` metrics.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import type { Logger } from '../../log.js';
import { escapeLabelValue } from '../../observe/prometheus.js';
import type { RedisOptions } from './redis-options.js';

export type FailureReason = 'timeout' | 'connection' | 'auth' | 'error';
export type FailureMode = 'open' | 'closed' | 'local';
type Breaker = 'closed' | 'open' | 'half-open';

/** A Redis call that did not complete; `reason` is `circuit_open` when the breaker refused to try. */
export class RedisUnavailableError extends Error {
  readonly code = 'GH_REDIS_UNAVAILABLE';
  constructor(
    readonly reason: FailureReason | 'circuit_open',
    message: string,
  ) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export interface RedisStatus {
  enabled: true;
  endpoints: string[];
  db: number;
  tls: boolean;
  auth: 'none' | 'password' | 'user and password';
  /** `up`: the connection is ready and the breaker closed. */
  state: 'connecting' | 'up' | 'down';
  breaker: Breaker;
  consecutiveFailures: number;
  lastError: string | null;
  /** When `state` last changed (ISO 8601). */
  since: string;
  timeoutMs: number;
  cooldownMs: number;
  replicas: number;
  failures: Record<string, number>;
  fallbacks: Array<{ middleware: string; mode: FailureMode; count: number }>;
}

/** The client side the stores use: ioredis with the commands they define. */
export type RedisClient = Redis | Cluster;

const AUTH_ERROR = /WRONGPASS|NOAUTH|invalid password|invalid username|AUTH failed|not allowed to|NOPERM/i;

export function classify(err: unknown): FailureReason {
  const msg = err instanceof Error ? err.message : String(err);
  if (AUTH_ERROR.test(msg)) return 'auth';
  if (/timed out|timeout/i.test(msg)) return 'timeout';
  if (/ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|writeable|Connection is closed|closed|enableOfflineQueue|ready/i.test(msg))
    return 'connection';
  return 'error';
}

function describe(reason: FailureReason, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (reason === 'auth') return `authentication failed (${msg}): check --redis.passwordfile and --redis.username`;
  return msg;
}

/** The password from `--redis.passwordfile`: the file's content without one trailing line break. */
export function readPassword(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--redis.passwordfile: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const pw = text.replace(/\r?\n$/, '');
  if (pw === '') throw new Error(`--redis.passwordfile: "${path}" is empty`);
  return pw;
}

export class RedisConnection {
  readonly client: RedisClient;
  readonly options: RedisOptions;
  readonly #log: Logger;
  #breaker: Breaker = 'closed';
  #openedAt = 0;
  #consecutive = 0;
  #ready = false;
  #state: RedisStatus['state'] = 'connecting';
  #since = new Date().toISOString();
  #lastError: string | null = null;
  readonly #failures = new Map<string, number>();
  readonly #fallbacks = new Map<string, { middleware: string; mode: FailureMode; count: number }>();
  #closed = false;

  constructor(o: RedisOptions, log: Logger) {
    this.options = o;
    this.#log = log;
    const password = o.passwordFile !== null ? readPassword(o.passwordFile) : undefined;
    const tls =
      o.tls === null
        ? undefined
        : {
            ...(o.tls.ca !== null ? { ca: readFileSync(o.tls.ca) } : {}),
            ...(o.tls.cert !== null ? { cert: readFileSync(o.tls.cert) } : {}),
            ...(o.tls.key !== null ? { key: readFileSync(o.tls.key) } : {}),
            rejectUnauthorized: !o.tls.insecureSkipVerify,
          };
    const common: IoRedisOptions = {
      ...(o.username !== null ? { username: o.username } : {}),
      ...(password !== undefined ? { password } : {}),
      db: o.db,
      // Shows in CLIENT LIST: one connection per serving process.
      connectionName: 'gatehouse',
      ...(tls !== undefined ? { tls } : {}),
      commandTimeout: o.timeoutMs,
      connectTimeout: Math.max(o.timeoutMs, 1000),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Back off to one attempt every 2 s while Redis is away; never give up.
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
      lazyConnect: true,
    };
    this.client =
      o.endpoints.length === 1
        ? new Redis({ ...common, host: o.endpoints[0]!.host, port: o.endpoints[0]!.port })
        : new Cluster(
            o.endpoints.map((e) => ({ host: e.host, port: e.port })),
            { redisOptions: common, enableOfflineQueue: false, clusterRetryStrategy: (t: number) => Math.min(t * 100, 2000) },
          );
    this.client.on('ready', () => {
      this.#ready = true;
      // A fresh connection is proof enough: close the breaker.
      this.#breaker = 'closed';
      this.#consecutive = 0;
      this.#setState('up');
    });
    this.client.on('error', (err: unknown) => {
      const reason = classify(err);
      this.#lastError = describe(reason, err);
      if (reason === 'auth') this.#count(reason);
      if (reason === 'auth' || this.#state !== 'down') this.#setState('down');
    });
    this.client.on('close', () => {
      if (this.#closed) return;
      this.#ready = false;
      this.#setState('down');
    });
  }

  /** Connect; resolves when ready or after `waitMs` (Redis may come later: the client keeps trying). */
  async start(waitMs: number): Promise<void> {
    const ready = this.client.connect().then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), waitMs);
    });
    await Promise.race([ready, late]);
    clearTimeout(timer);
  }

  /** Run one Redis call through the breaker; throws RedisUnavailableError when it cannot. */
  async run<T>(fn: (c: RedisClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new RedisUnavailableError('connection', 'the Redis connection is closed');
    if (this.#breaker === 'open') {
      if (Date.now() - this.#openedAt < this.options.cooldownMs)
        throw new RedisUnavailableError('circuit_open', `circuit open: ${this.#lastError ?? 'Redis failed'}`);
      this.#breaker = 'half-open';
    } else if (this.#breaker === 'half-open') {
      // One probe at a time.
      throw new RedisUnavailableError('circuit_open', `circuit half-open, probing: ${this.#lastError ?? 'Redis failed'}`);
    }
    try {
      const r = await fn(this.client);
      this.#success();
      return r;
    } catch (err) {
      const reason = classify(err);
      this.#failure(reason, err);
      throw new RedisUnavailableError(reason, describe(reason, err));
    }
  }

  #success(): void {
    this.#consecutive = 0;
    if (this.#breaker !== 'closed') this.#breaker = 'closed';
    if (this.#state !== 'up') this.#setState('up');
  }

  #failure(reason: FailureReason, err: unknown): void {
    this.#count(reason);
    this.#lastError = describe(reason, err);
    this.#consecutive++;
    if (this.#breaker === 'half-open' || this.#consecutive >= this.options.failureThreshold) {
      if (this.#breaker !== 'open') this.#log.warn({ reason, failures: this.#consecutive }, 'redis: circuit open');
      this.#breaker = 'open';
      this.#openedAt = Date.now();
    }
    if (this.#state !== 'down') this.#setState('down');
  }

  #count(reason: string): void {
    this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + 1);
  }

  #setState(s: RedisStatus['state']): void {
    if (s === 'up' && (!this.#ready || this.#breaker !== 'closed')) return;
    if (s === this.#state) return;
    const was = this.#state;
    this.#state = s;
    this.#since = new Date().toISOString();
    if (s === 'up') this.#log.info({ was }, 'redis: up, limits shared across replicas');
    else this.#log.warn({ was, err: this.#lastError }, 'redis: down, middlewares use their onFailure mode');
  }

  /** A middleware applied its onFailure mode for one request. */
  countFallback(middleware: string, mode: FailureMode): void {
    const k = `${middleware}\u0000${mode}`;
    const f = this.#fallbacks.get(k);
    if (f !== undefined) f.count++;
    else this.#fallbacks.set(k, { middleware, mode, count: 1 });
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  status(): RedisStatus {
    const o = this.options;
    return {
      enabled: true,
      endpoints: o.endpoints.map((e) => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)),
      db: o.db,
      tls: o.tls !== null,
      auth: o.passwordFile === null ? 'none' : o.username === null ? 'password' : 'user and password',
      state: this.#state,
      breaker: this.#breaker === 'open' && Date.now() - this.#openedAt >= o.cooldownMs ? 'half-open' : this.#breaker,
      consecutiveFailures: this.#consecutive,
      lastError: this.#lastError,
      since: this.#since,
      timeoutMs: o.timeoutMs,
      cooldownMs: o.cooldownMs,
      replicas: o.replicas,
      failures: Object.fromEntries(this.#failures),
      fallbacks: [...this.#fallbacks.values()].map((f) => ({ ...f })),
    };
  }

  /** The `gatehouse_redis_*` families (Prometheus text), for this process. */
  prometheusText(): string {
    const lines = [
      '# HELP gatehouse_redis_up Whether this process reaches Redis: connection ready and circuit closed (1) or not (0).',
      '# TYPE gatehouse_redis_up gauge',
      `gatehouse_redis_up ${this.up ? 1 : 0}`,
      '# HELP gatehouse_redis_failures_total Redis calls that failed, by reason (timeout, connection, auth, error).',
      '# TYPE gatehouse_redis_failures_total counter',
    ];
    for (const [r, n] of this.#failures) lines.push(`gatehouse_redis_failures_total{reason="${escapeLabelValue(r)}"} ${n}`);
    lines.push(
      '# HELP gatehouse_redis_fallback_total Requests a middleware handled by its redis.onFailure mode, by middleware and mode.',
      '# TYPE gatehouse_redis_fallback_total counter',
    );
    for (const f of this.#fallbacks.values())
      lines.push(`gatehouse_redis_fallback_total{middleware="${escapeLabelValue(f.middleware)}",mode="${f.mode}"} ${f.count}`);
    return lines.join('\n') + '\n';
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await Promise.race([this.client.quit(), new Promise((r) => setTimeout(r, this.options.timeoutMs).unref())]);
    } catch {
      // Already gone.
    }
    this.client.disconnect();
  }
}
