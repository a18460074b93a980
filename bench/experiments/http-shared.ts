/**
 * Fast-path study (bench/experiments): pieces shared by the raw-socket proxy
 * prototypes — hop-by-hop table, token tables, head serialisation, a strict
 * chunked-body decoder. Not part of the gateway; see docs/fast-path-study.md.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus the framing headers the proxy re-derives. */
export const HOP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  'transfer-encoding': true,
  te: true,
  trailer: true,
  upgrade: true,
  'proxy-authenticate': true,
  'proxy-authorization': true,
  'content-length': true, // re-emitted from the parsed framing, never copied verbatim
});

/** tchar (RFC 9110 §5.6.2) as a 0/1 table. */
export const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ok =
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
  TCHAR[c] = ok ? 1 : 0;
}

/** field-vchar / SP / HTAB / obs-text: bytes allowed inside a field value. */
export const VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) VCHAR[c] = c === 0x09 || (c >= 0x20 && c !== 0x7f) ? 1 : 0;

const REASONS: Record<number, string> = Object.assign(Object.create(null) as Record<number, string>, {
  200: 'OK', 201: 'Created', 204: 'No Content', 206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found',
  304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  413: 'Content Too Large', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
});

/** Precomputed status lines ("HTTP/1.1 200 OK\r\n"). */
const STATUS_LINES: string[] = [];
export function statusLine(status: number): string {
  let s = STATUS_LINES[status];
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`;
    if (status >= 100 && status < 600) STATUS_LINES[status] = s;
  }
  return s;
}

/** A complete, connection-closing error answer produced by the proxy itself. */
export function errorResponse(status: number): string {
  const body = REASONS[status] ?? 'Error';
  return `${statusLine(status)}content-type: text/plain\r\ncontent-length: ${body.length + 1}\r\nconnection: close\r\n\r\n${body}\n`;
}

/** Tokens of a Connection header value, lower-case; null when only keep-alive/close. */
export function connectionTokens(v: string): Record<string, true> | null {
  let out: Record<string, true> | null = null;
  for (const t of v.split(',')) {
    const x = t.trim().toLowerCase();
    if (x === '' || x === 'close' || x === 'keep-alive') continue;
    if (out === null) out = Object.create(null) as Record<string, true>;
    out[x] = true;
  }
  return out;
}

/** Request body framing as parsed. */
export const enum Body {
  None = 0,
  Length = 1,
  Chunked = 2,
  /** Response only: read until the upstream closes. */
  UntilClose = 3,
}

/** One parsed request, transport-neutral. `headers` is a flat [name, value, ...] list with raw names. */
export interface ProxyRequest {
  method: string;
  url: string;
  headers: string[];
  body: Body;
  contentLength: number;
  /** Client wants the connection kept after this exchange. */
  keepAlive: boolean;
  http10: boolean;
}

/**
 * Upstream request head: request line, end-to-end headers (hop-by-hop and those
 * named by Connection dropped), X-Forwarded-For appended, framing re-derived.
 */
export function upstreamHead(req: ProxyRequest, clientIp: string): string {
  const h = req.headers;
  let conn: Record<string, true> | null = null;
  let xff = '';
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    if (n.length === 10 && n.toLowerCase() === 'connection') {
      const t = connectionTokens(h[i + 1]!);
      if (t !== null) conn = conn === null ? t : Object.assign(conn, t);
    }
  }
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    const lower = n.toLowerCase();
    if (HOP[lower] === true || (conn !== null && conn[lower] === true)) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === '' ? h[i + 1]! : `${xff}, ${h[i + 1]!}`;
      continue;
    }
    head += `${n}: ${h[i + 1]!}\r\n`;
  }
  head += xff === '' ? `x-forwarded-for: ${clientIp}\r\n` : `x-forwarded-for: ${xff}, ${clientIp}\r\n`;
  if (req.body === Body.Length) head += `content-length: ${req.contentLength}\r\n\r\n`;
  else if (req.body === Body.Chunked) head += 'transfer-encoding: chunked\r\n\r\n';
  else head += '\r\n';
  return head;
}

/**
 * Downstream response head from the upstream's status and headers. `noBody`:
 * the request was HEAD or the status is 204/304, so the upstream's
 * Content-Length (if any) describes a body that is not sent and is copied as is.
 */
export function downstreamHead(status: number, h: string[], body: Body, contentLength: number, close: boolean, http10: boolean, noBody: boolean): string {
  let conn: Record<string, true> | null = null;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    if (n.length === 10 && n.toLowerCase() === 'connection') {
      const t = connectionTokens(h[i + 1]!);
      if (t !== null) conn = conn === null ? t : Object.assign(conn, t);
    }
  }
  let head = statusLine(status);
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    const lower = n.toLowerCase();
    if (HOP[lower] === true || (conn !== null && conn[lower] === true)) {
      if (!(noBody && lower === 'content-length')) continue;
    }
    head += `${n}: ${h[i + 1]!}\r\n`;
  }
  if (noBody) {
    /* framing copied above */
  } else if (body === Body.None) head += 'content-length: 0\r\n';
  else if (body === Body.Length) head += `content-length: ${contentLength}\r\n`;
  else if (body !== Body.None && !http10) head += 'transfer-encoding: chunked\r\n';
  if (close) head += 'connection: close\r\n';
  else if (http10) head += 'connection: keep-alive\r\n';
  return head + '\r\n';
}

const CRLF = Buffer.from('\r\n');
/** Chunk framing for one piece of a re-chunked body. */
export function chunkPrefix(n: number): string {
  return `${n.toString(16)}\r\n`;
}
export { CRLF };
export const LAST_CHUNK = '0\r\n\r\n';

/**
 * Strict chunked decoder (RFC 9112 §7.1): hex size (≤ 12 digits), extensions
 * skipped but bounded, CRLF required everywhere (no bare LF), trailers read
 * and discarded (bounded). Data is handed out as slices of the input.
 */
export class ChunkedDecoder {
  private state = 0; // 0 size, 1 ext, 2 size LF, 3 data, 4 data CR, 5 data LF, 6 trailer line, 7 trailer LF, 8 done
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private lineEmpty = true;
  error: string | null = null;

  reset(): void {
    this.state = 0;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.lineEmpty = true;
    this.error = null;
  }

  get done(): boolean {
    return this.state === 8;
  }

  /**
   * Feed buf[start..]; calls onData for each data slice. Returns the offset
   * where decoding stopped (end of the body, or buf.length); -1 on error.
   */
  feed(buf: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    let i = start;
    const len = buf.length;
    while (i < len) {
      const c = buf[i]!;
      switch (this.state) {
        case 0: {
          let v = -1;
          if (c >= 0x30 && c <= 0x39) v = c - 0x30;
          else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
          else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
          if (v >= 0) {
            if (++this.digits > 12) return this.fail('chunk size too large');
            this.size = this.size * 16 + v;
            i++;
            continue;
          }
          if (this.digits === 0) return this.fail('bad chunk size');
          if (c === 0x0d) this.state = 2;
          else if (c === 0x3b /* ; */) this.state = 1;
          else return this.fail('bad chunk size');
          i++;
          continue;
        }
        case 1:
          if (c === 0x0d) this.state = 2;
          else if (c === 0x0a || ++this.lineBytes > 1024) return this.fail('bad chunk extension');
          i++;
          continue;
        case 2:
          if (c !== 0x0a) return this.fail('expected LF');
          i++;
          this.digits = 0;
          this.lineBytes = 0;
          if (this.size === 0) {
            this.state = 6;
            this.lineEmpty = true;
          } else this.state = 3;
          continue;
        case 3: {
          const n = Math.min(this.size, len - i);
          onData(buf.subarray(i, i + n));
          this.size -= n;
          i += n;
          if (this.size === 0) this.state = 4;
          continue;
        }
        case 4:
          if (c !== 0x0d) return this.fail('expected CR after chunk');
          this.state = 5;
          i++;
          continue;
        case 5:
          if (c !== 0x0a) return this.fail('expected LF after chunk');
          this.state = 0;
          i++;
          continue;
        case 6:
          if (++this.trailerBytes > 8192) return this.fail('trailers too large');
          if (c === 0x0d) this.state = 7;
          else if (c === 0x0a) return this.fail('bare LF in trailers');
          else this.lineEmpty = false;
          i++;
          continue;
        case 7:
          if (c !== 0x0a) return this.fail('expected LF in trailers');
          i++;
          if (this.lineEmpty) {
            this.state = 8;
            return i;
          }
          this.state = 6;
          this.lineEmpty = true;
          continue;
        default:
          return i;
      }
    }
    return i;
  }

  private fail(msg: string): number {
    this.error = msg;
    return -1;
  }
}
