/**
 * Active health checks for a load-balancer's servers (Traefik's healthCheck):
 * every `interval` each server is probed with `method path` (optionally on
 * another scheme/port/hostname, with headers); a server is healthy when it
 * answers the expected status (or 2xx/3xx) within `timeout`. Servers that fail
 * are taken out of rotation and put back when they pass again.
 */
import { request, type Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import type { Logger } from '../log.js';

export interface HealthTarget {
  readonly url: string;
  healthy: boolean;
}

export interface HealthCheckerOptions {
  service: string;
  config: HealthCheckConfig;
  targets: readonly HealthTarget[];
  log: Logger;
  onChange?: (target: HealthTarget, healthy: boolean) => void;
}

export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly interval: number;
  private readonly unhealthyInterval: number;
  private readonly timeout: number;

  constructor(private readonly opts: HealthCheckerOptions) {
    this.interval = parseDuration(opts.config.interval ?? '30s');
    this.unhealthyInterval = parseDuration(opts.config.unhealthyInterval ?? opts.config.interval ?? '30s');
    this.timeout = parseDuration(opts.config.timeout ?? '5s');
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

  /** Probe one server now; resolves to its new health. */
  async probe(t: HealthTarget): Promise<boolean> {
    const c = this.opts.config;
    const base = new URL(t.url.replace(/^h2c:/, 'http:'));
    if (c.scheme !== undefined) base.protocol = `${c.scheme}:`;
    if (c.port !== undefined) base.port = String(c.port);
    const path = c.path ?? '/';
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (c.hostname !== undefined) headers.host = c.hostname;
    let ok = false;
    try {
      const res = await request(new URL(path, base.origin).toString(), {
        method: (c.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        headersTimeout: this.timeout,
        bodyTimeout: this.timeout,
        signal: AbortSignal.timeout(this.timeout),
        maxRedirections: undefined,
      } as Parameters<typeof request>[1]);
      await res.body.dump();
      ok = c.status !== undefined ? res.statusCode === c.status : res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      ok = false;
    }
    if (this.closed) return ok;
    if (ok !== t.healthy) {
      t.healthy = ok;
      this.opts.log.warn(
        { service: this.opts.service, server: t.url, healthy: ok },
        ok ? 'server is healthy again: back in rotation' : 'health check failed: server taken out of rotation',
      );
      this.opts.onChange?.(t, ok);
    }
    return ok;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
