/**
 * The request side of HTTP/1.1 as the gateway writes it to an origin (the
 * raw pool, src/upstream/raw/): the request line and header section, with
 * the framing derived from the body, never from the caller's headers. Names
 * and values are checked with the same rules as the server's response writer
 * (tokens.ts), so no caller can split a header or smuggle a second request.
 */
import type { Dispatcher } from 'undici';
import { INVALID_VALUE_CHAR, isToken } from './tokens.js';

/** Request line and header section, with framing derived from the body. Throws TypeError on unsafe input. */
export function requestHead(
  o: Dispatcher.DispatchOptions,
  defaultHost: string,
  bodyLength: number,
  stream: boolean,
): { head: string; declared: number } {
  const method = o.method;
  if (!isToken(method)) throw new TypeError(`invalid request method ${JSON.stringify(method)}`);
  const path = o.path;
  for (let k = 0; k < path.length; k++) {
    const c = path.charCodeAt(k);
    if (c < 0x21 || c > 0xff) throw new TypeError('invalid request path');
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let declared = -1;
  const h = o.headers;
  if (h !== null && h !== undefined) {
    if (Array.isArray(h) || typeof (h as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
      throw new TypeError('request headers must be a plain object');
    }
    const rec = h as Record<string, string | string[] | undefined>;
    for (const name in rec) {
      const v = rec[name];
      if (v === undefined) continue;
      if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
      const n = name.length;
      const lower = n === 4 || n === 14 || n === 17 ? name.toLowerCase() : name;
      if (lower === 'content-length') {
        // Framing is ours: only a stream body's declared length is used.
        declared = declaredLength(v, declared);
        continue;
      }
      if (lower === 'transfer-encoding') continue;
      if (lower === 'host') hasHost = true;
      if (typeof v === 'string') head += `${name}: ${checkValue(name, v)}\r\n`;
      else if (Array.isArray(v)) for (const x of v) head += `${name}: ${checkValue(name, x)}\r\n`;
      else throw new TypeError(`invalid value for header ${name}`);
    }
  }
  if (!hasHost) head += `host: ${defaultHost}\r\n`;
  if (stream) {
    head += declared >= 0 ? `content-length: ${declared}\r\n\r\n` : 'transfer-encoding: chunked\r\n\r\n';
  } else if (bodyLength > 0 || (bodyLength === 0 && (method === 'POST' || method === 'PUT' || method === 'PATCH'))) {
    head += `content-length: ${bodyLength}\r\n\r\n`;
  } else head += '\r\n';
  return { head, declared: stream ? declared : -1 };
}

/** A value that would let a caller inject a header or a second request (CR, LF, NUL, other controls, > 0xff) is refused. */
function checkValue(name: string, v: string): string {
  if (typeof v !== 'string') throw new TypeError(`invalid value for header ${name}`);
  if (INVALID_VALUE_CHAR.test(v)) throw new TypeError(`invalid character in header ${name}`);
  return v;
}

function declaredLength(v: string | string[], prev: number): number {
  let n = prev;
  for (const x of Array.isArray(v) ? v : [v]) {
    if (typeof x !== 'string' || x.length === 0 || x.length > 15) throw new TypeError('invalid content-length header');
    for (let k = 0; k < x.length; k++) {
      const c = x.charCodeAt(k);
      if (c < 0x30 || c > 0x39) throw new TypeError('invalid content-length header');
    }
    const m = Number(x);
    if (n !== -1 && n !== m) throw new TypeError('conflicting content-length headers');
    n = m;
  }
  return n;
}
