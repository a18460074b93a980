/**
 * Active health checks for a load-balancer's servers (Traefik's healthCheck,
 * with Front Door's sample window): every `interval` each server is probed
 * with `method path` (optionally on another scheme/port/hostname, with
 * headers) on a NEW connection, so the probe's latency includes the connect
 * (Front Door measures it so; the latency band of origin groups reads it). A
 * probe passes when it answers an expected status (`status`: one, a list of
 * statuses and ranges, or by default 2xx/3xx) within `timeout`. A server is
 * healthy when at least `successfulSamplesRequired` of its last `sampleSize`
 * probes passed (defaults 1 and 1: each probe decides, Traefik's rule).
 * Servers that fail are taken out of rotation and put back when they pass
 * again; each change is logged with the reason (the last probe's status or
 * error, and the window's count).
 */
import { Client, type Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import type { Logger } from '../log.js';
import { parseStatusRanges } from './composite.js';

/** One probe as the API shows it. */
export interface ProbeRecord {
  /** When the probe started (ISO 8601). */
  readonly at: string;
  /** Whether it passed (an expected status within the timeout). */
  readonly ok: boolean;
  /** The status the server answered (absent when it did not answer). */
  readonly status?: number;
  /** Why it got no answer (connection refused, reset, timeout). */
  readonly error?: string;
  /** From the start of the connect to the response headers (to the failure when none came), ms. */
  readonly latencyMs: number;
}

export interface HealthTarget {
  readonly url: string;
  healthy: boolean;
  /** Host header for probes: the server's own `hostHeader` (overridden by `healthCheck.hostname`). */
  readonly probeHost?: string | undefined;
  /** The last probes, oldest first (bounded; written by the HealthChecker). */
  probes?: ProbeRecord[];
  /** Mean latency of the passed probes among the last `sampleSize`, ms; null: none measured yet. */
  latencyMs?: number | null;
  /** Why the server is down (null or absent while it is up). */
  downReason?: string | null;
}

export interface HealthCheckerOptions {
  service: string;
  config: HealthCheckConfig;
  targets: readonly HealthTarget[];
  log: Logger;
  onChange?: (target: HealthTarget, healthy: boolean) => void;
  /** After every probe (its latency may have changed), before `onChange`. */
  onProbe?: (target: HealthTarget) => void;
}

/** A test on the probe's status; `describe` says what is expected ("200", "200-299,404", "2xx-3xx"). */
export interface StatusMatcher {
  test(status: number): boolean;
  readonly describe: string;
}

/**
 * `healthCheck.status`: Traefik's integer, or statuses and ranges as a string
 * ("200-299,404") or a list of such strings. Throws an Error saying which
 * entry is wrong.
 */
export function statusMatcher(status: HealthCheckConfig['status']): StatusMatcher {
  if (status === undefined) return { test: (s) => s >= 200 && s < 400, describe: '2xx or 3xx' };
  if (typeof status === 'number') return { test: (s) => s === status, describe: String(status) };
  const list = typeof status === 'string' ? [status] : status;
  const ranges = parseStatusRanges(list);
  if (ranges.length === 0) throw new Error('no status given: expected e.g. 200, "200-299,404" or ["200-299", "404"]');
  return {
    test: (s) => ranges.some(([lo, hi]) => s >= lo && s <= hi),
    describe: ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(','),
  };
}

/** The sample window: `sampleSize` (default: successfulSamplesRequired, else 1) and `successfulSamplesRequired` (default: sampleSize). */
export function sampleWindow(c: HealthCheckConfig): { size: number; required: number } {
  const size = c.sampleSize ?? c.successfulSamplesRequired ?? 1;
  return { size, required: c.successfulSamplesRequired ?? size };
}

/** Records kept per server for the API: the window, and at least the last 3. */
const keepOf = (size: number): number => Math.max(size, 3);
/** Error text in a probe record and a log line: bounded, one line. */
const MAX_ERROR = 200;

function errorText(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT')
    return `timeout: no answer within ${timeoutMs}ms`;
  if (e.code === 'UND_ERR_SOCKET') return `connection closed before an answer (${e.message ?? 'socket error'})`;
  const msg = `${e.code !== undefined ? `${e.code}: ` : ''}${e.message ?? String(err)}`.replace(/\s+/g, ' ');
  return msg.length > MAX_ERROR ? `${msg.slice(0, MAX_ERROR - 3)}...` : msg;
}

export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly interval: number;
  private readonly unhealthyInterval: number;
  private readonly timeout: number;
  private readonly expect: StatusMatcher;
  private readonly size: number;
  private readonly required: number;
  /** Probe connections open now (destroyed on close). */
  private readonly clients = new Set<Client>();

  constructor(private readonly opts: HealthCheckerOptions) {
    this.interval = parseDuration(opts.config.interval ?? '30s');
    this.unhealthyInterval = parseDuration(opts.config.unhealthyInterval ?? opts.config.interval ?? '30s');
    this.timeout = parseDuration(opts.config.timeout ?? '5s');
    this.expect = statusMatcher(opts.config.status);
    const w = sampleWindow(opts.config);
    this.size = w.size;
    this.required = w.required;
  }

  start(): void {
    void this.round();
  }

  private schedule(): void {
    if (this.closed) return;
    const anyDown = this.opts.targets.some((t) => !t.healthy);
    this.timer = setTimeout(() => void this.round(), anyDown ? Math.min(this.interval, this.unhealthyInterval) : this.interval);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    await Promise.all(this.opts.targets.map((t) => this.probe(t)));
    this.schedule();
  }

  /** One request on a new connection; never throws. */
  private async send(t: HealthTarget): Promise<ProbeRecord> {
    const c = this.opts.config;
    const base = new URL(t.url.replace(/^h2c:/, 'http:'));
    if (c.scheme !== undefined) base.protocol = `${c.scheme}:`;
    if (c.port !== undefined) base.port = String(c.port);
    const target = new URL(c.path ?? '/', base.origin);
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    const host = c.hostname ?? t.probeHost;
    if (host !== undefined) headers.host = host;
    const at = new Date().toISOString();
    const start = performance.now();
    const client = new Client(target.origin, {
      connect: { timeout: this.timeout },
      headersTimeout: this.timeout,
      bodyTimeout: this.timeout,
      pipelining: 0,
    });
    this.clients.add(client);
    try {
      const res = await client.request({
        path: `${target.pathname}${target.search}`,
        method: (c.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        signal: AbortSignal.timeout(this.timeout),
      });
      const latencyMs = performance.now() - start;
      await res.body.dump();
      return { at, ok: this.expect.test(res.statusCode), status: res.statusCode, latencyMs };
    } catch (err) {
      return { at, ok: false, error: errorText(err, this.timeout), latencyMs: performance.now() - start };
    } finally {
      this.clients.delete(client);
      client.destroy().catch(() => {});
    }
  }

  /** Probe one server now; resolves to its new health. */
  async probe(t: HealthTarget): Promise<boolean> {
    const rec = await this.send(t);
    if (this.closed) return rec.ok;
    const probes = t.probes ?? [];
    probes.push(rec);
    if (probes.length > keepOf(this.size)) probes.splice(0, probes.length - keepOf(this.size));
    t.probes = probes;
    const window = probes.slice(-this.size);
    let passed = 0;
    let sum = 0;
    for (const p of window)
      if (p.ok) {
        passed++;
        sum += p.latencyMs;
      }
    t.latencyMs = passed > 0 ? sum / passed : null;
    // Samples not taken yet count as passed: a server starts healthy (Traefik) and needs enough failures to leave.
    const ok = passed + (this.size - window.length) >= this.required;
    this.opts.onProbe?.(t);
    if (ok !== t.healthy) {
      t.healthy = ok;
      t.downReason = ok ? null : this.reason(rec, passed, window.length);
      this.opts.log.warn(
        {
          service: this.opts.service,
          server: t.url,
          healthy: ok,
          ...(ok ? {} : { reason: t.downReason }),
          ...(rec.status !== undefined ? { status: rec.status } : {}),
          ...(rec.error !== undefined ? { error: rec.error } : {}),
          latencyMs: Math.round(rec.latencyMs * 10) / 10,
          passed,
          samples: window.length,
          required: this.required,
        },
        ok ? 'server is healthy again: back in rotation' : 'health check failed: server taken out of rotation',
      );
      this.opts.onChange?.(t, ok);
    } else if (!ok) t.downReason = this.reason(rec, passed, window.length);
    return ok;
  }

  /** "status 500 (expected 2xx or 3xx)", with the window's count when it has more than one sample. */
  private reason(last: ProbeRecord, passed: number, samples: number): string {
    const c = this.opts.config;
    const what = `probe ${c.method ?? 'GET'} ${c.path ?? '/'}: ${last.error ?? (last.ok ? `status ${last.status ?? 0}` : `status ${last.status ?? 0} (expected ${this.expect.describe})`)}`;
    return this.size === 1 ? what : `${passed} of the last ${samples} probes passed (${this.required} required); last ${what}`;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const c of this.clients) c.destroy().catch(() => {});
    this.clients.clear();
  }
}
