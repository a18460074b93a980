/**
 * One TCP connection proxied to one backend: connect (bounded by the dial
 * timeout), send the PROXY protocol header when the service asks for one,
 * replay the bytes already read from the client, then copy both ways with
 * back-pressure (a side that cannot keep up pauses the other). A FIN from one
 * side is passed on as a FIN (half-close) after what was read is written; the
 * connection ends when both sides have ended, when either side fails, or
 * after the idle timeout without traffic either way.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeProxyHeader } from './proxy-protocol.js';
import type { TcpConn } from './types.js';

export interface TcpBackend {
  readonly host: string;
  readonly port: number;
  /** As configured (for logs). */
  readonly address: string;
}

export interface ProxyOptions {
  readonly proxyProtocol: 1 | 2 | null;
  /** ms without traffic either way before both sides are closed; 0: none. */
  readonly idleTimeout: number;
  readonly dialTimeout: number;
  /** ms after the first FIN before both sides are closed (Traefik's terminationDelay); null: wait for the other side. */
  readonly terminationDelay: number | null;
  readonly onDialError?: (err: Error) => void;
}

/** Copy `from` into `to` with back-pressure; `onEnd` when `from` ended and everything was handed to `to`. */
function pump(from: Duplex, to: Duplex, onEnd: () => void): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.once('end', onEnd);
  from.resume();
}

export function proxyTcp(conn: TcpConn, backend: TcpBackend, opts: ProxyOptions): void {
  const client = conn.socket;
  // Nothing is read from the client until the backend is there (it stays buffered, bounded by the socket's window).
  client.pause();
  let done = false;
  let connected = false;
  /** Directions that ended normally (FIN passed on); at 2 each socket closes itself once flushed. */
  let ends = 0;
  let linger: NodeJS.Timeout | null = null;
  const up = connect({ host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true });
  const kill = (): void => {
    if (done) return;
    done = true;
    clearTimeout(dialTimer);
    if (linger !== null) clearTimeout(linger);
    client.destroy();
    up.destroy();
  };
  const closed = (): void => {
    if (ends < 2) kill();
  };
  const dialTimer = setTimeout(() => {
    opts.onDialError?.(new Error(`connect to ${backend.address} timed out after ${opts.dialTimeout} ms`));
    kill();
  }, opts.dialTimeout);
  client.on('error', kill);
  client.once('close', closed);
  up.on('error', (err) => {
    if (!connected) opts.onDialError?.(err);
    kill();
  });
  up.once('close', closed);
  up.once('connect', () => {
    connected = true;
    clearTimeout(dialTimer);
    if (done) return;
    if (opts.proxyProtocol !== null)
      up.write(
        encodeProxyHeader(opts.proxyProtocol, { ip: conn.clientIp, port: conn.clientPort }, { ip: conn.localIp, port: conn.localPort }),
      );
    if (conn.replay !== null && conn.replay.length > 0) up.write(conn.replay);
    const ended = (): void => {
      ends++;
      if (ends === 1 && opts.terminationDelay !== null) {
        linger = setTimeout(kill, opts.terminationDelay);
        linger.unref();
      }
    };
    pump(client, up, () => {
      up.end();
      ended();
    });
    pump(up, client, () => {
      client.end();
      ended();
    });
    if (opts.idleTimeout > 0) {
      // Writes to the client count as activity on it: one timer covers both directions.
      const s = client as Duplex & { setTimeout?: (ms: number, cb: () => void) => unknown };
      if (typeof s.setTimeout === 'function') s.setTimeout(opts.idleTimeout, kill);
      else up.setTimeout(opts.idleTimeout, kill);
    }
  });
}
