/**
 * The contract of `UpstreamDispatcher` (proxy.ts) as one case table that
 * every implementation runs, the way Hono runs `src/router/common.case.test.ts`
 * against each of its routers: undici's `Pool`, the raw HTTP/1.1 pool
 * (raw/pool.ts) and the h2c client (h2c.ts), each against a real origin of
 * its protocol on 127.0.0.1 (node:http, or node:http2 with prior knowledge).
 *
 * A case returns what it observed (handler events, bodies, error codes, what
 * the origin saw) and the table says what every implementation must observe.
 * Where one legitimately differs, `differs` names it, gives what it observes
 * instead, and says why: no case is skipped for anyone.
 *
 * Test code, imported only by dispatchers.test.ts; it uses node builtins and
 * undici's types only.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttp1, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server as Http1Server } from 'node:http';
import { constants as h2, createServer as createH2c, type Http2Server, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamDispatcher } from './proxy.js';

/** The implementations the table knows by name. */
export type DispatcherName = 'undici Pool' | 'RawPool' | 'H2cDispatcher';

export interface DispatcherImpl {
  readonly name: DispatcherName;
  /** The origin's protocol: HTTP/1.1 (node:http) or h2c with prior knowledge (node:http2). */
  readonly protocol: 'http1' | 'h2c';
  /** A dispatcher for `origin` (`http://127.0.0.1:<port>`). */
  create(origin: URL): UpstreamDispatcher;
}

/** What a case saw; compared with `deepEqual`. */
export type Observation = Readonly<Record<string, unknown>>;

export interface DispatcherCase {
  readonly name: string;
  /** 'refused': the case's dispatcher points at a port nothing listens on. */
  readonly target?: 'origin' | 'refused';
  run(c: CaseContext): Promise<Observation>;
  readonly expect: Observation;
  /** Implementations that observe something else, with the reason. */
  readonly differs?: Partial<Record<DispatcherName, { readonly expect: Observation; readonly why: string }>>;
}

// --- the origin ------------------------------------------------------------

/** The part of node:http's and node:http2's (compatibility API) request both origins share. */
interface OriginRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  on(ev: 'data', cb: (chunk: Buffer) => void): unknown;
  on(ev: 'end', cb: () => void): unknown;
}

/** The part of node:http's and node:http2's response both origins share. */
interface OriginResponse {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  addTrailers(trailers: OutgoingHttpHeaders): void;
  once(ev: 'close', cb: () => void): unknown;
  readonly writableFinished: boolean;
}

type OriginHandler = (req: OriginRequest, res: OriginResponse, reset: () => void) => void;

class Origin {
  readonly url: URL;
  /** TCP connections accepted so far. */
  connections = 0;
  /** Requests that reached a handler. */
  requests = 0;
  private readonly routes = new Map<string, OriginHandler>();
  private readonly sockets = new Set<Socket>();
  private next = 0;

  private constructor(
    private readonly server: Http1Server | Http2Server,
    port: number,
  ) {
    this.url = new URL(`http://127.0.0.1:${port}`);
    server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  static async start(protocol: 'http1' | 'h2c'): Promise<Origin> {
    let origin: Origin | null = null;
    const route = (req: OriginRequest, res: OriginResponse, reset: () => void): void => {
      const o = origin!;
      o.requests++;
      const path = (req.url ?? '/').split('?')[0]!;
      const h = o.routes.get(path);
      if (h === undefined) {
        res.writeHead(404);
        res.end();
      } else h(req, res, reset);
    };
    const server: Http1Server | Http2Server =
      protocol === 'http1'
        ? createHttp1({ keepAliveTimeout: 10_000 }, (req, res) => route(req, res, () => req.socket.destroy()))
        : createH2c((req, res) =>
            route(req as OriginRequest, res as unknown as OriginResponse, () =>
              (res as Http2ServerResponse).stream.close(h2.NGHTTP2_INTERNAL_ERROR),
            ),
          );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = new Origin(server, (server.address() as AddressInfo).port);
    return origin;
  }

  /** Serve `h` at a fresh path, returned. */
  route(h: OriginHandler): string {
    const path = `/case-${this.next++}`;
    this.routes.set(path, h);
    return path;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

// --- the handler -----------------------------------------------------------

/** Records what a dispatcher tells its handler; `events` collapses runs of data into one `data`. */
class Recorder implements Dispatcher.DispatchHandler {
  readonly events: string[] = [];
  controller: Dispatcher.DispatchController | null = null;
  status = 0;
  headers: IncomingHttpHeaders = {};
  trailers: IncomingHttpHeaders | null = null;
  error: (Error & { code?: string }) | null = null;
  private readonly chunks: Buffer[] = [];
  readonly done: Promise<void>;
  private finish!: () => void;
  /** Hooks a case sets to act from inside a callback. */
  whenStart: ((c: Dispatcher.DispatchController) => void) | null = null;
  whenHead: ((c: Dispatcher.DispatchController) => void) | null = null;
  whenData: ((c: Dispatcher.DispatchController) => void) | null = null;

  constructor() {
    this.done = new Promise((r) => (this.finish = r));
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString();
  }

  /** The error's code, or its message when it has none. */
  get errorCode(): string | null {
    return this.error === null ? null : (this.error.code ?? `(no code) ${this.error.message}`);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    this.events.push('start');
    this.whenStart?.(c);
  }

  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
    this.events.push(`head ${status}`);
    this.whenHead?.(c);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    if (this.events.at(-1) !== 'data') this.events.push('data');
    this.whenData?.(c);
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.trailers = trailers;
    this.events.push('end');
    this.finish();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.error = err;
    this.events.push('error');
    this.finish();
  }

  /** Wait for the end or the error, at most `ms`; the events then end with `pending` if neither came. */
  async settle(ms = 3000): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
    const r = await Promise.race([this.done, late]);
    clearTimeout(timer);
    return r === 'late' ? [...this.events, 'pending'] : this.events;
  }
}

export interface CaseContext {
  readonly origin: Origin;
  readonly dispatcher: UpstreamDispatcher;
  /** Dispatch with defaults (GET, no body, 5 s timeouts); returns the recorder. */
  send(path: string, opts?: Partial<Dispatcher.DispatchOptions>, rec?: Recorder): Recorder;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on (just closed). */
async function closedPort(): Promise<number> {
  const s = createHttp1();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Read the whole request body, then answer "METHOD cl=<content-length> te=<transfer-encoding> body=<body>". */
const echo: OriginHandler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const h = req.headers;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.method} cl=${h['content-length'] ?? ''} te=${h['transfer-encoding'] ?? ''} body=${Buffer.concat(chunks).toString()}`);
  });
};

// --- the table -------------------------------------------------------------

const H2_FRAMING =
  'HTTP/2 frames the body in DATA frames: there is no chunked coding, and node:http2 sends a content-length only when the caller gives one (the proxy does for Buffer bodies)';

export const DISPATCHER_CASES: readonly DispatcherCase[] = [
  {
    name: 'GET: status, headers and body reach the handler in order',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { 'x-origin': 'yes', 'content-type': 'text/plain' });
        res.end('hello');
      });
      const r = c.send(path);
      return { events: await r.settle(), header: r.headers['x-origin'], body: r.body };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], header: 'yes', body: 'hello' },
  },
  {
    name: 'POST with a Buffer body: sent whole, framed by content-length',
    async run(c) {
      const r = c.send(c.origin.route(echo), { method: 'POST', body: Buffer.from('hello') });
      return { events: await r.settle(), body: r.body };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], body: 'POST cl=5 te= body=hello' },
    differs: {
      H2cDispatcher: { expect: { events: ['start', 'head 200', 'data', 'end'], body: 'POST cl= te= body=hello' }, why: H2_FRAMING },
    },
  },
  {
    name: 'POST with a stream body of unknown length: sent chunked',
    async run(c) {
      const r = c.send(c.origin.route(echo), { method: 'POST', body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]) });
      return { events: await r.settle(), body: r.body };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], body: 'POST cl= te=chunked body=hello' },
    differs: {
      H2cDispatcher: { expect: { events: ['start', 'head 200', 'data', 'end'], body: 'POST cl= te= body=hello' }, why: H2_FRAMING },
    },
  },
  {
    name: 'POST with a stream body and a declared content-length: sent with that length',
    async run(c) {
      const r = c.send(c.origin.route(echo), {
        method: 'POST',
        headers: { 'content-length': '5' },
        body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]),
      });
      return { events: await r.settle(), body: r.body };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], body: 'POST cl=5 te= body=hello' },
  },
  {
    name: 'the response body streams: the first piece reaches the handler before the origin writes the rest',
    async run(c) {
      let open!: () => void;
      const firstSeen = new Promise<'seen'>((r) => (open = () => r('seen')));
      let gate = 'not reached';
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        // A dispatcher that buffered the body would never let the handler see "first" now.
        void Promise.race([firstSeen, sleep(2000).then(() => 'timed out' as const)]).then((g) => {
          gate = g;
          res.end('second');
        });
      });
      const r = new Recorder();
      r.whenData = () => open();
      c.send(path, {}, r);
      return { events: await r.settle(), body: r.body, gate };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], body: 'first;second', gate: 'seen' },
  },
  {
    name: 'trailers arrive with the end of the response',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { trailer: 'x-sum', 'content-type': 'text/plain' });
        res.write('body');
        res.addTrailers({ 'x-sum': '42' });
        res.end();
      });
      const r = c.send(path, { headers: { te: 'trailers' } });
      return { events: await r.settle(), body: r.body, trailers: { ...r.trailers } };
    },
    expect: { events: ['start', 'head 200', 'data', 'end'], body: 'body', trailers: { 'x-sum': '42' } },
  },
  {
    name: 'HEAD: no body, even with a content-length',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { 'content-length': '5' });
        res.end();
      });
      const r = c.send(path, { method: 'HEAD' });
      return { events: await r.settle(), length: r.headers['content-length'] };
    },
    expect: { events: ['start', 'head 200', 'end'], length: '5' },
  },
  {
    name: 'connection refused: onResponseError with ECONNREFUSED',
    target: 'refused',
    async run(c) {
      const r = c.send('/');
      return { events: await r.settle(), code: r.errorCode };
    },
    // No onRequestStart: the proxy tells the retry middleware "nothing was sent" (requestSent false).
    expect: { events: ['error'], code: 'ECONNREFUSED' },
    differs: {
      H2cDispatcher: {
        expect: { events: ['start', 'error'], code: 'ERR_HTTP2_STREAM_CANCEL' },
        why:
          'H2cDispatcher calls onRequestStart at dispatch, before it has a session, and node:http2 cancels the stream when the session fails to connect ' +
          "without passing the session's ECONNREFUSED on (reported: the retry middleware then takes a refused h2c request as possibly sent and never replays a POST)",
      },
    },
  },
  {
    name: 'the origin resets the connection mid-body: onResponseError after onResponseStart',
    async run(c) {
      const path = c.origin.route((_req, res, reset) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789');
        setTimeout(reset, 50);
      });
      const r = c.send(path);
      return { events: await r.settle(), body: r.body };
    },
    expect: { events: ['start', 'head 200', 'data', 'error'], body: '0123456789' },
  },
  {
    name: 'headersTimeout: UND_ERR_HEADERS_TIMEOUT when the head is late',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        setTimeout(() => {
          res.writeHead(200);
          res.end('late');
        }, 4000);
      });
      // undici arms its timeouts on coarse timers: the wait is generous, the timeout short.
      const r = c.send(path, { headersTimeout: 100 });
      return { events: await r.settle(3000), code: r.errorCode };
    },
    expect: { events: ['start', 'error'], code: 'UND_ERR_HEADERS_TIMEOUT' },
  },
  {
    name: 'bodyTimeout: UND_ERR_BODY_TIMEOUT when the body stalls',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
        setTimeout(() => res.end('b'), 4000);
      });
      const r = c.send(path, { bodyTimeout: 100 });
      return { events: await r.settle(3000), code: r.errorCode };
    },
    expect: { events: ['start', 'head 200', 'data', 'error'], code: 'UND_ERR_BODY_TIMEOUT' },
    differs: {
      H2cDispatcher: {
        expect: { events: ['start', 'head 200', 'data', 'pending'], code: null },
        why: 'H2cDispatcher has no body timeout: it serves gRPC, whose streams may stay idle for long (reported: `readIdleTimeout` is documented as the body timeout for every transport)',
      },
    },
  },
  {
    name: 'abort by the handler after the head: onResponseError with the reason, the origin sees the exchange cut',
    async run(c) {
      let originSaw = 'nothing';
      const path = c.origin.route((_req, res) => {
        let ended = false;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
        res.once('close', () => (originSaw = ended ? 'finished' : 'cut'));
        setTimeout(() => {
          ended = true;
          res.end('b');
        }, 1000);
      });
      const r = new Recorder();
      r.whenHead = (ctl) => ctl.abort(new Error('handler stop'));
      c.send(path, {}, r);
      const events = await r.settle();
      await sleep(100);
      return { events, message: r.error?.message, originSaw };
    },
    expect: { events: ['start', 'head 200', 'error'], message: 'handler stop', originSaw: 'cut' },
  },
  {
    name: 'abort in onRequestStart: the error, and nothing after it',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200);
        res.end('x');
      });
      const r = new Recorder();
      r.whenStart = (ctl) => ctl.abort(new Error('gone'));
      c.send(path, {}, r);
      const events = await r.settle();
      await sleep(100);
      return { events, message: r.error?.message };
    },
    expect: { events: ['start', 'error'], message: 'gone' },
  },
  {
    name: 'close(): the request in flight finishes, close resolves after it, a later dispatch fails',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('done');
        }, 200);
      });
      const r = c.send(path);
      await sleep(50);
      let order = '';
      const closed = c.dispatcher.close().then(() => (order += 'closed;'));
      void r.done.then(() => (order += 'ended;'));
      // Dispatched while the dispatcher is closing.
      const later = c.send(path);
      await closed;
      return { events: r.events, body: r.body, order, later: await later.settle(), laterCode: later.errorCode };
    },
    expect: {
      events: ['start', 'head 200', 'data', 'end'],
      body: 'done',
      order: 'ended;closed;',
      later: ['error'],
      laterCode: 'UND_ERR_CLOSED',
    },
    differs: {
      H2cDispatcher: {
        expect: {
          events: ['start', 'head 200', 'data', 'end'],
          body: 'done',
          order: 'ended;closed;',
          later: ['start', 'error'],
          laterCode: '(no code) dispatcher is closed',
        },
        why: "H2cDispatcher calls onRequestStart before it looks at its state, and its errors carry no undici code (reported; the proxy's answer, 502, is the same)",
      },
    },
  },
  {
    name: 'destroy(): the request in flight fails at once',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        setTimeout(() => {
          res.writeHead(200);
          res.end('too late');
        }, 2000);
      });
      const r = c.send(path);
      await sleep(50);
      const t0 = Date.now();
      await c.dispatcher.destroy();
      const events = await r.settle(1000);
      return { events, code: r.errorCode, fast: Date.now() - t0 < 500 };
    },
    expect: { events: ['start', 'error'], code: 'UND_ERR_DESTROYED', fast: true },
    differs: {
      H2cDispatcher: {
        expect: { events: ['start', 'error'], code: '(no code) upstream stream closed (code 0)', fast: true },
        why: "destroying the session closes its streams; H2cDispatcher reports that without undici's code (reported; the proxy's answer, 502, is the same)",
      },
    },
  },
  {
    name: 'keep-alive: sequential requests reuse one connection',
    async run(c) {
      let n = 0;
      const path = c.origin.route((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(++n));
      });
      const before = c.origin.connections;
      const bodies: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = c.send(path);
        await r.settle();
        bodies.push(r.body);
        // undici's Pool releases a connection after onResponseEnd returns: a request sent
        // from inside that callback's turn would open a second one. The contract is reuse.
        await sleep(20);
      }
      return { bodies, connections: c.origin.connections - before };
    },
    expect: { bodies: ['1', '2', '3'], connections: 1 },
  },
  {
    name: 'a header value with CR LF is refused and nothing reaches the origin',
    async run(c) {
      const path = c.origin.route((_req, res) => {
        res.writeHead(200);
        res.end('x');
      });
      const before = c.origin.requests;
      const r = c.send(path, { headers: { 'x-bad': 'a\r\nx-injected: 1' } });
      const events = await r.settle();
      await sleep(50);
      return { events: events.filter((e) => e !== 'start'), originRequests: c.origin.requests - before };
    },
    expect: { events: ['error'], originRequests: 0 },
    differs: {
      H2cDispatcher: {
        expect: { events: ['head 200', 'data', 'end'], originRequests: 1 },
        why:
          'node:http2 sends any value and H2cDispatcher does not check it: HPACK has no line structure, so the value cannot split this request, ' +
          'but an origin that re-serialises it as HTTP/1 could be split (reported)',
      },
    },
  },
];

// --- the runner ------------------------------------------------------------

/** Run every case of the table against `impl`, one fresh dispatcher per case. */
export function runDispatcherContract(impl: DispatcherImpl): void {
  let origin: Origin | null = null;
  after(() => origin?.close());
  for (const k of DISPATCHER_CASES) {
    const d = k.differs?.[impl.name];
    test(`${impl.name}: ${k.name}`, async () => {
      origin ??= await Origin.start(impl.protocol);
      const target = k.target === 'refused' ? new URL(`http://127.0.0.1:${await closedPort()}`) : origin.url;
      const dispatcher = impl.create(target);
      const send = (path: string, opts: Partial<Dispatcher.DispatchOptions> = {}, rec = new Recorder()): Recorder => {
        dispatcher.dispatch({ method: 'GET', path, headersTimeout: 5000, bodyTimeout: 5000, ...opts }, rec);
        return rec;
      };
      try {
        const seen = await k.run({ origin, dispatcher, send });
        assert.deepEqual(seen, d?.expect ?? k.expect, d !== undefined ? `${impl.name} differs: ${d.why}` : undefined);
      } finally {
        await dispatcher.destroy().catch(() => undefined);
      }
    });
  }
}
