/**
 * HTTP/2 cleartext (prior knowledge) upstream for `h2c://` servers, on
 * node:http2. undici's HTTP/2 client reports the end of a response before its
 * trailers, which loses gRPC's grpc-status; this client delivers trailers
 * with the end of the response, as gRPC needs. It implements the part of
 * undici's Dispatcher handler protocol the proxy uses, so the proxy does not
 * care which one it talks to.
 */
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders as H2Headers,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

const HOP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  'transfer-encoding': true,
  upgrade: true,
  host: true,
});

class TimeoutError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

class Controller implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  stream: ClientHttp2Stream | null = null;
  constructor(private readonly onAbort: (err: Error) => void) {}
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.onAbort(reason);
  }
  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }
  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }
}

export class H2cDispatcher {
  private session: ClientHttp2Session | null = null;
  private closed = false;

  /**
   * `opts.tls`: HTTP/2 over TLS (`https`, ALPN h2) with these options instead of
   * cleartext; `opts.firstSocket`: an already negotiated TLS socket the first
   * session runs on (the ALPN probe's, see alpn.ts).
   */
  constructor(
    private readonly authority: string,
    private readonly opts: { connectTimeout: number; tls?: SecureClientSessionOptions; firstSocket?: import('node:tls').TLSSocket },
  ) {
    this.scheme = opts.tls !== undefined ? 'https' : 'http';
  }

  private readonly scheme: 'http' | 'https';

  private getSession(): ClientHttp2Session {
    const s = this.session;
    if (s !== null && !s.closed && !s.destroyed) return s;
    const first = this.opts.firstSocket;
    this.opts.firstSocket = undefined;
    const session =
      this.opts.tls === undefined
        ? connect(`http://${this.authority}`)
        : connect(`https://${this.authority}`, {
            ...this.opts.tls,
            ALPNProtocols: ['h2'],
            ...(first !== undefined && !first.destroyed ? { createConnection: () => first } : {}),
          });
    session.on('error', () => undefined); // surfaced per stream
    session.on('close', () => {
      if (this.session === session) this.session = null;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = null;
    });
    session.setTimeout(this.opts.connectTimeout, () => {
      if (!session.connecting) return;
      session.destroy(new TimeoutError(`connect timeout to ${this.authority}`, 'UND_ERR_CONNECT_TIMEOUT'));
    });
    session.unref();
    this.session = session;
    return session;
  }

  dispatch(o: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let finished = false;
    let stream: ClientHttp2Stream | null = null;
    let timer: NodeJS.Timeout | null = null;
    let responded = false;
    let trailers: IncomingHttpHeaders = {};
    const fail = (err: Error): void => {
      if (finished) return;
      finished = true;
      if (timer !== null) clearTimeout(timer);
      stream?.close(constants.NGHTTP2_CANCEL);
      handler.onResponseError?.(controller, err);
    };
    const controller = new Controller(fail);
    handler.onRequestStart?.(controller, {});
    if (this.closed) {
      fail(new Error('dispatcher is closed'));
      return false;
    }
    const headers: OutgoingHttpHeaders = { ':method': o.method, ':path': o.path, ':scheme': this.scheme };
    const src = (o.headers ?? {}) as Record<string, string | string[] | undefined>;
    for (const k in src) {
      const v = src[k];
      if (v === undefined || HOP[k] === true) continue;
      if (k === 'te' && v !== 'trailers') continue;
      headers[k] = v;
    }
    headers[':authority'] = typeof src.host === 'string' ? src.host : this.authority;
    const body = o.body;
    const hasBody = body !== null && body !== undefined;
    try {
      stream = this.getSession().request(headers, { endStream: !hasBody });
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    controller.stream = stream;
    const headersTimeout = o.headersTimeout ?? 300_000;
    if (headersTimeout > 0) {
      timer = setTimeout(
        () => fail(new TimeoutError(`no response headers within ${headersTimeout} ms`, 'UND_ERR_HEADERS_TIMEOUT')),
        headersTimeout,
      );
      timer.unref();
    }
    stream.on('response', (h: H2Headers) => {
      if (finished) return;
      const status = Number(h[':status']);
      if (status < 200) return;
      if (timer !== null) clearTimeout(timer);
      responded = true;
      const out: IncomingHttpHeaders = {};
      for (const k in h) if (k.charCodeAt(0) !== 58) out[k] = h[k] as string;
      handler.onResponseStart?.(controller, status, out, '');
    });
    stream.on('data', (chunk: Buffer) => {
      if (!finished) handler.onResponseData?.(controller, chunk);
    });
    stream.on('trailers', (t: H2Headers) => {
      const out: IncomingHttpHeaders = {};
      for (const k in t) if (k.charCodeAt(0) !== 58) out[k] = t[k] as string;
      trailers = out;
    });
    stream.on('error', (err) => fail(err));
    stream.on('close', () => {
      if (finished) return;
      if (!responded || stream!.rstCode !== constants.NGHTTP2_NO_ERROR) {
        fail(new Error(`upstream stream closed (code ${stream!.rstCode})`));
        return;
      }
      finished = true;
      handler.onResponseEnd?.(controller, trailers);
    });
    if (hasBody) {
      if (Buffer.isBuffer(body) || typeof body === 'string' || body instanceof Uint8Array) stream.end(body);
      else if (body instanceof Readable) {
        body.on('error', (err) => fail(err));
        body.pipe(stream);
      } else stream.end();
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = null;
    if (s !== null && !s.closed) await new Promise<void>((r) => s.close(() => r()));
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.session?.destroy();
    this.session = null;
  }
}
