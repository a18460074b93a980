/**
 * Upstream connection pools, one per (origin, transport) and per configuration
 * snapshot. Retiring a snapshot closes its pools gracefully: in-flight
 * requests finish, idle connections close.
 */
import { H2cDispatcher } from './h2c.js';
import { AlpnDispatcher } from './alpn.js';
import { FixedSniPool, transportTls } from './transport-tls.js';
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
    const tls = transportTls(t);
    const http1 = (): UpstreamDispatcher =>
      new FixedSniPool(u, t?.serverName, {
        // undici has no idle cap: its connections are not capped either (null), as in Go.
        connections: null,
        keepAliveTimeout,
        connectTimeout,
        // HTTP/1.1 here: HTTP/2 goes through node:http2 (alpn.ts), as undici's HTTP/2 client loses response trailers (see h2c.ts).
        allowH2: false,
        tls,
      });
    // Traefik (Go's Transport) speaks HTTP/2 to a TLS backend that offers h2 by ALPN, unless disableHTTP2.
    return t?.disableHTTP2 === true ? http1() : new AlpnDispatcher(u, tls, connectTimeout, http1);
  }
  // Plain HTTP/1.1: the gateway's own pool (docs/http1-server.md); it hands upgrades to undici.
  return new RawPool(u, { connections: Infinity, maxIdle, keepAliveTimeout, connectTimeout });
}
