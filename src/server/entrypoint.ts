/**
 * One entry point: a TCP listener that speaks HTTP/1.1 and cleartext HTTP/2
 * (prior knowledge, for gRPC) on the same port. It looks at the first bytes
 * of each connection and gives it to the gateway's own HTTP/1.1 server
 * (h1/connection.ts, the fast path) or to node's servers (node-adapter.ts);
 * both call back here to open an exchange, apply the forwarded-headers policy
 * and timeouts, and hand every request to the current router table.
 * Swapping the handler is atomic; in-flight requests finish on the handler
 * they started with.
 *
 * With TCP routers on the entry point (docs/tcp.md) a connection may go to a
 * TCP router instead: a TLS one by its ClientHello (SNI, ALPN), a plain one by
 * `HostSNI(\`*\`)`/`ClientIP`; without a match it is served as HTTP, as when
 * there are none. With `proxyProtocol` a PROXY header (v1, v2) is read first
 * and, from a trusted peer, gives the client address.
 */
import { GatehouseError } from '../errors.js';
import type { IncomingMessage } from 'node:http';
import { createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RequestContext, type ClientRequest } from '../http/exchange.js';
import { answer } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { normalizeHost, normalizeIp } from '../http/host.js';
import { normalizePath, sanitizePath } from '../http/request-path.js';
import { isValidHost, splitAbsoluteForm } from '../http1/target.js';
import { dropConnectionOptions, ForwardedHeaders, type ForwardedPolicy } from './forwarded.js';
import type { Logger } from '../log.js';
import { H1Connection, H1Request, type H1Server, type RequestBody } from './h1/connection.js';
import type { H1ResponseWriter } from './h1/writer.js';
import type { RequestHead } from '../http1/request-head.js';
import { NodeAdapter, type NodeExchangeHost, type Upgrade } from './node-adapter.js';
import type { TLSSocket } from 'node:tls';
import type { TlsAcceptor, TlsHandOff } from './tls-acceptor.js';
import type { ClientHello } from '../tls/client-hello.js';
import type { TcpConn, TcpEntryRuntime } from '../tcp/runtime.js';
import { decodeProxyHeader } from '../tcp/proxy-protocol.js';
import { canonicalServerName } from '../rules/index.js';
import { compileIpRanges, type IpRanges } from '../net/ip.js';

/** Inbound PROXY protocol (`entryPoints.<name>.proxyProtocol`, Traefik's). */
export interface ProxyProtocolSpec {
  /** Peers whose PROXY header is used (IPs, CIDR ranges). */
  trustedIPs: string[];
  /** Use the header from any peer. */
  insecure: boolean;
}

/** The addresses of a connection as the gateway sees them (the PROXY header applied). */
interface Peer {
  ip: string;
  port: number;
  localIp: string;
  localPort: number;
}

/** One entry point as configured (`entryPoints.<name>` of the static configuration). */
export interface EntryPointSpec {
  name: string;
  host: string | undefined;
  port: number;
  forwarded: ForwardedPolicy;
  /** ms; 0 disables. */
  readTimeout: number;
  idleTimeout: number;
  writeTimeout: number;
  /** In-flight requests may finish this long after a shutdown starts, ms. */
  graceTimeout: number;
  /**
   * HTTP/1.x server (entryPoints.<name>.http.server): 'gatehouse' (default) is
   * the gateway's own (src/server/h1/), 'node' is node:http for every request.
   * Upgrades always go to node:http (an h2c offer is dropped instead).
   */
  http1?: 'gatehouse' | 'node';
  /**
   * `entryPoints.<name>.http.sanitizePath` (Traefik v3, default true): resolve dot
   * segments and merge repeated slashes in the path before routing (docs/http1.md).
   */
  sanitizePath?: boolean;
  /** `entryPoints.<name>.http2.maxConcurrentStreams` (default 250; docs/tls.md "HTTP/2 limits"). */
  http2?: { maxConcurrentStreams: number };
  /** Keep accepting requests this long after a shutdown signal (`/ping` already answers 503). */
  acceptGraceTimeout?: number;
  /** Read a PROXY protocol header (v1, v2) first on every connection; absent: none is expected. */
  proxyProtocol?: ProxyProtocolSpec;
}

/**
 * What an entry point is built from: its spec (less the shutdown timeouts,
 * which the gateway applies across all entry points) and what the process
 * gives every entry point.
 */
export interface EntryPointOptions extends Omit<EntryPointSpec, 'graceTimeout' | 'acceptGraceTimeout'> {
  /** Max request header bytes (431 beyond). */
  maxHeaderSize: number;
  log: Logger;
  /** Called when an exchange is over (telemetry, access log). */
  onEnd: ((ctx: RequestContext) => void) | null;
  /** Called right before the handler runs (live tap, request body byte count); null when unused. */
  onStart: ((ctx: RequestContext) => void) | null;
  /** Terminates TLS for connections that open with a TLS handshake (docs/tls.md); null: plain HTTP only. */
  tls?: TlsAcceptor | null;
}

/** Was this connection's request received over TLS? (node:http2's request sockets proxy the session's.) */
function encrypted(socket: unknown): boolean {
  const s = socket as { encrypted?: boolean; stream?: { encrypted?: boolean } } | null;
  // HTTP/2 over TLS: node:http2 wraps the JS stream it was given (marked in NodeAdapter.http2Secure) in a
  // JSStreamSocket, whose `stream` is that JS stream.
  return s?.encrypted === true || s?.stream?.encrypted === true;
}

export class EntryPoint implements H1Server, NodeExchangeHost {
  private handler: Handler;
  private readonly node: NodeAdapter;
  private readonly net: NetServer;
  private readonly forwarded: ForwardedHeaders;
  private readonly forwardedTls: ForwardedHeaders;
  private inFlight = 0;
  private readonly sockets = new Set<Socket>();
  /** Accepted connections that have not sent a byte yet. */
  private readonly fresh = new Set<Socket>();
  closing = false;
  connections = 0;
  private readonly h1conns = new Set<H1Connection>();
  private sweep: NodeJS.Timeout | null = null;
  private readonly fastPath: boolean;
  private readonly sanitize: boolean;
  readonly maxHeaderSize: number;
  private readonly headersTimeout: number;
  /** TCP routers on this entry point (null: none, the HTTP path only). */
  private tcp: TcpEntryRuntime | null = null;
  private readonly proxyTrusted: IpRanges | null;

  constructor(
    private readonly opts: EntryPointOptions,
    handler: Handler,
  ) {
    this.handler = handler;
    this.fastPath = opts.http1 !== 'node';
    this.sanitize = opts.sanitizePath !== false;
    this.maxHeaderSize = opts.maxHeaderSize;
    this.headersTimeout = opts.readTimeout > 0 ? Math.min(opts.readTimeout, 60_000) : 60_000;
    this.forwarded = new ForwardedHeaders(opts.forwarded, 'http');
    this.forwardedTls = new ForwardedHeaders(opts.forwarded, 'https');
    const pp = opts.proxyProtocol;
    this.proxyTrusted = pp === undefined || pp.insecure ? null : compileIpRanges(pp.trustedIPs);
    this.node = new NodeAdapter(this, {
      maxHeaderSize: opts.maxHeaderSize,
      readTimeout: opts.readTimeout,
      headersTimeout: this.headersTimeout,
      idleTimeout: opts.idleTimeout,
      writeTimeout: opts.writeTimeout,
      ...(opts.http2 !== undefined ? { http2: opts.http2 } : {}),
      onHttp2Refused: (why, ip) => opts.log.warn({ entryPoint: opts.name, peer: ip, reason: why }, 'HTTP/2 connection ended by a limit'),
    });
    // Half-open like node:http's own server (a client may half-close after its request);
    // a 64 KiB write high-water mark keeps a 16 KiB answer from tripping back-pressure.
    this.net = createNet({ noDelay: true, allowHalfOpen: true, highWaterMark: 64 * 1024 }, (socket) => this.onConnection(socket));
  }

  /** Set when another process listens for this entry point and hands its connections over (adopt). */
  private external: { host: string; port: number } | null = null;

  get address(): { host: string; port: number } {
    if (this.external !== null) return this.external;
    const a = this.net.address();
    return typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: '', port: 0 };
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once('error', (err: NodeJS.ErrnoException) => reject(listenError(this.opts.name, this.opts.host, this.opts.port, err)));
      this.net.listen({ port: this.opts.port, host: this.opts.host, exclusive: false }, () => {
        this.net.removeAllListeners('error');
        this.started();
        resolve();
      });
    });
  }

  /**
   * Serve connections that another process accepted (the cluster primary owns
   * the listening socket, src/server/listeners.ts): no listener here; `address`
   * is where the primary listens. Connections arrive through adopt().
   */
  serveAdopted(address: { host: string; port: number }): void {
    this.external = address;
    this.started();
  }

  /** A connection accepted elsewhere; served even while closing (it was accepted before the listener closed). */
  adopt(socket: Socket): void {
    this.onConnection(socket);
  }

  private started(): void {
    this.node.started();
    if (this.fastPath) {
      this.sweep = setInterval(() => this.checkTimeouts(), 1000);
      this.sweep.unref();
    }
  }

  /** Replace the router table; in-flight requests keep theirs. */
  setHandler(h: Handler): void {
    this.handler = h;
  }

  /** Replace the TCP routers (null: none); open TCP connections keep going. */
  setTcp(rt: TcpEntryRuntime | null): void {
    this.tcp = rt !== null && rt.size > 0 ? rt : null;
  }

  get tcpRouting(): TcpEntryRuntime | null {
    return this.tcp;
  }

  /** The entry point's idle timeout, ms (TCP connections use it too). */
  get idleTimeout(): number {
    return this.opts.idleTimeout;
  }

  private onConnection(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    this.fresh.add(socket);
    socket.once('close', () => {
      this.connections--;
      this.sockets.delete(socket);
      this.fresh.delete(socket);
    });
    // A connection that never sends a byte is closed after the header timeout (slowloris);
    // from the first byte on, the HTTP/1.1 or HTTP/2 server keeps time.
    const silent = (): void => {
      socket.destroy();
    };
    // A reset before the first byte must not be an uncaught 'error' (the servers add their own handlers later).
    socket.on('error', silent);
    socket.setTimeout(this.headersTimeout, silent);
    if (this.opts.proxyProtocol !== undefined) this.readProxyHeader(socket, silent);
    else if (this.tcp === null) socket.once('data', (first: Buffer) => this.onFirst(socket, silent, first, null, null));
    else this.dispatch(socket, silent, null, null);
  }

  /** No more bytes are awaited before a protocol takes the connection: the protocol keeps time from here. */
  private taken(socket: Socket, silent: () => void): void {
    this.fresh.delete(socket);
    socket.setTimeout(0);
    socket.off('timeout', silent);
  }

  /**
   * With TCP routers (or after a PROXY header): Traefik's early dispatch (only
   * plain TCP routers: routed before the client sends), else the first bytes.
   */
  private dispatch(socket: Socket, silent: () => void, first: Buffer | null, peer: Peer | null): void {
    const tcp = this.tcp;
    if (tcp !== null && tcp.early) {
      const p = peer ?? peerOf(socket);
      const route = tcp.matchPlain(p.ip);
      if (route !== null) {
        this.taken(socket, silent);
        route.serve(tcpConn(socket, first, p));
        return;
      }
    }
    if (first !== null && first.length > 0) this.onFirst(socket, silent, first, tcp, peer);
    else socket.once('data', (b: Buffer) => this.onFirst(socket, silent, b, tcp, peer));
  }

  /** The first bytes decide: TLS, h2c, HTTP/1.1, or a TCP router. */
  private onFirst(socket: Socket, silent: () => void, first: Buffer, tcp: TcpEntryRuntime | null, peer: Peer | null): void {
    this.taken(socket, silent);
    const tls = this.opts.tls;
    // 0x16: a TLS handshake record (a ClientHello): HTTPS on the same port, as Traefik.
    if (first[0] === 0x16 && tls !== undefined && tls !== null) {
      const onSecure = peer === null ? (ts: TLSSocket) => this.onSecure(ts) : (ts: TLSSocket) => this.onSecure(withPeer(ts, peer));
      const route = tcp === null ? undefined : (hello: ClientHello) => tlsHandOff(tcp, hello, peer ?? peerOf(socket));
      tls.accept(socket, first, this.headersTimeout, onSecure, route);
      return;
    }
    if (tcp !== null) {
      const p = peer ?? peerOf(socket);
      const route = tcp.matchPlain(p.ip);
      if (route !== null) {
        route.serve(tcpConn(socket, first, p));
        return;
      }
    }
    if (peer !== null) withPeer(socket, peer);
    // "PRI * HTTP/2.0" is the HTTP/2 connection preface (h2c with prior knowledge).
    if (first.length >= 3 && first[0] === 0x50 && first[1] === 0x52 && first[2] === 0x49) {
      this.node.http2(socket, first);
    } else if (this.fastPath) {
      const conn = new H1Connection(this, socket, Date.now());
      this.h1conns.add(conn);
      conn.onData(first);
    } else this.node.http1(socket, first);
  }

  /**
   * Inbound PROXY protocol (Traefik's): the header is read first, within the
   * header timeout. From a trusted peer (or any, with `insecure`) its source
   * address becomes the client's; from another peer it is read and ignored
   * (go-proxyproto's IGNORE policy). No header: the connection is served as is.
   * A malformed header closes the connection.
   */
  private readProxyHeader(socket: Socket, silent: () => void): void {
    const peerIp = normalizeIp(socket.remoteAddress);
    const trusted = this.proxyTrusted === null || this.proxyTrusted.contains(peerIp);
    let buf: Buffer = Buffer.alloc(0);
    const more = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = decodeProxyHeader(buf);
      if (r.kind === 'need') return;
      socket.off('data', more);
      socket.pause();
      if (r.kind === 'error') {
        this.opts.log.debug({ entryPoint: this.opts.name, peer: peerIp, reason: r.message }, 'PROXY protocol header refused');
        socket.destroy();
        return;
      }
      let peer: Peer | null = null;
      let rest = buf;
      if (r.kind === 'done') {
        rest = buf.subarray(r.length);
        if (trusted && r.source !== undefined)
          peer = {
            ip: normalizeIp(r.source.ip),
            port: r.source.port,
            localIp: r.destination?.ip ?? normalizeIp(socket.localAddress),
            localPort: r.destination?.port ?? socket.localPort ?? 0,
          };
      }
      socket.resume();
      this.dispatch(socket, silent, rest.length > 0 ? rest : null, peer);
    };
    socket.on('data', more);
  }
  /** A TLS connection after its handshake: HTTP/2 when ALPN chose h2, else HTTP/1.1. */
  private onSecure(ts: TLSSocket): void {
    if (ts.alpnProtocol === 'h2') this.node.http2Secure(ts);
    else if (this.fastPath) this.h1conns.add(new H1Connection(this, ts, Date.now()));
    else this.node.http1Secure(ts);
  }

  private checkTimeouts(): void {
    if (this.h1conns.size === 0) return;
    const now = Date.now();
    for (const c of this.h1conns) c.checkTimeouts(now, this.headersTimeout, this.opts.readTimeout, this.opts.idleTimeout);
  }

  // ---- H1Server: the gateway's own HTTP/1.1 server ----

  exchange(conn: H1Connection, head: RequestHead, body: RequestBody | null, w: H1ResponseWriter): void {
    const socket = conn.socket;
    const remoteIp = normalizeIp(socket.remoteAddress);
    const headers = head.headers;
    // The parser has checked Host and the target, and turned an absolute-form target into origin-form.
    dropConnectionOptions(headers);
    const tls = encrypted(socket);
    const clientIp = (tls ? this.forwardedTls : this.forwarded).apply(headers, remoteIp);
    const req = new H1Request(head.method, head.url, headers, head.minor === 1 ? '1.1' : '1.0', socket);
    const ctx = this.newContext(req, w, remoteIp, clientIp, headers, head.url, null, body, tls);
    w.ctx = ctx;
    this.inFlight++;
    const wt = this.opts.writeTimeout;
    // writeTimeout: the whole response must be written within this time (Go's WriteTimeout).
    if (wt > 0) w.timer = setTimeout(() => socket.destroy(), wt);
    this.run(ctx);
  }

  exchangeDone(w: H1ResponseWriter, completed: boolean): void {
    if (w.timer !== null) clearTimeout(w.timer);
    if (w.ctx !== null) this.finish(w.ctx, completed);
  }

  handOver(socket: Socket, bytes: Buffer): void {
    this.node.http1(socket, bytes);
  }

  forget(conn: H1Connection): void {
    this.h1conns.delete(conn);
  }

  // ---- NodeExchangeHost: requests parsed by node:http and node:http2 ----

  open(
    req: IncomingMessage,
    rw: ResponseWriter,
    remoteIp: string,
    headers: IncomingMessage['headers'],
    url: string,
    upgrade: Upgrade | null,
  ): RequestContext {
    // node:http checks neither Host nor the target as the gateway's parser does (src/http1/target.ts).
    let target = url;
    let bad = false;
    if (target.charCodeAt(0) !== 0x2f /* / */ && target !== '*') {
      const abs = splitAbsoluteForm(target);
      if (abs === null || typeof abs === 'string') bad = true;
      else {
        headers.host = abs.authority; // the target's authority wins over Host (RFC 9112 §3.2.2)
        target = abs.path;
      }
    } else if (target === '*' && req.method !== 'OPTIONS') bad = true;
    if (!bad && headers.host !== undefined && !isValidHost(headers.host)) bad = true;
    dropConnectionOptions(headers);
    const tls = encrypted(req.socket);
    const clientIp = (tls ? this.forwardedTls : this.forwarded).apply(headers, remoteIp);
    const ctx = this.newContext(req, rw, remoteIp, clientIp, headers, bad ? '/' : target, upgrade, undefined, tls);
    if (bad) ctx.code = 'GH_BAD_REQUEST';
    this.inFlight++;
    return ctx;
  }

  private newContext(
    req: ClientRequest,
    rw: ResponseWriter,
    remoteIp: string,
    clientIp: string,
    headers: IncomingMessage['headers'],
    url: string,
    upgrade: Upgrade | null,
    body: RequestBody | null | undefined,
    tls: boolean,
  ): RequestContext {
    const q = url.indexOf('?');
    const raw = q < 0 ? url : url.slice(0, q);
    // Traefik's normalizePath, then sanitizePath (src/http/request-path.ts); '*' is OPTIONS' asterisk-form.
    const normal = raw === '*' ? raw : normalizePath(raw);
    const path = normal === null ? raw : this.sanitize ? sanitizePath(normal) : normal;
    const ctx = new RequestContext(req, rw, {
      entryPoint: this.opts.name,
      scheme: tls ? 'https' : 'http',
      remoteIp,
      clientIp,
      host: normalizeHost(headers.host),
      path,
      query: q < 0 ? '' : url.slice(q + 1),
      start: performance.now(),
      upgrade,
      body,
    });
    if (normal === null) ctx.code = 'GH_BAD_REQUEST';
    else if (raw === '*') ctx.code = 'GH_OPTIONS_ASTERISK';
    return ctx;
  }

  run(ctx: RequestContext): void {
    const onStart = this.opts.onStart;
    if (onStart !== null) onStart(ctx);
    // Refused at the door (newContext, open): answered before routing, nothing is forwarded.
    if (ctx.code !== null) {
      answer(ctx, ctx.code);
      return;
    }
    try {
      this.handler(ctx);
    } catch (err) {
      this.opts.log.error({ err, router: ctx.routerName }, 'handler failed');
      answer(ctx, 'GH_INTERNAL');
    }
  }

  /** The exchange is over (response finished, or the client went away). */
  finish(ctx: RequestContext, completed: boolean): void {
    this.inFlight--;
    if (!completed) {
      ctx.clientGone = true;
      ctx.upstream?.clientGone();
    }
    ctx.runDone();
    if (ctx.status === 0) ctx.status = 499; // client went away before an answer
    const onEnd = this.opts.onEnd;
    if (onEnd !== null) onEnd(ctx);
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  /**
   * Stop accepting, let every accepted connection finish, then close what is
   * left when graceMs ends.
   *
   * Like Go's `http.Server.Shutdown`: a kept-alive connection with no request
   * running closes at once; a busy one closes after its answer (sent with
   * `Connection: close`); a connection accepted just before the listener
   * closed, that has not sent its first byte yet, is given up to
   * NEW_CONNECTION_GRACE_MS to send its request, which is then served (before,
   * it was reset: issue 11 §5, "connections accepted just after SIGTERM").
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.external === null) this.net.close();
    const start = Date.now();
    const freshUntil = start + Math.min(graceMs, NEW_CONNECTION_GRACE_MS);
    await new Promise<void>((resolve) => {
      const sweep = (): void => {
        this.node.closeIdle();
        for (const c of this.h1conns) c.closeIfIdle();
        const now = Date.now();
        if (now >= freshUntil) for (const s of this.fresh) s.destroy();
        if (this.sockets.size === 0 || now - start >= graceMs) {
          clearInterval(t);
          resolve();
        }
      };
      const t = setInterval(sweep, CLOSE_SWEEP_MS);
      sweep();
    });
    for (const s of this.sockets) s.destroy();
    if (this.sweep !== null) clearInterval(this.sweep);
    this.node.close();
  }
}

/** How long a connection accepted before the listener closed may take to send its first byte. */
const NEW_CONNECTION_GRACE_MS = 5000;
/** How often a closing entry point looks for connections that went idle. */
const CLOSE_SWEEP_MS = 50;

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EAFNOSUPPORT: 'the address family is not supported here',
};

/** One line for the operator: which entry point, which address, why. */
export function listenError(name: string, host: string | undefined, port: number, err: NodeJS.ErrnoException): GatehouseError {
  const where = `${host === undefined || host === '' ? '' : host.includes(':') ? `[${host}]` : host}:${port}`;
  const why = err.code !== undefined && LISTEN_REASONS[err.code] !== undefined ? `${LISTEN_REASONS[err.code]} (${err.code})` : err.message;
  return new GatehouseError('GH_LISTEN_FAILED', `entry point "${name}" cannot listen on ${where}: ${why}`, { cause: err });
}

/** The connection's own addresses. */
function peerOf(socket: Socket): Peer {
  return {
    ip: normalizeIp(socket.remoteAddress),
    port: socket.remotePort ?? 0,
    localIp: normalizeIp(socket.localAddress),
    localPort: socket.localPort ?? 0,
  };
}

/** The client address from a PROXY header, as every reader of `remoteAddress` sees it (routing, logs, X-Forwarded-For). */
function withPeer<S extends Socket>(socket: S, peer: Peer): S {
  Object.defineProperty(socket, 'remoteAddress', { value: peer.ip, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: peer.port, configurable: true });
  return socket;
}

function tcpConn(socket: Socket, replay: Buffer | null, p: Peer): TcpConn {
  return { socket, replay, clientIp: p.ip, clientPort: p.port, localIp: p.localIp, localPort: p.localPort };
}

function tlsHandOff(tcp: TcpEntryRuntime, hello: ClientHello, p: Peer): TlsHandOff | null {
  const d = tcp.matchTls(canonicalServerName(hello.serverName), hello.alpn, p.ip);
  if (d.kind === 'http') return null;
  const route = d.route;
  if (route.passthrough) return { kind: 'passthrough', take: (s, read) => route.serve(tcpConn(s, read, p)) };
  return { kind: 'terminate', take: (ts) => route.serve(tcpConn(ts, null, p)), alpn: hello.alpn };
}
