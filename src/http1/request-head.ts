/**
 * Strict HTTP/1.1 request-head parser for the gateway's own HTTP/1 server
 * (`src/server/h1/`). The head, without its final CRLF CRLF, arrives as one
 * latin1 string and is checked byte by byte against the token tables.
 * Everything a proxy must refuse to stay safe from request smuggling
 * (RFC 9112 §2.2, §3, §5, §6.1, §6.3) is refused rather than guessed:
 * bare CR or LF, obs-fold, whitespace before ':', invalid tokens and values,
 * Content-Length together with Transfer-Encoding, conflicting or malformed
 * Content-Length, any transfer coding but a lone `chunked`, a missing or
 * repeated Host, an invalid Host value (RFC 9112 §3.2), CONNECT (501) and an
 * expectation other than 100-continue (417). An absolute-form target is
 * turned into origin-form and its authority replaces Host (RFC 9112 §3.2.2);
 * `Upgrade: h2c` is dropped (RFC 9113 §3.1: the h2c upgrade is obsolete).
 * Requests the fast path does not serve itself (other upgrades) are flagged
 * for node:http.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isValidHost, splitAbsoluteForm } from './target.js';
import { newHeaders, TCHAR, VCHAR } from './tokens.js';

/** More fields than this in one head → 431. */
export const MAX_HEADER_FIELDS = 256;

export const enum BodyKind {
  None = 0,
  Length = 1,
  Chunked = 2,
}

export interface RequestHead {
  method: string;
  /** Request target in origin-form (an absolute-form target is converted), or `*` for `OPTIONS *`. */
  url: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and for a higher 1.x minor version, served as 1.1: RFC 9110 §2.5). */
  minor: number;
  /** Lower-case names; repeated fields combined as node:http does (see addField). */
  headers: IncomingHttpHeaders;
  body: BodyKind;
  /** Body length when body is Length. */
  contentLength: number;
  /** The client allows the connection to be reused after this exchange. */
  keepAlive: boolean;
  /** `Expect: 100-continue` in an HTTP/1.1 request: send 100 Continue before reading the body (RFC 9110 §10.1.1). */
  expectContinue: boolean;
  /** The request needs a feature served by node:http (an Upgrade other than h2c): the connection is handed over. */
  fallback: boolean;
}

/** Why a head was refused: the status to answer with and a short reason (for logs and tests). */
export interface HeadError {
  status: 400 | 417 | 431 | 501 | 505;
  reason: string;
}

function fail(status: HeadError['status'], reason: string): HeadError {
  return { status, reason };
}

/** Fields whose repetitions node:http drops (the first one wins). */
const SINGLE: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  'content-type': true,
  'content-length': true,
  'user-agent': true,
  referer: true,
  host: true,
  authorization: true,
  'proxy-authorization': true,
  'if-modified-since': true,
  'if-unmodified-since': true,
  from: true,
  location: true,
  'max-forwards': true,
  'retry-after': true,
  etag: true,
  'last-modified': true,
  server: true,
  age: true,
  expires: true,
});

/** Add one field the way node:http's IncomingMessage does, so middlewares see the same shape on every path. */
export function addField(h: IncomingHttpHeaders, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) {
    h[name] = name === 'set-cookie' ? [value] : value;
    return;
  }
  if (SINGLE[name] === true) return;
  if (Array.isArray(prev)) prev.push(value);
  else if (name === 'cookie') h[name] = `${prev}; ${value}`;
  else h[name] = `${prev}, ${value}`;
}

/** True when the comma-separated list `v` holds `token` (case-insensitive). */
export function hasToken(v: string, token: string): boolean {
  const lower = v.toLowerCase();
  if (lower === token) return true;
  if (lower.indexOf(token) < 0) return false;
  for (const t of lower.split(',')) if (trimOws(t) === token) return true;
  return false;
}

/** Strip optional whitespace (SP and HTAB only, RFC 9110 §5.6.3; not String#trim's wider set). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Parse a request head. `s` is the head without the final CRLF CRLF.
 * Returns the request or why it is refused.
 */
export function parseRequestHead(s: string): RequestHead | HeadError {
  const end = s.length;
  let i = 0;
  while (i < end && TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === 0 || s.charCodeAt(i) !== 0x20) return fail(400, 'invalid method');
  const method = s.slice(0, i);
  const ts = ++i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) break;
    i++;
  }
  if (i === ts || s.charCodeAt(i) !== 0x20) return fail(400, 'invalid request target');
  let url = s.slice(ts, i);
  i++;
  const lineEnd = i + 8;
  if (lineEnd > end || (lineEnd !== end && (s.charCodeAt(lineEnd) !== 0x0d || s.charCodeAt(lineEnd + 1) !== 0x0a)))
    return fail(400, 'invalid request line');
  if (s.charCodeAt(i) !== 0x48 || !s.startsWith('HTTP/1.', i))
    return s.startsWith('HTTP/', i) ? fail(505, 'unsupported HTTP version') : fail(400, 'invalid HTTP version');
  const minorCode = s.charCodeAt(i + 7);
  if (minorCode < 0x30 || minorCode > 0x39) return fail(400, 'invalid HTTP version');
  // A higher minor version of HTTP/1 is served as the highest one implemented (RFC 9110 §2.5).
  const minor = minorCode === 0x30 ? 0 : 1;
  if (method === 'CONNECT') return fail(501, 'CONNECT is not supported');
  let authority: string | null = null;
  const c0 = url.charCodeAt(0);
  if (c0 !== 0x2f /* / */) {
    if (url === '*') {
      // asterisk-form is for OPTIONS only (RFC 9112 §3.2.4).
      if (method !== 'OPTIONS') return fail(400, 'asterisk-form target with a method other than OPTIONS');
    } else {
      const abs = splitAbsoluteForm(url);
      if (abs === null) return fail(400, 'invalid request target');
      if (typeof abs === 'string') return fail(400, abs);
      authority = abs.authority;
      url = abs.path;
    }
  }

  const headers = newHeaders();
  let count = 0;
  let hosts = 0;
  let cl = -1;
  let te: string | null = null;
  let connection: string | null = null;
  let expect: string | null = null;
  let upgrade = false;
  let hostValue = '';
  let pos = lineEnd + 2;
  while (pos < end) {
    const c0 = s.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) return fail(400, 'obsolete line folding');
    let j = pos;
    while (j < end && TCHAR[s.charCodeAt(j)] === 1) j++;
    if (j === pos || j >= end || s.charCodeAt(j) !== 0x3a /* : */) return fail(400, 'invalid header name');
    const name = s.slice(pos, j).toLowerCase();
    j++;
    while (j < end && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j++;
    const vs = j;
    let ve = j;
    for (;;) {
      if (j >= end) break;
      const c = s.charCodeAt(j);
      if (c === 0x0d) {
        if (s.charCodeAt(j + 1) !== 0x0a) return fail(400, 'bare CR');
        break;
      }
      if (VCHAR[c] !== 1) return fail(400, c === 0x0a ? 'bare LF' : 'invalid header value');
      j++;
      if (c !== 0x20 && c !== 0x09) ve = j;
    }
    if (++count > MAX_HEADER_FIELDS) return fail(431, 'too many header fields');
    const value = s.slice(vs, ve);
    pos = j + 2;
    // Framing and connection-management fields are checked on the way.
    switch (name.length) {
      case 4:
        if (name === 'host') {
          hosts++;
          hostValue = value;
        }
        break;
      case 6:
        if (name === 'expect') expect = expect === null ? value : `${expect}, ${value}`;
        break;
      case 7:
        if (name === 'upgrade') upgrade = true;
        break;
      case 10:
        if (name === 'connection') connection = connection === null ? value : `${connection}, ${value}`;
        break;
      case 14:
        if (name === 'content-length') {
          const n = decimalLength(value); // also refuses "1, 1"
          if (n < 0) return fail(400, 'invalid content-length');
          if (cl !== -1 && cl !== n) return fail(400, 'conflicting content-length');
          cl = n;
        }
        break;
      case 17:
        if (name === 'transfer-encoding') te = te === null ? value : `${te}, ${value}`;
        break;
      default:
    }
    if (headers[name] === undefined && name !== 'set-cookie') headers[name] = value;
    else addField(headers, name, value);
  }
  if (hosts > 1) return fail(400, 'repeated host');
  if (hosts === 0 && minor === 1) return fail(400, 'missing host');
  if (hosts === 1 && !isValidHost(hostValue)) return fail(400, 'invalid host');
  // The target's authority wins over Host and replaces it (RFC 9112 §3.2.2).
  if (authority !== null) headers.host = authority;
  // Forwarded in canonical form (leading zeros dropped), the one length every hop reads.
  if (cl !== -1 && headers['content-length'] !== String(cl)) headers['content-length'] = String(cl);
  let body = BodyKind.None;
  if (te !== null) {
    // Content-Length with Transfer-Encoding is the classic smuggling vector: refuse, never pick one.
    if (cl !== -1) return fail(400, 'content-length with transfer-encoding');
    if (minor === 0) return fail(400, 'transfer-encoding in HTTP/1.0');
    const why = transferCoding(te);
    if (why !== null) return why;
    body = BodyKind.Chunked;
  } else if (cl > 0) body = BodyKind.Length;
  let expectContinue = false;
  if (expect !== null && minor === 1) {
    // An HTTP/1.0 request's expectation is ignored (RFC 9110 §10.1.1).
    if (expect.toLowerCase() !== '100-continue') return fail(417, 'unsupported expectation');
    expectContinue = true;
  }
  let fallback = false;
  if (upgrade) {
    // The h2c upgrade (RFC 7540 §3.2) is obsolete (RFC 9113 §3.1): the request is served as HTTP/1.1,
    // and neither the offer nor its settings reach the origin. Any other protocol goes to node:http.
    const up = withoutToken(String(headers.upgrade), 'h2c');
    if (up === '') {
      delete headers.upgrade;
      delete headers['http2-settings'];
    } else {
      headers.upgrade = up;
      fallback = true;
    }
  }
  let keepAlive = minor === 1;
  if (connection !== null) {
    if (hasToken(connection, 'close')) keepAlive = false;
    else if (minor === 0 && hasToken(connection, 'keep-alive')) keepAlive = true;
  }
  return { method, url, minor, headers, body, contentLength: cl > 0 ? cl : 0, keepAlive, expectContinue, fallback };
}

/**
 * A Content-Length value: decimal digits only, leading zeros allowed (RFC 9110 §8.6),
 * at most 15 significant digits. -1 when invalid.
 */
export function decimalLength(v: string): number {
  const n = v.length;
  if (n === 0) return -1;
  let k = 0;
  while (k < n - 1 && v.charCodeAt(k) === 0x30) k++;
  if (n - k > 15) return -1;
  for (let j = k; j < n; j++) {
    const d = v.charCodeAt(j);
    if (d < 0x30 || d > 0x39) return -1;
  }
  return Number(v.slice(k));
}

/**
 * Check a request's Transfer-Encoding list: only a lone `chunked` is served.
 * `chunked` twice (RFC 9112 §6.1) or not last (§6.3) is malformed → 400;
 * another coding before `chunked` is one the gateway does not implement → 501.
 */
function transferCoding(te: string): HeadError | null {
  const codings = te.toLowerCase().split(',');
  let chunked = 0;
  for (let k = 0; k < codings.length; k++) {
    const c = trimOws(codings[k]!);
    codings[k] = c;
    if (c === 'chunked') chunked++;
  }
  if (chunked > 1) return fail(400, 'chunked applied more than once');
  if (codings[codings.length - 1] !== 'chunked') return fail(400, 'chunked is not the final transfer coding');
  if (codings.length > 1) return fail(501, 'unsupported transfer-encoding');
  return null;
}

/** The comma-separated list `v` without `token` (case-insensitive), re-joined with ", ". */
function withoutToken(v: string, token: string): string {
  const out: string[] = [];
  for (const t of v.split(',')) {
    const x = trimOws(t);
    if (x !== '' && x.toLowerCase() !== token) out.push(x);
  }
  return out.join(', ');
}
