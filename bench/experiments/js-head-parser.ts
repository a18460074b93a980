/**
 * Fast-path study: strict JS parsers for an HTTP/1.1 request head and
 * response head. The head (without the final CRLF CRLF) arrives as one
 * latin1 string; tokens are validated byte by byte against tables, and
 * everything a secure proxy must refuse is refused (RFC 9112 §2.2, §3, §5, §6):
 * bare LF/CR, obs-fold, whitespace before ':', invalid tokens/values,
 * Content-Length + Transfer-Encoding, conflicting Content-Length, unknown
 * transfer codings, missing/duplicate Host.
 */
import { Body, TCHAR, VCHAR, type ProxyRequest } from './http-shared.js';

export const MAX_HEADERS = 100;

/** Parse "name: value" lines from s[pos..end) into out (flat). Returns an error reason or null. */
function parseFields(s: string, pos: number, end: number, out: string[]): string | null {
  let count = 0;
  while (pos < end) {
    // pos is at the start of a line (right after CRLF)
    const c0 = s.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) return 'obs-fold';
    let i = pos;
    while (i < end && TCHAR[s.charCodeAt(i)] === 1) i++;
    if (i === pos || i >= end || s.charCodeAt(i) !== 0x3a /* : */) return 'bad header name';
    const name = s.slice(pos, i);
    i++;
    while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    const vs = i;
    let ve = i;
    for (;;) {
      if (i >= end) break;
      const c = s.charCodeAt(i);
      if (c === 0x0d) {
        if (s.charCodeAt(i + 1) !== 0x0a) return 'bare CR';
        break;
      }
      if (VCHAR[c] !== 1) return c === 0x0a ? 'bare LF' : 'bad header value';
      i++;
      if (c !== 0x20 && c !== 0x09) ve = i;
    }
    if (++count > MAX_HEADERS) return 'too many headers';
    out.push(name, s.slice(vs, ve));
    pos = i + 2;
  }
  return null;
}

/** Outcome of a request-head parse: the request, or an HTTP status to refuse it with. */
export type HeadResult = ProxyRequest | number;

/** s = the request head without its final CRLF CRLF. */
export function parseRequestHead(s: string): HeadResult {
  const end = s.length;
  // method
  let i = 0;
  while (i < end && TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === 0 || s.charCodeAt(i) !== 0x20) return 400;
  const method = s.slice(0, i);
  const ts = ++i;
  // request-target: visible ASCII only; origin-form, or '*' for OPTIONS
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) break;
    i++;
  }
  if (i === ts || s.charCodeAt(i) !== 0x20) return 400;
  const url = s.slice(ts, i);
  const first = url.charCodeAt(0);
  if (first !== 0x2f /* / */ && !(url === '*' && method === 'OPTIONS')) return 400;
  i++;
  const lineEnd = i + 8;
  if (lineEnd > end || (lineEnd !== end && (s.charCodeAt(lineEnd) !== 0x0d || s.charCodeAt(lineEnd + 1) !== 0x0a))) return 400;
  const version = s.slice(i, lineEnd);
  let http10 = false;
  if (version === 'HTTP/1.0') http10 = true;
  else if (version !== 'HTTP/1.1') return version.startsWith('HTTP/') ? 505 : 400;
  const headers: string[] = [];
  const err = lineEnd === end ? null : parseFields(s, lineEnd + 2, end, headers);
  if (err !== null) return err === 'too many headers' ? 431 : 400;

  let host = 0;
  let cl = -1;
  let te: string | null = null;
  let keepAlive = !http10;
  for (let k = 0; k < headers.length; k += 2) {
    const n = headers[k]!;
    const len = n.length;
    if (len !== 4 && len !== 10 && len !== 14 && len !== 17) continue;
    const lower = n.toLowerCase();
    const v = headers[k + 1]!;
    if (lower === 'host') host++;
    else if (lower === 'content-length') {
      if (v.length === 0 || v.length > 15) return 400;
      for (let j = 0; j < v.length; j++) {
        const c = v.charCodeAt(j);
        if (c < 0x30 || c > 0x39) return 400; // also refuses "1, 1" lists
      }
      const x = Number(v);
      if (cl !== -1 && cl !== x) return 400;
      cl = x;
    } else if (lower === 'transfer-encoding') {
      te = te === null ? v : `${te}, ${v}`;
    } else if (lower === 'connection') {
      const t = v.toLowerCase();
      if (t.includes('close')) keepAlive = false;
      else if (http10 && t.includes('keep-alive')) keepAlive = true;
    }
  }
  if (!http10 && host !== 1) return 400;
  if (host > 1) return 400;
  let body = Body.None;
  if (te !== null) {
    if (cl !== -1 || http10) return 400; // CL + TE is a smuggling vector: refuse, never guess
    if (te.toLowerCase() !== 'chunked') return 501; // only a lone "chunked" is accepted
    body = Body.Chunked;
  } else if (cl > 0) body = Body.Length;
  return { method, url, headers, body, contentLength: cl > 0 ? cl : 0, keepAlive, http10 };
}

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  headers: string[];
  body: Body;
  contentLength: number;
  /** Upstream allows reuse of the connection. */
  keepAlive: boolean;
}

/** s = the response head without its final CRLF CRLF; `head` = the request was HEAD. Null when malformed. */
export function parseResponseHead(s: string, head: boolean): ResponseHead | null {
  const end = s.length;
  if (end < 12 || !s.startsWith('HTTP/1.')) return null;
  const minor = s.charCodeAt(7);
  if ((minor !== 0x30 && minor !== 0x31) || s.charCodeAt(8) !== 0x20) return null;
  const d0 = s.charCodeAt(9) - 0x30;
  const d1 = s.charCodeAt(10) - 0x30;
  const d2 = s.charCodeAt(11) - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
  const status = d0 * 100 + d1 * 10 + d2;
  let i = 12;
  // reason phrase: anything visible up to CRLF
  while (i < end && s.charCodeAt(i) !== 0x0d) {
    if (VCHAR[s.charCodeAt(i)] !== 1) return null;
    i++;
  }
  const headers: string[] = [];
  if (i < end) {
    if (s.charCodeAt(i + 1) !== 0x0a) return null;
    if (parseFields(s, i + 2, end, headers) !== null) return null;
  }
  let cl = -1;
  let te: string | null = null;
  let keepAlive = minor === 0x31;
  for (let k = 0; k < headers.length; k += 2) {
    const n = headers[k]!;
    const len = n.length;
    if (len !== 10 && len !== 14 && len !== 17) continue;
    const lower = n.toLowerCase();
    const v = headers[k + 1]!;
    if (lower === 'content-length') {
      if (v.length === 0 || v.length > 15) return null;
      for (let j = 0; j < v.length; j++) {
        const c = v.charCodeAt(j);
        if (c < 0x30 || c > 0x39) return null;
      }
      const x = Number(v);
      if (cl !== -1 && cl !== x) return null;
      cl = x;
    } else if (lower === 'transfer-encoding') te = te === null ? v : `${te}, ${v}`;
    else if (lower === 'connection') {
      const t = v.toLowerCase();
      if (t.includes('close')) keepAlive = false;
      else if (t.includes('keep-alive')) keepAlive = true;
    }
  }
  let body: Body;
  if (head || status < 200 || status === 204 || status === 304) body = Body.None;
  else if (te !== null) {
    if (cl !== -1) return null;
    if (te.toLowerCase() !== 'chunked') {
      body = Body.UntilClose;
      keepAlive = false;
    } else body = Body.Chunked;
  } else if (cl >= 0) body = cl === 0 ? Body.None : Body.Length;
  else {
    body = Body.UntilClose;
    keepAlive = false;
  }
  return { status, headers, body, contentLength: cl > 0 ? cl : 0, keepAlive };
}
