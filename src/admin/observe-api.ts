/**
 * Gatehouse's live traffic endpoints, mounted by `api@internal` under
 * `/api/gatehouse/` (so they sit behind whatever protects the API):
 *
 *   GET /api/gatehouse/stat?kind=routers&window=1m&from=<caller>&to=<name>   StatRow[]
 *   GET /api/gatehouse/top?window=1m&limit=50                                TopRow[]
 *   GET /api/gatehouse/edges?window=1m                                       EdgeRow[]
 *   GET /api/gatehouse/timeline?kind=services&name=<name>&window=1h          TimelinePoint[] (window up to 24h)
 *   GET /api/gatehouse/summary?range=5m&limit=5                              Summary (the dashboard's first page)
 *   GET /api/gatehouse/alerts                                                alert states (part 2 registers the source)
 *   GET /api/gatehouse/certificates                                          certificates in use (notAfter), [] without TLS
 *   GET /api/gatehouse/tap?router=&service=&caller=&path=&method=&authority=&status=5xx&slowerThan=200ms&maxRps=100&headers=1
 *       Server-Sent Events: `event: req|rsp|end`, `data: <TapEvent JSON>`.
 *
 * The numbers come from an ObserveBackend: the local store with one process,
 * the primary's aggregate (over IPC) in a worker.
 */
import { sendJson } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { RequestContext } from '../http/exchange.js';
import {
  MAX_TIMELINE_MS,
  STAT_KINDS,
  type EdgeRow,
  type StatFilter,
  type StatKind,
  type StatRow,
  type Summary,
  type TopRow,
} from '../observe/metrics.js';
import { HISTORY_KINDS } from '../observe/history.js';
import type { TimelinePoint } from '../observe/windows.js';
import { compileTapFilter, type TapEvent, type TapFilter } from '../observe/tap.js';
import { parseDuration } from '../util/duration.js';

export const OBSERVE_API_PREFIX = '/api/gatehouse/';

/** Maximum window a view accepts (the longest sliding window). */
export const MAX_WINDOW_MS = 3_600_000;
export const DEFAULT_TAP_MAX_RPS = 100;
/** Highest `maxRps` a tap may ask for. */
export const MAX_TAP_RPS = 10_000;
/** SSE keep-alive comment interval. */
const HEARTBEAT_MS = 15_000;

/** An alert's state as the alert engine reports it (part 2 fills these in). */
export type AlertState = Record<string, unknown>;
/** A certificate in use: subject/SANs and expiry (epoch ms). */
export interface CertificateInfo {
  name: string;
  sans: string[];
  notAfter: number;
}

/** Where the views get their numbers. */
export interface ObserveBackend {
  stat(kind: StatKind, windowMs: number, filter: StatFilter): Promise<StatRow[]>;
  top(windowMs: number, limit: number): Promise<TopRow[]>;
  edges(windowMs: number): Promise<EdgeRow[]>;
  timeline(kind: StatKind, name: string, windowMs: number): Promise<TimelinePoint[]>;
  summary(rangeMs: number, limit: number): Promise<Summary>;
  alerts(): Promise<AlertState[]>;
  certificates(): Promise<CertificateInfo[]>;
  /** Open a tap over every serving process; `filter` is already valid. Returns its close function. */
  tap(filter: TapFilter, maxRps: number, headers: boolean, onEvent: (e: TapEvent) => void): () => void;
}

class BadRequest extends Error {}

function windowParam(q: URLSearchParams, def = 60_000, max = MAX_WINDOW_MS, param = 'window'): number {
  const v = q.get(param) ?? (param === 'window' ? q.get('t') : null);
  const longest = max >= 86_400_000 ? '24h' : '1h';
  if (v === null || v === '') return def;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch {
    throw new BadRequest(`${param}: expected a duration like 5m, 1h, 6h or ${longest}, got "${v}"`);
  }
  if (!(ms >= 1000) || ms > max) throw new BadRequest(`${param}: must be between 1s and ${longest}, got "${v}"`);
  return ms;
}

function kindParam(q: URLSearchParams, def: StatKind | null): StatKind {
  const k = q.get('kind') ?? def;
  if (k === null || !(STAT_KINDS as readonly string[]).includes(k))
    throw new BadRequest(`kind: expected one of ${STAT_KINDS.join(', ')}, got "${k ?? ''}"`);
  return k as StatKind;
}

function str(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : v.length > 512 ? v.slice(0, 512) : v;
}

/** Tap query → filter, rate, headers flag (throws BadRequest). */
export function tapParams(q: URLSearchParams): { filter: TapFilter; maxRps: number; headers: boolean } {
  const filter: TapFilter = {};
  const set = <K extends keyof TapFilter>(k: K, v: TapFilter[K] | undefined): void => {
    if (v !== undefined) filter[k] = v;
  };
  set('router', str(q, 'router'));
  set('service', str(q, 'service'));
  set('caller', str(q, 'caller'));
  set('pathPrefix', str(q, 'path'));
  set('method', str(q, 'method'));
  set('authority', str(q, 'authority'));
  set('status', str(q, 'status'));
  const slower = str(q, 'slowerThan');
  if (slower !== undefined) {
    try {
      filter.slowerThanMs = parseDuration(/^\d+(\.\d+)?$/.test(slower) ? `${slower}ms` : slower);
    } catch {
      throw new BadRequest(`slowerThan: expected a duration like 200ms, got "${slower}"`);
    }
  }
  try {
    compileTapFilter(filter);
  } catch (err) {
    throw new BadRequest(err instanceof Error ? err.message : String(err));
  }
  const r = str(q, 'maxRps');
  const maxRps = r === undefined ? DEFAULT_TAP_MAX_RPS : Number(r);
  if (!(maxRps > 0) || maxRps > MAX_TAP_RPS) throw new BadRequest(`maxRps: expected a number in (0, ${MAX_TAP_RPS}], got "${r}"`);
  const h = q.get('headers');
  return { filter, maxRps, headers: h === '1' || h === 'true' };
}

function serveTap(ctx: RequestContext, backend: ObserveBackend, q: URLSearchParams): void {
  const { filter, maxRps, headers } = tapParams(q);
  const rw = ctx.rw;
  rw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  // Slow reader: drop events rather than buffer them without bound.
  let blocked = false;
  let dropped = 0;
  const write = (s: string): void => {
    if (blocked) {
      dropped++;
      return;
    }
    if (!rw.write(Buffer.from(s))) {
      blocked = true;
      rw.onDrain(() => {
        blocked = false;
        if (dropped > 0) {
          const n = dropped;
          dropped = 0;
          write(`event: dropped\ndata: {"dropped":${n}}\n\n`);
        }
      });
    }
  };
  write(`: tap open ${JSON.stringify({ filter, maxRps, headers })}\n\n`);
  const close = backend.tap(filter, maxRps, headers, (e) => write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  let done = false;
  const stop = (): void => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    close();
  };
  ctx.onceDone(stop);
  ctx.res?.once('error', stop);
}

/** The handler of `/api/gatehouse/*` (GET only; api@internal checks the method). */
export function createObserveApiHandler(backend: ObserveBackend): Handler {
  return (ctx) => {
    const q = new URLSearchParams(ctx.query);
    const what = ctx.path.slice(OBSERVE_API_PREFIX.length).replace(/\/+$/, '');
    const reply = (p: Promise<unknown>): void => {
      p.then(
        (v) => sendJson(ctx, 200, v, { 'cache-control': 'no-store' }),
        (err: unknown) => sendJson(ctx, 503, { message: `metrics unavailable: ${err instanceof Error ? err.message : String(err)}` }),
      );
    };
    try {
      switch (what) {
        case 'stat': {
          const kind = kindParam(q, 'routers');
          const filter: StatFilter = {};
          const from = str(q, 'from');
          const to = str(q, 'to');
          if (from !== undefined) filter.from = from;
          if (to !== undefined) filter.to = to;
          reply(backend.stat(kind, windowParam(q), filter));
          return;
        }
        case 'top': {
          const limit = Math.max(1, Math.min(500, Number(q.get('limit') ?? '50') || 50));
          reply(backend.top(windowParam(q), limit));
          return;
        }
        case 'edges':
          reply(backend.edges(windowParam(q)));
          return;
        case 'timeline': {
          const kind = kindParam(q, null);
          const name = str(q, 'name');
          if (name === undefined) throw new BadRequest('name: required');
          const ms = windowParam(q, MAX_WINDOW_MS, MAX_TIMELINE_MS);
          if (ms > MAX_WINDOW_MS && !(HISTORY_KINDS as readonly string[]).includes(kind))
            throw new BadRequest(`window: beyond 1h, history is kept for routers, services and entrypoints only, not ${kind}`);
          reply(backend.timeline(kind, name, ms));
          return;
        }
        case 'summary': {
          const l = q.get('limit');
          const limit = l === null || l === '' ? 5 : Number(l);
          if (!Number.isInteger(limit) || limit < 1 || limit > 50)
            throw new BadRequest(`limit: expected an integer from 1 to 50, got "${l}"`);
          reply(backend.summary(windowParam(q, 300_000, MAX_TIMELINE_MS, 'range'), limit));
          return;
        }
        case 'alerts':
          reply(backend.alerts());
          return;
        case 'certificates':
          reply(backend.certificates());
          return;
        case 'tap':
          serveTap(ctx, backend, q);
          return;
        default:
          sendJson(ctx, 404, { message: `no such API endpoint: ${ctx.path}` });
      }
    } catch (err) {
      if (err instanceof BadRequest) sendJson(ctx, 400, { message: err.message });
      else throw err;
    }
  };
}
