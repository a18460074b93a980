/**
 * How Gatehouse's calls to an ACME server are made through acme-client.
 *
 * acme-client sends every request through one module-wide axios instance
 * (`acme.axios`). Changing its defaults would change every caller, and the
 * resolvers of one gateway trust different CAs. So each call runs inside an
 * `AsyncLocalStorage` context that carries the resolver's TLS agent (system
 * CAs plus `cacertificates`), the request timeout and a size bound; a request
 * interceptor applies them to that request only, and a response interceptor
 * keeps the last RFC 7807 problem the CA answered (type, status,
 * `Retry-After`), which acme-client's own errors leave out.
 *
 * acme-client retries 429 and 5xx answers itself, sleeping for the whole
 * `Retry-After` (hours, for a rate limit). Inside a Gatehouse context that
 * retry is turned off: the engine schedules the next attempt itself, after
 * `Retry-After` and its back-off, and never holds an order open meanwhile.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';

export interface AcmeProblem {
  readonly status: number;
  /** `urn:ietf:params:acme:error:rateLimited`, … (empty when the answer was not a problem document). */
  readonly type: string;
  readonly detail: string;
  /** The `Retry-After` header, as sent. */
  readonly retryAfter?: string;
}

export interface CaCallContext {
  readonly agent: Agent;
  readonly timeoutMs: number;
  lastProblem?: AcmeProblem;
  /** The last request that got no answer (refused, reset, timed out, TLS refused). */
  lastNetworkError?: { readonly url: string; readonly reason: string };
}

/**
 * The message of a failed call. acme-client turns a request that got no answer
 * into a TypeError of its own ("Cannot read properties of undefined"); the
 * reason recorded by the transport says what happened instead.
 */
export function callError(err: unknown, ctx: CaCallContext): string {
  const e = err as Error;
  const net = ctx.lastNetworkError;
  if (net !== undefined && (e instanceof TypeError || e.message === '')) return `cannot reach the ACME server: ${net.reason} (${net.url})`;
  return e.message || ctx.lastProblem?.detail || 'the ACME request failed';
}

const als = new AsyncLocalStorage<CaCallContext>();
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Larger than any acmeSettings.retryMaxAttempts: acme-client's retry check fails at once. */
const NO_RETRY = 1_000_000;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
    const ctx = als.getStore();
    if (ctx === undefined) return config;
    config.httpsAgent = ctx.agent;
    config.timeout = ctx.timeoutMs;
    config.maxContentLength = MAX_BODY_BYTES;
    config.maxBodyLength = MAX_BODY_BYTES;
    config.maxRedirects = 0;
    const c = config as unknown as Record<string, unknown>;
    const url = String(config.url ?? '');
    // axios's http adapter takes a `transport` (an object with `request`, like node:https): ours records why a request got no answer.
    c['transport'] = {
      request(options: RequestOptions, cb: (res: IncomingMessage) => void): ClientRequest {
        const req = httpsRequest(options, cb);
        req.on('error', (e: NodeJS.ErrnoException) => {
          ctx.lastNetworkError = { url, reason: e.code ?? e.message };
        });
        req.on('timeout', () => {
          ctx.lastNetworkError = { url, reason: `no answer within ${ctx.timeoutMs} ms` };
        });
        return req;
      },
    };
    if (!('retryAttempt' in c)) c['retryAttempt'] = NO_RETRY;
    return config;
  });
  acme.axios.interceptors.response.use(
    (res) => {
      const ctx = als.getStore();
      if (ctx !== undefined && res.status >= 400) {
        const data: unknown = res.data;
        const d = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
        const retryAfter: unknown = res.headers['retry-after'];
        ctx.lastProblem = {
          status: res.status,
          type: typeof d['type'] === 'string' ? d['type'] : '',
          detail: typeof d['detail'] === 'string' ? d['detail'].slice(0, 2000) : '',
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        };
      }
      return res;
    },
    (err: unknown) => Promise.reject(err),
  );
}

/** A TLS agent trusting the system CAs and the PEM certificates given (the resolver's `cacertificates`). */
export function caAgent(extraCaPem: readonly string[]): Agent {
  return new Agent({ ca: [...rootCertificates, ...extraCaPem], keepAlive: false, maxCachedSessions: 10 });
}

/** Runs `fn` with every acme-client request it makes bound to `ctx`. */
export function withCa<T>(ctx: CaCallContext, fn: () => Promise<T>): Promise<T> {
  install();
  return als.run(ctx, fn);
}

/** A GET of an ACME resource that acme-client has no call for (the directory, renewalInfo), under the current context. */
export async function caGet(url: string): Promise<{ status: number; data: unknown; headers: Record<string, string | undefined> }> {
  install();
  const res = await acme.axios.get(url, { validateStatus: () => true, responseType: 'json' });
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(res.headers as Record<string, unknown>))
    headers[k.toLowerCase()] = typeof v === 'string' ? v : undefined;
  return { status: res.status, data: res.data as unknown, headers };
}
