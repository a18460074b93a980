/**
 * Traefik's access-log line formats: the Common Log Format variant
 *   <ClientHost> - <ClientUsername> [<StartUTC>] "<Method> <Path> <Protocol>" <DownstreamStatus>
 *   <DownstreamContentSize> "<Referer>" "<User-Agent>" <RequestCount> "<RouterName>" "<ServiceURL>" <Duration>ms
 * and the JSON format with Traefik's field names (Duration, OriginDuration and
 * Overhead in nanoseconds, StartUTC/StartLocal as RFC 3339 times).
 */

export type FieldMode = 'keep' | 'drop' | 'redact';

/** One finished exchange, as the access log needs it (plain data; see from-context.ts). */
export interface AccessLogEntry {
  /** Start, epoch ms. */
  start: number;
  /** Total duration, ms. */
  durationMs: number;
  /** Time spent waiting for the backend, ms (0 when none). */
  originDurationMs: number;
  /** `ip:port` of the client. */
  clientAddr: string;
  clientHost: string;
  clientPort: string;
  /** Authenticated user (basicAuth, forwardAuth), '' when none. */
  clientUsername: string;
  requestMethod: string;
  /** Path and query as received (before rewrites). */
  requestPath: string;
  /** `HTTP/1.1`, `HTTP/2.0`. */
  requestProtocol: string;
  requestScheme: string;
  /** Host without port. */
  requestHost: string;
  /** Port from the Host header, '-' when absent. */
  requestPort: string;
  /** The Host header as received. */
  requestAddr: string;
  requestContentSize: number;
  downstreamStatus: number;
  downstreamContentSize: number;
  originStatus: number;
  originContentSize: number;
  retryAttempts: number;
  routerName: string;
  serviceName: string;
  serviceUrl: string;
  /** host:port of the backend. */
  serviceAddr: string;
  entryPointName: string;
  /** Request headers as received (lower-case names); only kept ones are logged. */
  requestHeaders?: Record<string, string | string[] | number | undefined>;
  /** Response headers sent to the client; logged as `downstream_<Name>` when kept. */
  responseHeaders?: Record<string, string | string[] | number | undefined>;
  tlsVersion?: string;
  tlsCipher?: string;
  /** Why the gateway answered itself (docs/errors.md); absent when the backend answered. */
  gatehouseCode?: string;
}

export interface AccessLogFields {
  /** Default mode of the named fields: keep (Traefik's default). */
  defaultMode?: FieldMode;
  names?: Record<string, FieldMode>;
  headers?: {
    /** Default mode of headers: drop (Traefik's default). */
    defaultMode?: FieldMode;
    /** Header name (any case) → mode. */
    names?: Record<string, FieldMode>;
  };
}

/** Headers never written, whatever the configuration says. */
export const NEVER_LOGGED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `02/Jan/2006:15:04:05 +0000` (Traefik prints StartUTC). */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** RFC 3339 local time with offset, millisecond precision. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const tz = off === 0 ? 'Z' : `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${tz}`;
}

function q(v: string): string {
  // Keep one entry on one line and the quotes balanced.
  return v === '' ? '"-"' : `"${v.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ')}"`;
}

function dash(v: string): string {
  return v === '' ? '-' : v.replace(/[\s"]/g, '_');
}

function header(h: AccessLogEntry['requestHeaders'], name: string): string {
  const v = h?.[name];
  return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
}

/** One CLF line (with its newline). */
export function formatCommon(e: AccessLogEntry, requestCount: number): string {
  return (
    `${dash(e.clientHost)} - ${dash(e.clientUsername)} [${clfTime(e.start)}] "${e.requestMethod} ${dash(e.requestPath)} ${e.requestProtocol}" ` +
    `${e.downstreamStatus === 0 ? '-' : e.downstreamStatus} ${e.downstreamContentSize} ${q(header(e.requestHeaders, 'referer'))} ` +
    `${q(header(e.requestHeaders, 'user-agent'))} ${requestCount} ${q(e.routerName)} ${q(e.serviceUrl)} ${Math.floor(e.durationMs)}ms\n`
  );
}

/** Go's canonical header form: `user-agent` → `User-Agent`. */
export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

const NS = 1e6;

/** The JSON object Traefik writes (before field modes are applied). */
export function jsonFields(e: AccessLogEntry, requestCount: number, now: number): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ClientAddr: e.clientAddr,
    ClientHost: e.clientHost,
    ClientPort: e.clientPort,
    ClientUsername: e.clientUsername === '' ? '-' : e.clientUsername,
    DownstreamContentSize: e.downstreamContentSize,
    DownstreamStatus: e.downstreamStatus,
    Duration: Math.round(e.durationMs * NS),
    ...(e.gatehouseCode !== undefined ? { GatehouseCode: e.gatehouseCode } : {}),
    OriginContentSize: e.originContentSize,
    OriginDuration: Math.round(e.originDurationMs * NS),
    OriginStatus: e.originStatus,
    Overhead: Math.max(0, Math.round((e.durationMs - e.originDurationMs) * NS)),
    RequestAddr: e.requestAddr,
    RequestContentSize: e.requestContentSize,
    RequestCount: requestCount,
    RequestHost: e.requestHost,
    RequestMethod: e.requestMethod,
    RequestPath: e.requestPath,
    RequestPort: e.requestPort,
    RequestProtocol: e.requestProtocol,
    RequestScheme: e.requestScheme,
    RetryAttempts: e.retryAttempts,
    RouterName: e.routerName,
    ServiceAddr: e.serviceAddr,
    ServiceName: e.serviceName,
    ServiceURL: e.serviceUrl,
    StartLocal: localTime(e.start),
    StartUTC: new Date(e.start).toISOString(),
    entryPointName: e.entryPointName,
  };
  if (e.tlsVersion !== undefined) o.TLSVersion = e.tlsVersion;
  if (e.tlsCipher !== undefined) o.TLSCipher = e.tlsCipher;
  o.level = 'info';
  o.msg = '';
  o.time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return o;
}

/** Compiled field modes. */
export class FieldRules {
  private readonly names: Record<string, FieldMode>;
  private readonly headerNames: Record<string, FieldMode>;
  private readonly defaultMode: FieldMode;
  private readonly headerDefault: FieldMode;

  constructor(f: AccessLogFields = {}) {
    this.defaultMode = f.defaultMode ?? 'keep';
    this.names = Object.assign(Object.create(null) as Record<string, FieldMode>, f.names ?? {});
    this.headerDefault = f.headers?.defaultMode ?? 'drop';
    this.headerNames = Object.create(null) as Record<string, FieldMode>;
    for (const [k, v] of Object.entries(f.headers?.names ?? {})) this.headerNames[k.toLowerCase()] = v;
  }

  /** True when some header may be logged (so the formatter looks at headers at all). */
  get anyHeaders(): boolean {
    return this.headerDefault !== 'drop' || Object.values(this.headerNames).some((m) => m !== 'drop');
  }

  apply(o: Record<string, unknown>): void {
    for (const k of Object.keys(o)) {
      if (k === 'level' || k === 'msg' || k === 'time') continue;
      const m = this.names[k] ?? this.defaultMode;
      if (m === 'drop') delete o[k];
      else if (m === 'redact') o[k] = 'REDACTED';
    }
  }

  addHeaders(o: Record<string, unknown>, prefix: string, h: AccessLogEntry['requestHeaders']): void {
    if (h === undefined) return;
    for (const name of Object.keys(h)) {
      const lower = name.toLowerCase();
      if (NEVER_LOGGED_HEADERS.has(lower)) continue;
      const m = this.headerNames[lower] ?? this.headerDefault;
      if (m === 'drop') continue;
      const v = h[name];
      if (v === undefined) continue;
      o[prefix + canonicalHeader(lower)] = m === 'redact' ? 'REDACTED' : Array.isArray(v) ? v.join(', ') : String(v);
    }
  }
}
