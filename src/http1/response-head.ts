/**
 * Strict HTTP/1.x response-head parser for the raw upstream pool
 * (`src/upstream/raw/connection.ts`). The head, without its final CRLF CRLF,
 * arrives as one latin1 string and is checked byte by byte against the token
 * tables. The origin is only semi-trusted: a response whose framing could be
 * read two ways (RFC 9112 §6.3) is refused rather than guessed, because a
 * wrong guess desynchronises a kept-alive connection and hands one client's
 * bytes to another. Refused: a malformed status line, bare CR or LF, obs-fold,
 * whitespace before ':', invalid names and values, Content-Length with
 * Transfer-Encoding, conflicting or malformed Content-Length, any transfer
 * coding but a lone `chunked`, Transfer-Encoding in an HTTP/1.0 response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { decimalLength } from './request-head.js';
import { newHeaders, TCHAR, VCHAR } from './tokens.js';

/** Longest response head accepted (status line + fields), bytes. */
export const MAX_RESPONSE_HEAD = 64 * 1024;
/** More fields than this in one head (or trailer section) → refused. */
export const MAX_RESPONSE_FIELDS = 256;

export const enum ResponseBody {
  /** No body: HEAD request, 1xx, 204, 304, or Content-Length: 0. */
  None = 0,
  Length = 1,
  Chunked = 2,
  /** No framing: the body ends when the origin closes (the connection is not reused). */
  UntilClose = 3,
}

export interface ResponseHead {
  status: number;
  /** Reason phrase as sent ('' when none). */
  reason: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Lower-case names (null prototype); a repeated field becomes an array of its values, as undici reports it. */
  headers: IncomingHttpHeaders;
  body: ResponseBody;
  /** Body length when body is Length. */
  contentLength: number;
  /** The origin allows the connection to be reused after this response. */
  keepAlive: boolean;
  /** `Keep-Alive: timeout=N` hint in ms, -1 when absent. */
  keepAliveHint: number;
}

/** Why a head was refused (for the error message). */
export interface ResponseHeadError {
  error: string;
}

function refuse(error: string): ResponseHeadError {
  return { error };
}

/** Add one field; a repetition turns the value into an array, as undici's parseHeaders does. */
function addField(h: IncomingHttpHeaders, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) h[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else h[name] = [prev, value];
}

/** True when the comma-separated list `lower` (already lower-case) holds `token`. */
function hasToken(lower: string, token: string): boolean {
  if (lower === token) return true;
  if (lower.indexOf(token) < 0) return false;
  for (const t of lower.split(',')) if (t.trim() === token) return true;
  return false;
}

/**
 * Parse "name: value" lines from s[pos..end) into `out`. Returns a refusal
 * reason or null. Framing fields are collected by the caller from `out`.
 */
function parseFields(s: string, pos: number, end: number, out: IncomingHttpHeaders): string | null {
  let count = 0;
  while (pos < end) {
    const c0 = s.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) return 'obsolete line folding';
    let j = pos;
    while (j < end && TCHAR[s.charCodeAt(j)] === 1) j++;
    if (j === pos || j >= end || s.charCodeAt(j) !== 0x3a /* : */) return 'invalid header name';
    const name = s.slice(pos, j).toLowerCase();
    j++;
    while (j < end && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j++;
    const vs = j;
    let ve = j;
    for (;;) {
      if (j >= end) break;
      const c = s.charCodeAt(j);
      if (c === 0x0d) {
        if (s.charCodeAt(j + 1) !== 0x0a) return 'bare CR';
        break;
      }
      if (VCHAR[c] !== 1) return c === 0x0a ? 'bare LF' : 'invalid header value';
      j++;
      if (c !== 0x20 && c !== 0x09) ve = j;
    }
    if (++count > MAX_RESPONSE_FIELDS) return 'too many header fields';
    addField(out, name, s.slice(vs, ve));
    pos = j + 2;
  }
  return null;
}

/**
 * Content-Length value of a response: decimal digits (leading zeros allowed), or a list of
 * identical such values (`42, 42`, which RFC 9110 §8.6 lets a recipient accept). -1 when
 * invalid or when the values differ.
 */
function contentLength(v: string): number {
  if (v.indexOf(',') < 0) return decimalLength(v);
  let n = -1;
  for (const part of v.split(',')) {
    const m = decimalLength(part.replace(/^[ \t]+|[ \t]+$/g, ''));
    if (m < 0 || (n !== -1 && m !== n)) return -1;
    n = m;
  }
  return n;
}

/** `timeout=N` (seconds) of a Keep-Alive header in ms, -1 when absent or invalid. */
function keepAliveHint(v: string): number {
  const at = v.toLowerCase().indexOf('timeout=');
  if (at < 0) return -1;
  let n = 0;
  let digits = 0;
  for (let k = at + 8; k < v.length; k++) {
    const d = v.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    if (++digits > 9) return -1;
  }
  return digits === 0 ? -1 : n * 1000;
}

/**
 * Parse a response head. `s` is the head without the final CRLF CRLF;
 * `headRequest`: the request was HEAD (no body whatever the framing says).
 */
export function parseResponseHead(s: string, headRequest: boolean): ResponseHead | ResponseHeadError {
  const end = s.length;
  if (end > MAX_RESPONSE_HEAD) return refuse('head too large');
  // "HTTP/1.x NNN" then SP reason, or nothing
  if (end < 12 || !s.startsWith('HTTP/1.')) return refuse('invalid status line');
  const minorCode = s.charCodeAt(7);
  if ((minorCode !== 0x30 && minorCode !== 0x31) || s.charCodeAt(8) !== 0x20) return refuse('invalid status line');
  const d0 = s.charCodeAt(9) - 0x30;
  const d1 = s.charCodeAt(10) - 0x30;
  const d2 = s.charCodeAt(11) - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return refuse('invalid status code');
  const status = d0 * 100 + d1 * 10 + d2;
  let i = 12;
  let reason = '';
  if (i < end && s.charCodeAt(i) !== 0x0d) {
    if (s.charCodeAt(i) !== 0x20) return refuse('invalid status line');
    const rs = ++i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x0d) break;
      if (VCHAR[c] !== 1) return refuse(c === 0x0a ? 'bare LF' : 'invalid reason phrase');
      i++;
    }
    reason = s.slice(rs, i);
  }
  const headers = newHeaders();
  if (i < end) {
    if (s.charCodeAt(i + 1) !== 0x0a) return refuse('bare CR');
    const err = parseFields(s, i + 2, end, headers);
    if (err !== null) return refuse(err);
  }

  const minor = minorCode - 0x30;
  let cl = -1;
  const clField = headers['content-length'];
  if (clField !== undefined) {
    // Repetitions are allowed only when they all agree (RFC 9110 §8.6).
    const all = Array.isArray(clField) ? clField : [clField];
    for (const v of all) {
      const n = contentLength(v);
      if (n < 0) return refuse('invalid content-length');
      if (cl !== -1 && cl !== n) return refuse('conflicting content-length');
      cl = n;
    }
    // One canonical value goes on (a list of identical values, leading zeros: RFC 9110 §8.6).
    if (all.length > 1 || all[0] !== String(cl)) headers['content-length'] = String(cl);
  }
  const teField = headers['transfer-encoding'];
  const te = teField === undefined ? null : Array.isArray(teField) ? teField.join(', ') : teField;
  const connField = headers.connection;
  const conn = connField === undefined ? null : (Array.isArray(connField) ? connField.join(', ') : connField).toLowerCase();
  let keepAlive = minor === 1;
  if (conn !== null) {
    if (hasToken(conn, 'close')) keepAlive = false;
    else if (minor === 0 && hasToken(conn, 'keep-alive')) keepAlive = true;
  }
  const kaField = headers['keep-alive'];
  const hint = kaField === undefined ? -1 : keepAliveHint(Array.isArray(kaField) ? kaField.join(', ') : kaField);

  let body: ResponseBody;
  if (te !== null) {
    // Content-Length with Transfer-Encoding is the classic smuggling vector: refuse, never pick one.
    if (cl !== -1) return refuse('content-length with transfer-encoding');
    if (minor === 0) return refuse('transfer-encoding in HTTP/1.0');
    // Another coding (gzip, "gzip, chunked") could not be undone, and forwarding it without the
    // hop-by-hop Transfer-Encoding header would hand the client bytes it cannot read.
    if (te.trim().toLowerCase() !== 'chunked') return refuse('unsupported transfer-encoding');
  }
  if (headRequest || status < 200 || status === 204 || status === 304) body = ResponseBody.None;
  else if (te !== null) body = ResponseBody.Chunked;
  else if (cl > 0) body = ResponseBody.Length;
  else if (cl === 0) body = ResponseBody.None;
  else {
    body = ResponseBody.UntilClose;
    keepAlive = false;
  }
  return { status, reason, minor, headers, body, contentLength: cl > 0 ? cl : 0, keepAlive, keepAliveHint: hint };
}

/**
 * Parse a chunked trailer section as kept by ChunkedDecoder (lines joined by
 * CRLF, no final empty line) into lower-case fields. The same strict rules as
 * for the head apply.
 */
export function parseTrailers(s: string): IncomingHttpHeaders | ResponseHeadError {
  const out = Object.create(null) as IncomingHttpHeaders;
  if (s.length === 0) return out;
  const err = parseFields(s, 0, s.length, out);
  return err === null ? out : refuse(err);
}
