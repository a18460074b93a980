/**
 * How the CLI talks to a running gateway's admin API (`api@internal`):
 * `--admin URL` (default `GATEHOUSE_ADMIN`, else http://127.0.0.1:8080),
 * basic auth from the URL (`http://user:pass@host:port`) or from the
 * environment variable named by `--admin-auth-env` (value `user:pass`).
 * Every request has a timeout; errors say what to do.
 */
import { request } from 'undici';

export const DEFAULT_ADMIN = 'http://127.0.0.1:8080';

export interface AdminTarget {
  /** Base URL without credentials or trailing slash. */
  base: string;
  /** `Authorization` header value, or null. */
  authorization: string | null;
}

export class AdminError extends Error {
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** Resolve the admin target from the flag, the environment, the default. */
export function adminTarget(flag: string | undefined, authEnv: string | undefined, env: NodeJS.ProcessEnv): AdminTarget {
  const raw = flag ?? env.GATEHOUSE_ADMIN ?? DEFAULT_ADMIN;
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new AdminError(`--admin: not a URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AdminError(`--admin: expected an http(s) URL, got "${raw}"`);
  let authorization: string | null = null;
  if (u.username !== '' || u.password !== '') {
    authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }
  if (authEnv !== undefined) {
    const v = env[authEnv];
    if (v === undefined || !v.includes(':')) throw new AdminError(`--admin-auth-env: the variable ${authEnv} must hold "user:password"`);
    authorization = `Basic ${Buffer.from(v).toString('base64')}`;
  }
  u.username = '';
  u.password = '';
  const base = u.toString().replace(/\/+$/, '');
  return { base, authorization };
}

function unreachable(t: AdminTarget, err: unknown): AdminError {
  const code = (err as { code?: string } | null)?.code ?? (err instanceof Error ? err.message : String(err));
  return new AdminError(
    `cannot reach the gateway's admin API at ${t.base} (${code}).\n` +
      `  Is the gateway running with the API enabled (--api.insecure, or a router to api@internal)?\n` +
      `  Point the CLI at it with --admin URL or GATEHOUSE_ADMIN.`,
  );
}

export interface GetOptions {
  timeoutMs?: number;
  /** Accept these statuses without throwing (the body is returned as text). */
  accept?: readonly number[];
}

/** GET a path; returns status and body text. Throws AdminError when unreachable. */
export async function adminGet(
  t: AdminTarget,
  path: string,
  opts: GetOptions = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const timeout = opts.timeoutMs ?? 5000;
  try {
    const r = await request(t.base + path, {
      method: 'GET',
      headers: t.authorization !== null ? { authorization: t.authorization } : {},
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    const body = await r.body.text();
    return { status: r.statusCode, body: body.length > 4_000_000 ? body.slice(0, 4_000_000) : body, headers: r.headers };
  } catch (err) {
    throw unreachable(t, err);
  }
}

/** GET a JSON document from the admin API. */
export async function adminJson<T>(t: AdminTarget, path: string, timeoutMs = 5000): Promise<T> {
  const r = await adminGet(t, path, { timeoutMs });
  if (r.status === 401 || r.status === 403) {
    throw new AdminError(
      `the admin API at ${t.base} refused the request (${r.status}): pass credentials with --admin http://user:pass@host:port or --admin-auth-env VAR`,
      r.status,
    );
  }
  if (r.status === 404 && path.startsWith('/api/gatehouse/')) {
    throw new AdminError(`${t.base}${path}: not found. Is this a Gatehouse gateway (not Traefik), with the API on this address?`, 404);
  }
  let v: unknown;
  try {
    v = JSON.parse(r.body);
  } catch {
    throw new AdminError(`${t.base}${path}: expected JSON, got status ${r.status}: ${r.body.slice(0, 200)}`, r.status);
  }
  if (r.status !== 200) {
    const msg = (v as { message?: string } | null)?.message ?? r.body.slice(0, 200);
    throw new AdminError(`${t.base}${path}: ${r.status} ${msg}`, r.status);
  }
  return v as T;
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Read a Server-Sent Events stream until `signal` aborts or the server ends
 * it. Connecting times out after `connectTimeoutMs`; a stream silent for
 * longer than `idleTimeoutMs` (the server sends keep-alives every 15 s) ends.
 */
export async function adminSse(
  t: AdminTarget,
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  connectTimeoutMs = 5000,
  idleTimeoutMs = 60_000,
): Promise<void> {
  let r: Awaited<ReturnType<typeof request>>;
  try {
    r = await request(t.base + path, {
      method: 'GET',
      headers: { accept: 'text/event-stream', ...(t.authorization !== null ? { authorization: t.authorization } : {}) },
      headersTimeout: connectTimeoutMs,
      bodyTimeout: idleTimeoutMs,
      signal,
    });
  } catch (err) {
    if (signal.aborted) return;
    throw unreachable(t, err);
  }
  if (r.statusCode !== 200) {
    const body = await r.body.text();
    let msg = body.slice(0, 300);
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? msg;
    } catch {
      /* text */
    }
    throw new AdminError(`${t.base}${path}: ${r.statusCode} ${msg}`, r.statusCode);
  }
  let buf = '';
  let event = 'message';
  let data: string[] = [];
  try {
    for await (const chunk of r.body) {
      buf += (chunk as Buffer).toString('utf8');
      if (buf.length > 8_000_000) throw new AdminError('tap stream: an event exceeded 8 MB');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (data.length > 0) onEvent({ event, data: data.join('\n') });
          event = 'message';
          data = [];
        } else if (line.startsWith(':')) continue;
        else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}
