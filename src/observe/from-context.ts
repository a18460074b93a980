/**
 * Adapters from the server's RequestContext to the plain records the observe
 * module consumes (ExchangeRecord for metrics, AccessLogEntry for the access
 * log). Called once per finished exchange from the server's `onEnd` hook.
 */
import { performance } from 'node:perf_hooks';
import type { Http2ServerResponse } from 'node:http2';
import type { RequestContext } from '../http/exchange.js';
import type { AccessLogEntry } from './access-log-format.js';
import type { ExchangeProtocol, ExchangeRecord } from './metrics.js';

export interface ExchangeExtras {
  /** End of the exchange, performance.now() ms (default: now). */
  endMs?: number;
  /** gRPC status from the response trailers/headers, when the exchange was gRPC. */
  grpcStatus?: number | null;
  /** Header carrying the caller identity when there is no verified token (e.g. `client`), lower-case. */
  callerHeader?: string | null;
  /** Request body bytes read (default: the content-length header). */
  bytesIn?: number;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Caller identity: token client id, else the configured header, else the client IP. */
export function callerOf(ctx: RequestContext, callerHeader?: string | null): string {
  if (ctx.caller !== null && ctx.caller !== '') return ctx.caller;
  if (callerHeader !== undefined && callerHeader !== null) {
    const h = headerValue(ctx.headers[callerHeader]);
    if (h !== undefined && h !== '') return h.length > 128 ? h.slice(0, 128) : h;
  }
  return ctx.clientIp;
}

/** Traefik's protocol label from the request. */
export function protocolOf(ctx: RequestContext): ExchangeProtocol {
  if (ctx.upgrade !== null) return 'websocket';
  const ct = headerValue(ctx.req.headers['content-type']);
  if (ct !== undefined && ct.startsWith('application/grpc')) return ct.startsWith('application/grpc-web') ? 'grpc-web' : 'grpc';
  const accept = headerValue(ctx.req.headers.accept);
  if (accept === 'text/event-stream') return 'sse';
  return 'http';
}

function contentLength(ctx: RequestContext): number {
  const cl = headerValue(ctx.req.headers['content-length']);
  const n = cl === undefined ? 0 : Number(cl);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * A long-lived stream of the gateway's own API: a server-sent event stream (the tap, live
 * data) answered by an `@internal` service. Its duration is how long a browser tab stayed
 * open, not a latency. Streams proxied to a backend are not concerned: their duration is
 * the backend's, as Traefik reports it. Looked at only for internal services.
 */
export function isOwnStream(ctx: RequestContext): boolean {
  if (!ctx.serviceName.endsWith('@internal') || ctx.status !== 200) return false;
  const ct = responseHeadersOf(ctx)?.['content-type'];
  const v = Array.isArray(ct) ? ct[0] : ct;
  return typeof v === 'string' && v.toLowerCase().startsWith('text/event-stream');
}

export function exchangeRecordFromContext(ctx: RequestContext, x: ExchangeExtras = {}): ExchangeRecord {
  const end = x.endMs ?? performance.now();
  const protocol = protocolOf(ctx);
  return {
    entryPoint: ctx.entryPoint,
    router: ctx.routerName,
    service: ctx.serviceName,
    server: ctx.serverUrl,
    caller: callerOf(ctx, x.callerHeader),
    method: ctx.req.method ?? ctx.method,
    status: ctx.status,
    grpcStatus: x.grpcStatus ?? null,
    latencyMs: end - ctx.start,
    bytesIn: x.bytesIn ?? contentLength(ctx),
    bytesOut: ctx.bytesOut,
    retries: ctx.retries,
    upstreamError: ctx.upstreamError !== null,
    at: performance.timeOrigin + end,
    path: ctx.originalPath,
    protocol,
    code: ctx.code,
    streaming: isOwnStream(ctx),
  };
}

export interface AccessLogExtras {
  endMs?: number;
  /** Time spent waiting for the backend, ms. */
  originDurationMs?: number;
  /** Authenticated user name (basicAuth / forwardAuth). */
  clientUsername?: string;
  /** Headers sent to the client. */
  responseHeaders?: Record<string, string | string[] | number | undefined>;
  /** Request body bytes read (default: the content-length header). */
  bytesIn?: number;
}

function hostPort(addr: string): { host: string; port: string } {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    const rest = addr.slice(end + 1);
    return { host: addr.slice(1, end), port: rest.startsWith(':') ? rest.slice(1) : '-' };
  }
  const i = addr.lastIndexOf(':');
  return i < 0 ? { host: addr, port: '-' } : { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

function serviceAddr(url: string): string {
  const s = url.indexOf('://');
  if (s < 0) return url;
  const rest = url.slice(s + 3);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

export function accessLogEntryFromContext(ctx: RequestContext, x: AccessLogExtras = {}): AccessLogEntry {
  const end = x.endMs ?? performance.now();
  const hostHeader = headerValue(ctx.req.headers.host) ?? '';
  const hp = hostPort(hostHeader);
  const port = ctx.req.socket?.remotePort;
  const clientPort = port === undefined ? '' : String(port);
  return {
    start: performance.timeOrigin + ctx.start,
    durationMs: end - ctx.start,
    originDurationMs: x.originDurationMs ?? 0,
    clientAddr: ctx.remoteIp.includes(':') ? `[${ctx.remoteIp}]:${clientPort}` : `${ctx.remoteIp}:${clientPort}`,
    clientHost: ctx.clientIp,
    clientPort,
    clientUsername: x.clientUsername ?? '',
    requestMethod: ctx.req.method ?? ctx.method,
    requestPath: ctx.req.url ?? ctx.url,
    requestProtocol: `HTTP/${ctx.req.httpVersion}`,
    requestScheme: ctx.scheme,
    requestHost: hp.host,
    requestPort: hp.port,
    requestAddr: hostHeader,
    requestContentSize: x.bytesIn ?? contentLength(ctx),
    downstreamStatus: ctx.status,
    downstreamContentSize: ctx.bytesOut,
    originStatus: ctx.originStatus,
    originContentSize: ctx.originStatus === 0 ? 0 : ctx.bytesOut,
    retryAttempts: ctx.retries,
    routerName: ctx.routerName,
    serviceName: ctx.serviceName,
    serviceUrl: ctx.serverUrl,
    serviceAddr: serviceAddr(ctx.serverUrl),
    entryPointName: ctx.entryPoint,
    ...(ctx.code !== null ? { gatehouseCode: ctx.code } : {}),
    requestHeaders: ctx.req.headers,
    ...(x.responseHeaders !== undefined ? { responseHeaders: x.responseHeaders } : {}),
  };
}

/**
 * gRPC status of a finished exchange, read from what was sent to the client:
 * the HTTP/2 trailers (or the headers of a trailers-only answer). Null when
 * the request was not gRPC or no status was sent.
 */
export function grpcStatusOf(ctx: RequestContext): number | null {
  if (ctx.req.httpVersionMajor !== 2) return null;
  const ct = headerValue(ctx.req.headers['content-type']);
  if (ct === undefined || !ct.startsWith('application/grpc')) return null;
  const stream = (ctx.res as unknown as Http2ServerResponse | null)?.stream;
  const raw = stream?.sentTrailers?.['grpc-status'] ?? stream?.sentHeaders?.['grpc-status'];
  const v = headerValue(raw as string | string[] | undefined);
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** Headers sent to the client, once written (only computed while a tap is open). */
export function responseHeadersOf(ctx: RequestContext): Record<string, string | string[] | number | undefined> | undefined {
  const res = ctx.res;
  if (res === null) return ctx.sentHeaders ?? undefined;
  if (ctx.req.httpVersionMajor === 2) {
    const sent = (res as unknown as Http2ServerResponse).stream?.sentHeaders;
    if (sent === undefined) return undefined;
    const out: Record<string, string | string[] | number | undefined> = {};
    for (const k of Object.keys(sent)) if (k.charCodeAt(0) !== 58) out[k] = sent[k] as string | string[];
    return out;
  }
  // node keeps the serialized head of a response written with writeHead(status, headers).
  const head = (res as unknown as { _header?: string | null })._header;
  if (typeof head !== 'string') return res.getHeaders() as Record<string, string | string[] | number | undefined>;
  const out: Record<string, string | string[] | number | undefined> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).toLowerCase();
    const v = line.slice(i + 1).trim();
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return out;
}
