/**
 * Upstream connection pools, one per (origin, transport) and per configuration
 * snapshot. Retiring a snapshot closes its pools gracefully: in-flight
 * requests finish, idle connections close.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { H2cDispatcher } from './h2c.js';
import { RawPool } from './raw/pool.js';
import type { UpstreamDispatcher } from './proxy.js';
import type { ServersTransportConfig } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';

/** Traefik's default `maxIdleConnsPerHost`. */
export const DEFAULT_MAX_IDLE = 200;

export class PoolSet {
  private readonly pools = new Map<string, UpstreamDispatcher>();

  /** Dispatcher for a server URL (`http`, `https` or `h2c`). */
  get(serverUrl: string, transport: ServersTransportConfig | undefined, transportName = ''): UpstreamDispatcher {
    const u = new URL(serverUrl);
    const key = `${u.protocol}//${u.host}|${transportName}`;
    let d = this.pools.get(key);
    if (d === undefined) {
      d = create(u, transport);
      this.pools.set(key, d);
    }
    return d;
  }

  /**
   * Close every pool, letting in-flight requests finish: bounded by `graceMs`
   * (then destroyed) on shutdown; `null` waits as long as they last (a
   * reload never cuts an exchange: each is bounded by its own timeouts).
   */
  async close(graceMs: number | null = 30_000): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      all.map(async (d) => {
        const t = graceMs === null ? null : setTimeout(() => void d.destroy().catch(() => undefined), graceMs);
        t?.unref();
        try {
          await d.close();
        } catch {
          /* already destroyed */
        } finally {
          if (t !== null) clearTimeout(t);
        }
      }),
    );
  }
}

function create(u: URL, t: ServersTransportConfig | undefined): UpstreamDispatcher {
  const ft = t?.forwardingTimeouts;
  const connectTimeout = ft?.dialTimeout !== undefined ? parseDuration(ft.dialTimeout) : 30_000;
  const keepAliveTimeout = ft?.idleConnTimeout !== undefined ? parseDuration(ft.idleConnTimeout) : 90_000;
  // Traefik's maxIdleConnsPerHost (default 200) caps the idle connections kept per host, never the active
  // ones: a burst of slow requests opens as many connections as it needs (Go's Transport does the same).
  const maxIdle = t?.maxIdleConnsPerHost !== undefined && t.maxIdleConnsPerHost > 0 ? t.maxIdleConnsPerHost : DEFAULT_MAX_IDLE;
  if (u.protocol === 'h2c:') {
    // node:http2 client: keeps gRPC trailers (see h2c.ts)
    return new H2cDispatcher(u.host, { connectTimeout });
  }
  if (u.protocol === 'https:') {
    const ca = t?.rootCAs?.map((f) => (f.includes('-----BEGIN') ? f : readFileSync(f, 'utf8')));
    const cert = t?.certificates?.[0];
    return new Pool(u.origin, {
      // undici has no idle cap: its connections are not capped either (null), as in Go.
      connections: null,
      keepAliveTimeout,
      connectTimeout,
      // HTTP/1.1 over TLS: undici's HTTP/2 client loses response trailers (see h2c.ts).
      allowH2: false,
      connect: {
        rejectUnauthorized: t?.insecureSkipVerify !== true,
        servername: t?.serverName,
        ca,
        cert: cert !== undefined ? readFileSync(cert.certFile) : undefined,
        key: cert !== undefined ? readFileSync(cert.keyFile) : undefined,
      },
    });
  }
  // Plain HTTP/1.1: the gateway's own pool (docs/http1-server.md); it hands upgrades to undici.
  return new RawPool(u, { connections: Infinity, maxIdle, keepAliveTimeout, connectTimeout });
}
