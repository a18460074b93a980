/**
 * HTTP/2 limits of an entry point (docs/tls.md, "HTTP/2 limits"): the options
 * node:http2 takes against floods, and a guard per session for what node does
 * not limit itself.
 *
 * node 20.20 bundles nghttp2 1.61, which already refuses a CONTINUATION flood
 * (CVE-2024-27316: the header block is cut at maxHeaderListSize and the
 * connection closed with GOAWAY) and rate-limits RST_STREAM (CVE-2023-44487:
 * GOAWAY after ~1000 resets, but the connection stays open and node has by
 * then handed every reset stream to the server as a request). The guard adds:
 * a tighter reset budget per session that answers GOAWAY ENHANCE_YOUR_CALM and
 * closes the connection, and a settings timeout (RFC 9113 §6.5.3). The adapter
 * (node-adapter.ts) also dispatches a request one event-loop turn late so a
 * stream reset in the same read never reaches the router or a backend.
 */
import { constants, type ServerHttp2Session, type ServerHttp2Stream, type ServerOptions } from 'node:http2';

/** Limits of the HTTP/2 server of an entry point. */
export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (`entryPoints.<name>.http2.maxConcurrentStreams`, Traefik/Go default 250). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE in bytes: a bigger header block resets its stream (ENHANCE_YOUR_CALM). */
  maxHeaderListSize: number;
  /** Invalid frames a session may send before it is closed (node's `maxSessionInvalidFrames`). */
  maxSessionInvalidFrames: number;
  /** Streams refused (REFUSED_STREAM) per session before it is closed (node's `maxSessionRejectedStreams`). */
  maxSessionRejectedStreams: number;
  /**
   * ms: the client's SETTINGS and its acknowledgement of ours must arrive within this time
   * after the connection preface, or the session ends with GOAWAY SETTINGS_TIMEOUT. 0 disables.
   */
  settingsTimeout: number;
  /** Streams a client may reset before their response ended, in one burst. */
  resetBurst: number;
  /** ... and then per second (a token bucket); beyond: GOAWAY ENHANCE_YOUR_CALM and the connection closes. */
  resetRate: number;
}

/** Why a session was ended by the guard. */
export type Http2Refusal = 'rapid-reset' | 'settings-timeout';

export const HTTP2_DEFAULTS: Readonly<Omit<Http2Limits, 'maxHeaderListSize' | 'resetBurst'>> = Object.freeze({
  maxConcurrentStreams: 250,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  settingsTimeout: 10_000,
  resetRate: 50,
});

/** Time between the GOAWAY of a session the guard ends and its destruction, ms. */
const GOAWAY_GRACE_MS = 200;

/** Largest value a SETTINGS parameter holds (31 bits for the stream limit, RFC 9113 §6.5.2). */
const MAX_STREAMS = 2 ** 31 - 1;

function positive(v: number | undefined, def: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`HTTP/2 limit ${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

/**
 * The limits with defaults filled in: `maxHeaderListSize` defaults to the entry point's
 * header limit, `resetBurst` to twice the stream limit (a client may cancel every stream
 * it has open, twice, before the rate applies).
 */
export function http2Limits(given: Partial<Http2Limits> | undefined, maxHeaderSize: number): Http2Limits {
  const g = given ?? {};
  const maxConcurrentStreams = positive(g.maxConcurrentStreams, HTTP2_DEFAULTS.maxConcurrentStreams, 'maxConcurrentStreams', MAX_STREAMS);
  if (maxConcurrentStreams === 0) throw new RangeError('HTTP/2 limit maxConcurrentStreams: must be at least 1');
  return {
    maxConcurrentStreams,
    maxHeaderListSize: positive(g.maxHeaderListSize, maxHeaderSize, 'maxHeaderListSize', 2 ** 32 - 1),
    maxSessionInvalidFrames: positive(g.maxSessionInvalidFrames, HTTP2_DEFAULTS.maxSessionInvalidFrames, 'maxSessionInvalidFrames'),
    maxSessionRejectedStreams: positive(g.maxSessionRejectedStreams, HTTP2_DEFAULTS.maxSessionRejectedStreams, 'maxSessionRejectedStreams'),
    settingsTimeout: positive(g.settingsTimeout, HTTP2_DEFAULTS.settingsTimeout, 'settingsTimeout'),
    resetBurst: positive(g.resetBurst, 2 * maxConcurrentStreams, 'resetBurst'),
    resetRate: positive(g.resetRate, HTTP2_DEFAULTS.resetRate, 'resetRate'),
  };
}

/** Options for node:http2's createServer / createSecureServer. */
export function http2ServerOptions(l: Http2Limits): ServerOptions {
  return {
    // MB of memory a session may hold (frames queued, header blocks); beyond, new streams are refused.
    maxSessionMemory: 64,
    maxSessionInvalidFrames: l.maxSessionInvalidFrames,
    maxSessionRejectedStreams: l.maxSessionRejectedStreams,
    settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListSize },
  };
}

/**
 * Watch one server session: end it with GOAWAY SETTINGS_TIMEOUT when the SETTINGS
 * exchange does not finish in time, and with GOAWAY ENHANCE_YOUR_CALM when the client
 * resets streams faster than the budget allows. `onRefused` is told why (for a log line
 * or a metric); it gets no request data.
 */
export function guardSession(
  session: ServerHttp2Session,
  l: Http2Limits,
  onRefused: ((why: Http2Refusal, session: ServerHttp2Session) => void) | null,
): void {
  let ending = false;
  /** Highest stream the client opened: the GOAWAY names it as the last one processed. */
  let lastStream = 0;
  const end = (why: Http2Refusal, code: number): void => {
    if (ending || session.destroyed) return;
    ending = true;
    onRefused?.(why, session);
    // GOAWAY first, while the session still writes normally (destroy() alone can lose it over
    // a JS stream socket); new streams are refused from now on. Then, a moment later, the open
    // streams are reset and the connection closed.
    session.goaway(code, lastStream);
    const grace = setTimeout(() => {
      if (!session.destroyed) session.destroy(new Error(`HTTP/2 session ended by the gateway: ${why}`), code);
    }, GOAWAY_GRACE_MS);
    grace.unref();
  };

  let timer: NodeJS.Timeout | null = null;
  if (l.settingsTimeout > 0) {
    let remote = false;
    let acked = false;
    const done = (): void => {
      if (remote && acked && timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    };
    timer = setTimeout(() => end('settings-timeout', constants.NGHTTP2_SETTINGS_TIMEOUT), l.settingsTimeout);
    session.once('remoteSettings', () => {
      remote = true;
      done();
    });
    session.once('localSettings', () => {
      acked = true;
      done();
    });
  }

  // Token bucket over the streams the client reset before their response ended.
  let tokens = l.resetBurst;
  let last = Date.now();
  const spend = (): void => {
    const now = Date.now();
    tokens = Math.min(l.resetBurst, tokens + ((now - last) / 1000) * l.resetRate);
    last = now;
    if (tokens >= 1) tokens -= 1;
    else end('rapid-reset', constants.NGHTTP2_ENHANCE_YOUR_CALM);
  };
  const onAborted = function (this: ServerHttp2Stream): void {
    // 'aborted' also follows the server's own destroy(); then the stream is already destroyed.
    // A reset from the client arrives with the stream still alive (node's onStreamClose).
    if (!this.destroyed) spend();
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    if (stream.id !== undefined && stream.id > lastStream) lastStream = stream.id;
    // Over a JS stream (the adapter's replay stream, TLS), node processes a whole read before
    // it emits 'stream': HEADERS and RST_STREAM in one read give a stream already aborted.
    if (stream.aborted) spend();
    else stream.once('aborted', onAborted);
  });
  session.once('close', () => {
    if (timer !== null) clearTimeout(timer);
  });
}
