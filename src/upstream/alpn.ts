/**
 * `https://` servers: HTTP/2 when the backend offers `h2` by ALPN, else
 * HTTP/1.1 (Go's Transport, which Traefik uses, does the same unless
 * `disableHTTP2`). The first connection offers `h2, http/1.1`; the protocol the
 * backend picks decides for the pool's lifetime (a reload makes new pools):
 * `h2` → node:http2 (h2c.ts over TLS, keeping gRPC trailers; the probe's socket
 * carries the first session), `http/1.1` → undici's pool. Upgrades (WebSocket)
 * always go over HTTP/1.1. Dispatches that arrive while the probe runs wait
 * for it; a probe that fails fails them and the next dispatch probes again.
 */
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { H2cDispatcher } from './h2c.js';
import type { UpstreamDispatcher } from './proxy.js';

interface Waiting {
  readonly opts: Dispatcher.DispatchOptions;
  readonly handler: Dispatcher.DispatchHandler;
}

class ProbeController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

class ConnectTimeoutError extends Error {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
}

export class AlpnDispatcher implements UpstreamDispatcher {
  private chosen: UpstreamDispatcher | null = null;
  private h1: UpstreamDispatcher | null = null;
  private waiting: Waiting[] | null = null;
  private probe: TLSSocket | null = null;
  private closed = false;

  /**
   * `tls`: the transport's TLS options (CA, client certificate, server name,
   * verification); `http1()`: the HTTP/1.1 pool (made once, when needed).
   */
  constructor(
    private readonly url: URL,
    private readonly tls: ConnectionOptions,
    private readonly connectTimeout: number,
    private readonly http1: () => UpstreamDispatcher,
  ) {}

  /** The protocol the backend chose ('' before the first connection). */
  get protocol(): string {
    return this.chosen === null ? '' : this.chosen === this.h1 ? 'http/1.1' : 'h2';
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (opts.upgrade !== undefined && opts.upgrade !== null) return this.pool1().dispatch(opts, handler);
    if (this.chosen !== null) return this.chosen.dispatch(opts, handler);
    if (this.closed) return this.pool1().dispatch(opts, handler);
    (this.waiting ??= []).push({ opts, handler });
    if (this.probe === null) this.startProbe();
    return true;
  }

  private pool1(): UpstreamDispatcher {
    this.h1 ??= this.http1();
    return this.h1;
  }

  private startProbe(): void {
    const port = this.url.port !== '' ? Number(this.url.port) : 443;
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const socket = tlsConnect({ ...this.tls, host, port, ALPNProtocols: ['h2', 'http/1.1'] });
    this.probe = socket;
    const timer = setTimeout(
      () => socket.destroy(new ConnectTimeoutError(`connect timeout to ${this.url.host} after ${this.connectTimeout} ms`)),
      this.connectTimeout,
    );
    timer.unref();
    const onError = (err: Error): void => {
      clearTimeout(timer);
      this.probe = null;
      this.failWaiting(err);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      this.probe = null;
      if (socket.alpnProtocol === 'h2') {
        socket.on('error', () => undefined); // the session reports its own errors
        this.chosen = new H2cDispatcher(this.url.host, { connectTimeout: this.connectTimeout, tls: this.tls, firstSocket: socket });
      } else {
        socket.destroy();
        this.chosen = this.pool1();
      }
      const w = this.waiting ?? [];
      this.waiting = null;
      for (const { opts, handler } of w) this.chosen.dispatch(opts, handler);
    });
  }

  private failWaiting(err: Error): void {
    const w = this.waiting ?? [];
    this.waiting = null;
    for (const { handler } of w) {
      const c = new ProbeController();
      handler.onRequestStart?.(c, {});
      if (!c.aborted) handler.onResponseError?.(c, err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probe !== null) {
      // Requests waiting for the probe are still served: wait for it to decide.
      await new Promise<void>((r) => {
        const p = this.probe;
        if (p === null) return r();
        p.once('close', () => r());
        p.once('secureConnect', () => r());
      });
    }
    await Promise.all([this.chosen?.close(), this.h1 !== this.chosen ? this.h1?.close() : undefined]);
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.probe?.destroy();
    this.probe = null;
    this.failWaiting(new Error('dispatcher destroyed'));
    await Promise.all([this.chosen?.destroy(), this.h1 !== this.chosen ? this.h1?.destroy() : undefined]);
  }
}
