/**
 * The serving side of Gatehouse (one per worker process, or the only process
 * with --workers 1): entry points, the runtime built from the snapshot in
 * force, and atomic swaps when a new snapshot arrives. Retired runtimes are
 * closed only after their in-flight requests could finish.
 */
import type { Socket } from 'node:net';
import type { Snapshot } from '../config/runtime.js';
import type { ServersTransportConfig } from '../config/schema.js';
import type { MiddlewareRegistry } from '../middlewares/registry.js';
import type { RateLimitStore } from '../middlewares/types.js';
import type { Logger } from '../log.js';
import { buildRuntime, type Runtime } from './build.js';
import { EntryPoint, type EntryPointSpec } from './entrypoint.js';
import type { Handler } from '../http/handler.js';
import { answer } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';
import type { TlsAcceptor } from './tls-acceptor.js';

/** One entry point as configured; defined beside the entry point, which is built from it. */
export type { EntryPointSpec } from './entrypoint.js';

export interface GatewayOptions {
  entryPoints: readonly EntryPointSpec[];
  registry: MiddlewareRegistry;
  rateLimitStore: RateLimitStore;
  log: Logger;
  dataDir: string;
  maxHeaderSize?: number;
  /** Internal service handlers, by name (`api@internal`, …); built once, they read state through closures. */
  internal: Record<string, Handler>;
  onEnd?: ((ctx: RequestContext) => void) | null;
  /** Called right before the router table handles a request (live tap, body byte count). */
  onStart?: ((ctx: RequestContext) => void) | null;
  /** Middlewares run before every router of an entry point. */
  entryPointMiddlewares?: Record<string, string[]>;
  /** Transport of services that name none. */
  defaultTransport?: ServersTransportConfig;
  /** Terminates TLS on every entry point (a connection opening with a ClientHello); absent: plain HTTP only. */
  tls?: TlsAcceptor;
}

export class Gateway {
  private runtime: Runtime | null = null;
  private readonly eps: EntryPoint[] = [];
  private shuttingDown = false;

  constructor(private readonly opts: GatewayOptions) {
    for (const spec of opts.entryPoints) {
      this.eps.push(
        new EntryPoint(
          {
            ...spec,
            maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
            log: opts.log,
            onEnd: opts.onEnd ?? null,
            onStart: opts.onStart ?? null,
            tls: opts.tls ?? null,
          },
          notReady,
        ),
      );
    }
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** The runtime in force (null before the first snapshot). */
  get current(): Runtime | null {
    return this.runtime;
  }

  entryPoint(name: string): EntryPoint | undefined {
    const i = this.opts.entryPoints.findIndex((e) => e.name === name);
    return i < 0 ? undefined : this.eps[i];
  }

  connections(): Record<string, number> {
    const out: Record<string, number> = {};
    this.opts.entryPoints.forEach((e, i) => (out[e.name] = this.eps[i]!.connections));
    return out;
  }

  /** Listen on every entry point; with `external`, serve the connections another process accepts there instead (adopt). */
  async listen(external?: Readonly<Record<string, { host: string; port: number }>>): Promise<void> {
    for (const [i, ep] of this.eps.entries()) {
      const at = external?.[this.opts.entryPoints[i]!.name];
      if (at !== undefined) ep.serveAdopted(at);
      else await ep.listen();
    }
  }

  /** A connection the primary accepted on entry point `name`; false when there is no such entry point. */
  adopt(name: string, socket: Socket): boolean {
    const ep = this.entryPoint(name);
    if (ep === undefined) return false;
    ep.adopt(socket);
    return true;
  }

  /** Build handlers for `snapshot` and swap them in; the previous runtime is retired gracefully. */
  apply(snapshot: Snapshot): Runtime {
    const next = buildRuntime(snapshot, {
      registry: this.opts.registry,
      internal: this.opts.internal,
      rateLimitStore: this.opts.rateLimitStore,
      log: this.opts.log,
      dataDir: this.opts.dataDir,
      entryPoints: this.opts.entryPoints.map((e) => e.name),
      entryPointMiddlewares: this.opts.entryPointMiddlewares ?? {},
      defaultTransport: this.opts.defaultTransport,
    });
    const prev = this.runtime;
    this.runtime = next;
    this.opts.entryPoints.forEach((e, i) => this.eps[i]!.setHandler(next.entryPoints[e.name] ?? notReady));
    if (prev !== null) {
      // The old pools close once their in-flight exchanges end, however long they stream: a reload
      // never cuts an exchange (only shutdown has a deadline). New requests already use `next`.
      void prev.close(null).catch((err: unknown) => this.opts.log.warn({ err }, 'retiring the previous configuration failed'));
    }
    return next;
  }

  /** The shutdown has begun: /ping answers 503 from now on (requestAcceptGraceTimeout runs elsewhere). */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** requestAcceptGraceTimeout: the longest of the entry points'. */
  get acceptGraceMs(): number {
    return Math.max(...this.opts.entryPoints.map((e) => e.acceptGraceTimeout ?? 0), 0);
  }

  /**
   * Graceful shutdown: /ping answers 503, keep accepting for
   * requestAcceptGraceTimeout (skipped with `acceptGrace: false`, when the
   * cluster primary waited it out already), stop accepting, drain, close pools.
   */
  async close(opts: { acceptGrace?: boolean } = {}): Promise<void> {
    this.shuttingDown = true;
    // requestAcceptGraceTimeout: keep serving (with /ping failing) so load balancers notice first.
    const accept = opts.acceptGrace === false ? 0 : this.acceptGraceMs;
    if (accept > 0) await new Promise((r) => setTimeout(r, accept).unref());
    const grace = Math.max(...this.opts.entryPoints.map((e) => e.graceTimeout), 0);
    await Promise.all(this.eps.map((ep) => ep.close(grace)));
    await this.runtime?.close(1000);
  }
}

const notReady: Handler = (ctx) => answer(ctx, 'GH_NOT_READY');
