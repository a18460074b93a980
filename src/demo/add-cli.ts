/**
 * `add-cli`, the demo workload's client: calls the calculator named by SERVER
 * non-stop (HTTP through an undici keep-alive pool, or gRPC), checks every sum
 * and reports once per interval: `<time> ok=50 failed=0 rps=50.0 p50=1.2ms p99=3.4ms last_error=-`.
 */
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { Pool, request } from 'undici';
import { GatehouseError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { addNumbers, parseFlags } from './add-server.js';
import { CALCULATOR_SERVICE, calculatorDefinition, serviceConstructor } from './proto.js';

export interface AddCliReport {
  ok: number;
  failed: number;
  /** Requests (ok + failed) per second over the period. */
  rps: number;
  /** Latency percentiles of the successful calls, in ms (0 when none). */
  p50Ms: number;
  p99Ms: number;
  /** The last failure of the period: `401 Unauthorized`, `ECONNREFUSED …`, `wrong sum …`; null when none. */
  lastError: string | null;
  at: Date;
}

export interface AddCliOptions {
  /** `http(s)://host:port[/prefix]`, `grpc(s)://host:port`, or `host[:port]` (HTTP). */
  server: string;
  /** Requests per second over all workers; 0 = as fast as concurrency allows. Default 10. */
  rate?: number;
  /** Calls in flight at once. Default 4. */
  concurrency?: number;
  /** Stop after this long; default: run until `signal` aborts. */
  durationMs?: number;
  /** Host header (HTTP) or :authority (gRPC) to send instead of the server's. */
  hostHeader?: string;
  /** Bearer token for each call (e.g. clientCredentialsTokenProvider). */
  getToken?: () => Promise<string>;
  /** Called once per report interval with that interval's figures. */
  onReport?: (r: AddCliReport) => void;
  signal?: AbortSignal;
  /** Per-call timeout; default 5000 ms. */
  timeoutMs?: number;
  /** Default 1000 ms. */
  reportIntervalMs?: number;
}

type Target = { kind: 'http'; origin: string; prefix: string } | { kind: 'grpc'; address: string; tls: boolean };

/** Where SERVER points. */
export function parseServer(server: string): Target {
  const s = server.trim();
  const g = /^(grpcs?):\/\/([^/]+)\/?$/i.exec(s);
  if (g !== null) return { kind: 'grpc', address: g[2] as string, tls: (g[1] as string).toLowerCase() === 'grpcs' };
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(s) ? s : `http://${s}`);
  } catch {
    throw new GatehouseError('GH_FLAG_INVALID', `invalid server "${server}": expected http://host:port, grpc://host:port or host:port`, {
      exitCode: 2,
    });
  }
  return { kind: 'http', origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** One call: resolves to null when the right sum came back, else the error text. */
type Caller = { call(a: number, b: number, token: string | null): Promise<string | null>; close(): Promise<void> };

const MAX_BODY = 64 * 1024;

function describe(err: unknown): string {
  const e = err as { code?: unknown; name?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT')
    return `timeout: ${msg}`.slice(0, 160);
  const code = typeof e?.code === 'string' ? e.code : '';
  return (code !== '' && !msg.includes(code) ? `${code} ${msg}` : msg).slice(0, 160);
}

function checkSum(text: string, a: number, b: number): string | null {
  const want = addNumbers(a, b);
  const got = text.trim() === '' ? NaN : Number(text);
  if (Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want))) return null;
  return `wrong sum for ${a}+${b}: got ${JSON.stringify(text.slice(0, 32))}, want ${want}`;
}

/** Read a response body of at most MAX_BODY bytes. */
async function readBody(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > MAX_BODY) {
      body.destroy();
      throw new Error(`response body larger than ${MAX_BODY} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString();
}

function httpCaller(
  t: { origin: string; prefix: string },
  o: { concurrency: number; timeoutMs: number; hostHeader?: string | undefined },
): Caller {
  const pool = new Pool(t.origin, {
    connections: o.concurrency,
    keepAliveTimeout: 10_000,
    connect: { timeout: o.timeoutMs },
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  });
  return {
    async call(a, b, token) {
      const headers: Record<string, string> = {};
      if (o.hostHeader !== undefined) headers['host'] = o.hostHeader;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      try {
        const res = await pool.request({
          method: 'GET',
          path: `${t.prefix}/add/${a}/${b}`,
          headers,
          signal: AbortSignal.timeout(o.timeoutMs),
        });
        const text = await readBody(res.body);
        if (res.statusCode !== 200) return `${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}`.trim();
        return checkSum(text, a, b);
      } catch (err) {
        return describe(err);
      }
    },
    close: () => pool.close(),
  };
}

interface CalculatorClient extends grpc.Client {
  Add(
    req: { x: number; y: number },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: { sum: number }) => void,
  ): grpc.ClientUnaryCall;
}

function grpcCaller(t: { address: string; tls: boolean }, o: { timeoutMs: number; hostHeader?: string | undefined }): Caller {
  const Ctor = serviceConstructor(calculatorDefinition(), CALCULATOR_SERVICE);
  const creds = t.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const client = new Ctor(
    t.address,
    creds,
    o.hostHeader !== undefined ? { 'grpc.default_authority': o.hostHeader } : {},
  ) as unknown as CalculatorClient;
  return {
    call(a, b, token) {
      const md = new grpc.Metadata();
      if (token !== null) md.set('authorization', `Bearer ${token}`);
      return new Promise((resolve) => {
        client.Add({ x: a, y: b }, md, { deadline: Date.now() + o.timeoutMs }, (err, reply) => {
          if (err) resolve(`${grpc.status[err.code] ?? err.code} ${err.details.replace(/\s*Resolution note:\s*$/, '')}`.slice(0, 160));
          else resolve(checkSum(String(reply?.sum), a, b));
        });
      });
    },
    close: async () => client.close(),
  };
}

/** Latency samples for percentiles: a bounded reservoir. */
class Window {
  ok = 0;
  failed = 0;
  lastError: string | null = null;
  private seen = 0;
  private readonly samples: number[] = [];
  constructor(private readonly cap: number) {}
  success(ms: number): void {
    this.ok++;
    this.seen++;
    if (this.samples.length < this.cap) this.samples.push(ms);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < this.cap) this.samples[i] = ms;
    }
  }
  failure(error: string): void {
    this.failed++;
    this.lastError = error;
  }
  report(seconds: number): AddCliReport {
    const s = Float64Array.from(this.samples).sort();
    const p = (q: number): number => (s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number));
    return {
      ok: this.ok,
      failed: this.failed,
      rps: seconds > 0 ? (this.ok + this.failed) / seconds : 0,
      p50Ms: p(0.5),
      p99Ms: p(0.99),
      lastError: this.lastError,
      at: new Date(),
    };
  }
}

/** A random operand: an integer or a decimal with one or two places, between -1000 and 1000. */
function operand(): number {
  const scale = [1, 10, 100][Math.floor(Math.random() * 3)] as number;
  return Math.round((Math.random() * 2000 - 1000) * scale) / scale + 0;
}

/** Call the calculator until durationMs passes or signal aborts; resolves with the totals. */
export async function runAddCli(opts: AddCliOptions): Promise<AddCliReport> {
  const rate = opts.rate ?? 10;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.reportIntervalMs ?? 1000;
  if (!(rate >= 0) || !Number.isFinite(rate))
    throw new GatehouseError('GH_FLAG_INVALID', `invalid rate ${rate}: expected a number >= 0`, { exitCode: 2 });
  const target = parseServer(opts.server);
  const caller =
    target.kind === 'http'
      ? httpCaller(target, { concurrency, timeoutMs, hostHeader: opts.hostHeader })
      : grpcCaller(target, { timeoutMs, hostHeader: opts.hostHeader });

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) stop.abort();
  const durationTimer = opts.durationMs !== undefined ? setTimeout(onAbort, opts.durationMs) : null;

  const started = performance.now();
  const total = new Window(10_000);
  let window = new Window(10_000);
  let windowStart = started;
  const flush = (): void => {
    const now = performance.now();
    const r = window.report((now - windowStart) / 1000);
    window = new Window(10_000);
    windowStart = now;
    opts.onReport?.(r);
  };
  const reportTimer = setInterval(flush, intervalMs);

  const gap = rate > 0 ? 1000 / rate : 0;
  let nextSlot = started;
  const waitTurn = async (): Promise<boolean> => {
    if (gap === 0) return !stop.signal.aborted;
    const now = performance.now();
    if (nextSlot < now - 1000) nextSlot = now; // fell behind: do not burst to catch up
    const slot = Math.max(nextSlot, now);
    nextSlot = slot + gap;
    if (slot - now >= 1) await sleep(slot - now, undefined, { signal: stop.signal }).catch(() => undefined);
    return !stop.signal.aborted;
  };

  /** One call; resolves to how long the worker should pause before the next (-1: none, 0: yield to the event loop). */
  const one = async (): Promise<number> => {
    const a = operand();
    const b = operand();
    const t0 = performance.now();
    let error: string | null;
    let token: string | null = null;
    try {
      if (opts.getToken !== undefined) token = await opts.getToken();
    } catch (err) {
      error = `token: ${describe(err)}`;
      window.failure(error);
      total.failure(error);
      return 100; // no token, no point calling: do not spin
    }
    error = await caller.call(a, b, token);
    if (error === null) {
      const ms = performance.now() - t0;
      window.success(ms);
      total.success(ms);
      return -1;
    }
    window.failure(error);
    total.failure(error);
    return 0; // a failure may come back without I/O: let timers run
  };

  const worker = async (): Promise<void> => {
    while (await waitTurn()) {
      const pause = await one();
      if (pause > 0) await sleep(pause, undefined, { signal: stop.signal }).catch(() => undefined);
      else if (pause === 0) await yieldLoop();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    if (durationTimer !== null) clearTimeout(durationTimer);
    clearInterval(reportTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    await caller.close().catch(() => undefined);
  }
  if (window.ok + window.failed > 0) flush();
  return total.report((performance.now() - started) / 1000);
}

/** `2026-11-24T13:00:01Z ok=50 failed=0 rps=50.0 p50=1.2ms p99=3.4ms last_error=-` */
export function formatReport(r: AddCliReport): string {
  const at = r.at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${at} ok=${r.ok} failed=${r.failed} rps=${r.rps.toFixed(1)} p50=${r.p50Ms.toFixed(1)}ms p99=${r.p99Ms.toFixed(1)}ms last_error=${r.lastError ?? '-'}`;
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  /** Sent in the form body only; never logged or put in an error message. */
  clientSecret: string;
  scope?: string;
  /** Per token request; default 5000 ms. */
  timeoutMs?: number;
}

/** OAuth 2.0 error codes are short tokens; anything else is not shown. */
const OAUTH_ERROR = /^[\x20-\x7e]{1,64}$/;

/**
 * A getToken for runAddCli: OAuth 2.0 client credentials (RFC 6749 §4.4). The
 * token is cached and refreshed min(5 minutes, 10% of its lifetime) before it
 * expires; concurrent callers share one request; after a failure, callers get
 * the same error for a second instead of hammering the token endpoint.
 */
export function clientCredentialsTokenProvider(o: ClientCredentialsOptions): () => Promise<string> {
  const timeoutMs = o.timeoutMs ?? 5000;
  let token: string | null = null;
  let refreshAt = 0;
  let inflight: Promise<string> | null = null;
  let failure: { err: Error; until: number } | null = null;

  const fetchToken = async (): Promise<string> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret });
    if (o.scope !== undefined && o.scope !== '') form.set('scope', o.scope);
    const res = await request(o.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await readBody(res.body);
    let json: Record<string, unknown> = {};
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object') json = v as Record<string, unknown>;
    } catch {
      // handled below
    }
    if (res.statusCode !== 200) {
      const code = typeof json['error'] === 'string' && OAUTH_ERROR.test(json['error']) ? `: ${json['error']}` : '';
      throw new Error(`token endpoint answered ${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}${code}`);
    }
    const access = json['access_token'];
    if (typeof access !== 'string' || access === '') throw new Error('token endpoint answer has no access_token');
    const raw = Number(json['expires_in'] ?? 300);
    const lifetimeMs = (Number.isFinite(raw) && raw > 0 ? raw : 300) * 1000;
    token = access;
    refreshAt = Date.now() + lifetimeMs - Math.min(300_000, lifetimeMs * 0.1);
    return access;
  };

  return () => {
    const now = Date.now();
    if (token !== null && now < refreshAt) return Promise.resolve(token);
    if (failure !== null && now < failure.until) return Promise.reject(failure.err);
    inflight ??= fetchToken()
      .then((t) => {
        failure = null;
        return t;
      })
      .catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        failure = { err: e, until: Date.now() + 1000 };
        throw e;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
}

const CLI_FLAGS = [
  'server',
  'rate',
  'concurrency',
  'duration',
  'host-header',
  'timeout',
  'token-url',
  'client-id',
  'client-secret-env',
  'scope',
  'help',
] as const;
export const ADD_CLI_USAGE = `usage: gatehouse add-cli [--server URL] [--rate 10] [--concurrency 4] [--duration 30s] [--host-header H] [--timeout 5s]
                         [--token-url URL --client-id ID --client-secret-env VAR --scope S]

Calls the calculator non-stop and prints one report line per second.

flags:
  --server URL              http://host:port[/prefix], https://…, grpc://host:port, grpcs://… or host[:port] (env SERVER)
  --rate N                  requests per second over all workers, 0 = as fast as possible (default 10; env RATE)
  --concurrency N           calls in flight (default 4; env CONCURRENCY)
  --duration D              stop after this long, e.g. 30s (default: until Ctrl-C; env DURATION)
  --host-header H           send Host: H (gRPC: :authority; env HOST_HEADER)
  --timeout D               per call (default 5s)
  --token-url URL           get client-credentials tokens here (env TOKEN_URL)
  --client-id ID            the client's appId (env CLIENT_ID)
  --client-secret-env VAR   the variable holding the client secret (default CLIENT_SECRET)
  --scope S                 e.g. api://<API appId>/.default (env SCOPE)
  -h, --help                this text
`;

function number(value: string, what: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min)
    throw new GatehouseError('GH_FLAG_INVALID', `invalid ${what} "${value}": expected a number >= ${min}`, { exitCode: 2 });
  return n;
}

function duration(value: string, what: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new GatehouseError('GH_FLAG_INVALID', `invalid ${what}: ${(err as Error).message}`, { exitCode: 2 });
  }
}

/**
 * `gatehouse add-cli`: argv is what follows the sub-command. Prints one report
 * line per second on stdout, stops on SIGINT/SIGTERM or after --duration.
 */
export async function addCliMain(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (argv.some((a) => a === '--client-secret' || a.startsWith('--client-secret='))) {
    throw new GatehouseError(
      'GH_FLAG_INVALID',
      'secrets are not accepted as flag values: put the secret in an environment variable and pass --client-secret-env NAME',
      { exitCode: 2 },
    );
  }
  const f = parseFlags(argv, CLI_FLAGS);
  if (f.has('help')) {
    out.write(ADD_CLI_USAGE);
    return;
  }
  const pick = (flag: string, envName: string): string | undefined => f.get(flag) ?? (env[envName] || undefined);
  const server = pick('server', 'SERVER');
  if (server === undefined)
    throw new GatehouseError('GH_FLAG_INVALID', 'no server: set SERVER (e.g. http://127.0.0.1:8081) or pass --server', { exitCode: 2 });
  const rate = pick('rate', 'RATE');
  const conc = pick('concurrency', 'CONCURRENCY');
  const dur = pick('duration', 'DURATION');
  const timeout = f.get('timeout');
  const hostHeader = pick('host-header', 'HOST_HEADER');
  let getToken: (() => Promise<string>) | undefined;
  const tokenUrl = pick('token-url', 'TOKEN_URL');
  if (tokenUrl !== undefined) {
    const clientId = pick('client-id', 'CLIENT_ID');
    const secretVar = pick('client-secret-env', 'CLIENT_SECRET_ENV') ?? 'CLIENT_SECRET';
    const clientSecret = env[secretVar];
    if (clientId === undefined)
      throw new GatehouseError('GH_FLAG_INVALID', '--token-url needs --client-id (or CLIENT_ID)', { exitCode: 2 });
    if (clientSecret === undefined || clientSecret === '')
      throw new GatehouseError('GH_FLAG_INVALID', `--token-url needs the client secret in environment variable ${secretVar}`, {
        exitCode: 2,
      });
    const scope = pick('scope', 'SCOPE');
    getToken = clientCredentialsTokenProvider({ tokenUrl, clientId, clientSecret, ...(scope !== undefined ? { scope } : {}) });
  }
  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const total = await runAddCli({
      server,
      signal: ctl.signal,
      onReport: (r) => out.write(`${formatReport(r)}\n`),
      ...(rate !== undefined ? { rate: number(rate, 'rate', 0) } : {}),
      ...(conc !== undefined ? { concurrency: number(conc, 'concurrency', 1) } : {}),
      ...(dur !== undefined ? { durationMs: duration(dur, 'duration') } : {}),
      ...(timeout !== undefined ? { timeoutMs: duration(timeout, 'timeout') } : {}),
      ...(hostHeader !== undefined ? { hostHeader } : {}),
      ...(getToken !== undefined ? { getToken } : {}),
    });
    out.write(`total ${formatReport(total).replace(/^\S+ /, '')}\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
