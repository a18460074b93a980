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

  /** Close every pool, letting in-flight requests finish (bounded by `graceMs`, then destroyed). */
  async close(graceMs = 30_000): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      all.map(async (d) => {
        const t = setTimeout(() => void d.destroy().catch(() => undefined), graceMs);
        t.unref();
        try {
          await d.close();
        } catch {
          /* already destroyed */
        } finally {
          clearTimeout(t);
        }
      }),
    );
  }
}

function create(u: URL, t: ServersTransportConfig | undefined): UpstreamDispatcher {
  const ft = t?.forwardingTimeouts;
  const connectTimeout = ft?.dialTimeout !== undefined ? parseDuration(ft.dialTimeout) : 30_000;
  const keepAliveTimeout = ft?.idleConnTimeout !== undefined ? parseDuration(ft.idleConnTimeout) : 90_000;
  const connections = t?.maxIdleConnsPerHost !== undefined && t.maxIdleConnsPerHost > 0 ? t.maxIdleConnsPerHost : 256;
  if (u.protocol === 'h2c:') {
    // node:http2 client: keeps gRPC trailers (see h2c.ts)
    return new H2cDispatcher(u.host, { connectTimeout });
  }
  if (u.protocol === 'https:') {
    const ca = t?.rootCAs?.map((f) => (f.includes('-----BEGIN') ? f : readFileSync(f, 'utf8')));
    const cert = t?.certificates?.[0];
    return new Pool(u.origin, {
      connections,
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
  return new RawPool(u, { connections, keepAliveTimeout, connectTimeout });
}
