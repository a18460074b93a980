/**
 * Byte classes of HTTP/1.1 (RFC 9110 §5.6.2, §5.5) as lookup tables, shared
 * by the strict request and response parsers.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** tchar: bytes allowed in a method or a field name. */
export const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
  TCHAR[c] = ok ? 1 : 0;
}

/** field-vchar, SP, HTAB and obs-text: bytes allowed inside a field value. */
export const VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) VCHAR[c] = c === 0x09 || (c >= 0x20 && c !== 0x7f) ? 1 : 0;

/** Reason phrases the gateway writes. */
export const REASONS: Record<number, string> = Object.assign(Object.create(null) as Record<number, string>, {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information',
  204: 'No Content', 205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 300: 'Multiple Choices', 301: 'Moved Permanently',
  302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request',
  401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
  407: 'Proxy Authentication Required', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 411: 'Length Required',
  412: 'Precondition Failed', 413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable',
  417: 'Expectation Failed', 418: "I'm a Teapot", 421: 'Misdirected Request', 422: 'Unprocessable Entity', 425: 'Too Early',
  426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
});

const STATUS_LINES: string[] = [];
/** "HTTP/1.1 200 OK\r\n", cached per status. */
export function statusLine(status: number): string {
  let s = STATUS_LINES[status];
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`;
    if (status >= 100 && status < 1000) STATUS_LINES[status] = s;
  }
  return s;
}

/**
 * A fresh header object: a fast-mode object whose prototype chain has no
 * properties (so a field named `constructor` or `__proto__` reads as absent),
 * about ten times cheaper to fill than `Object.create(null)`, which starts in
 * dictionary mode.
 */
function HeaderBag(): void {}
HeaderBag.prototype = Object.create(null) as object;
const Bag = HeaderBag as unknown as new () => IncomingHttpHeaders;
export function newHeaders(): IncomingHttpHeaders {
  return new Bag();
}
