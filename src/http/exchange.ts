/**
 * One exchange as every layer above the server sees it: the client request
 * (an interface node's IncomingMessage also satisfies) and the fixed-shape
 * RequestContext that travels router → middlewares → service.
 */
import type { IncomingMessage, IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { ResponseWriter } from './response-writer.js';
import type { AnswerCode } from './answer-codes.js';

/**
 * The request as the client sent it. node:http's IncomingMessage satisfies
 * it; the gateway's own HTTP/1.1 server (`src/server/h1/`) builds a plain
 * object instead. `headers` is the same object as `RequestContext.headers`
 * until a middleware replaces that.
 */
export interface ClientRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly socket: { readonly remotePort?: number | undefined; readonly destroyed: boolean } | null;
}

/** Everything one request carries through router → middlewares → service. */
export class RequestContext {
  /** Response writer; middlewares may wrap it. */
  rw: ResponseWriter;
  /** Method sent upstream. */
  method: string;
  /** Host (lower-case, no port, no trailing dot) as matched by rules. */
  host: string;
  /** Raw request path (no query), as sent upstream; path middlewares rewrite it. */
  path: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** Headers sent upstream (lower-case names). Middlewares mutate this object. */
  headers: IncomingHttpHeaders;
  /** Request body: the client stream, a buffered copy (buffering/retry), or null for none. */
  body: Readable | Buffer | null;
  /** Address of the direct peer (IPv4-mapped IPv6 unwrapped). */
  readonly remoteIp: string;
  /** Client IP after forwarded-header trust rules (X-Forwarded-For when trusted). */
  clientIp: string;
  readonly scheme: 'http' | 'https';
  readonly entryPoint: string;
  /** Set by the router. */
  routerName = '';
  /** Set by the service that answers. */
  serviceName = '';
  /** URL of the backend server that answered (or was tried last). */
  serverUrl = '';
  /** Verified token claims (validateJwt), for later middlewares and telemetry. */
  claims: Record<string, unknown> | null = null;
  /** Caller identity for telemetry: token client id when there is one. */
  caller: string | null = null;
  /** Status sent to the client (set by the base writer). */
  status = 0;
  /** Status the backend answered with (0 when none). */
  originStatus = 0;
  /** Reason phrase the backend answered with ('' when none); the base writer sends it with `originStatus`. */
  originReason = '';
  /** Number of retries performed. */
  retries = 0;
  /** Why the gateway answered itself (answer-codes.ts); null when the backend answered. Set by `answer()`. */
  code: AnswerCode | null = null;
  /**
   * Installed by the retry middleware. The proxy calls it when an attempt failed
   * before any response byte came back (connection refused/reset, timeout),
   * with `requestSent` telling whether request bytes may have reached the
   * backend. Returning true means the hook took over (it will re-run the next
   * handler): the proxy then writes nothing.
   */
  retryHook: ((err: Error, requestSent: boolean) => boolean) | null = null;
  /** Set by the proxy when an attempt failed without a backend response (network error or timeout). */
  upstreamError: Error | null = null;
  /** Start time, performance.now() in ms. */
  readonly start: number;
  /** Bytes of response body written to the client. */
  bytesOut = 0;
  /** For WebSocket/upgrade requests: the client socket and the bytes read past the headers. */
  readonly upgrade: { socket: Duplex; head: Buffer } | null;
  /** The upstream exchange in progress, told when the client goes away before the answer is complete. */
  upstream: { clientGone(): void } | null = null;
  /** The node response behind the base writer (null for upgrades and on the gateway's own HTTP/1.1 server). */
  res: ServerResponse | null = null;
  /** Set when the client went away before the answer was complete. */
  clientGone = false;
  /** Headers of the response head, as written (set by the gateway's HTTP/1.1 writer; node keeps its own). */
  sentHeaders: OutgoingHttpHeaders | null = null;
  /** Callbacks run once when the exchange is over (see onceDone). */
  private doneCallbacks: Array<() => void> | null = null;
  /** The original request path before any rewrite (for access logs and X-Forwarded-Prefix). */
  readonly originalPath: string;
  /**
   * Called by the base writer right after the response head is written (live
   * tap `rsp` events). Null unless telemetry asked for it on this exchange.
   */
  onHead: ((ctx: RequestContext) => void) | null = null;

  constructor(
    readonly req: ClientRequest,
    rw: ResponseWriter,
    init: {
      entryPoint: string;
      scheme: 'http' | 'https';
      remoteIp: string;
      clientIp: string;
      host: string;
      path: string;
      query: string;
      start: number;
      upgrade?: { socket: Duplex; head: Buffer } | null;
      /** The body stream; by default `req` itself when it is a node request that has a body. */
      body?: Readable | null;
    },
  ) {
    this.rw = rw;
    this.method = req.method ?? 'GET';
    this.headers = req.headers;
    this.host = init.host;
    this.path = init.path;
    this.originalPath = init.path;
    this.query = init.query;
    this.remoteIp = init.remoteIp;
    this.clientIp = init.clientIp;
    this.scheme = init.scheme;
    this.entryPoint = init.entryPoint;
    this.start = init.start;
    this.upgrade = init.upgrade ?? null;
    this.body = init.body !== undefined ? init.body : hasBody(req) ? (req as IncomingMessage) : null;
  }

  /** Run `cb` once when the exchange is over (answer complete or client gone). */
  onceDone(cb: () => void): void {
    (this.doneCallbacks ??= []).push(cb);
  }

  /** Called by the entry point when the exchange is over. */
  runDone(): void {
    const cbs = this.doneCallbacks;
    if (cbs === null) return;
    this.doneCallbacks = null;
    for (const cb of cbs) cb();
  }

  /** Path plus query, as sent upstream. */
  get url(): string {
    return this.query === '' ? this.path : `${this.path}?${this.query}`;
  }
}

function hasBody(req: ClientRequest): boolean {
  if (typeof (req as { pipe?: unknown }).pipe !== 'function') return false;
  if (req.httpVersionMajor === 2) {
    // HTTP/2 has no framing headers: a body follows unless HEADERS carried END_STREAM.
    return (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  }
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0';
}
