/**
 * Byte classes of HTTP/1.1 (RFC 9110 §5.6.2, §5.5) as lookup tables, shared
 * by the strict request and response parsers, and the checks both writers
 * (requests upstream, responses to clients) apply before writing a field.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** tchar: bytes allowed in a method or a field name. */
export const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ok =
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
  TCHAR[c] = ok ? 1 : 0;
}

/** field-vchar, SP, HTAB and obs-text: bytes allowed inside a field value. */
export const VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) VCHAR[c] = c === 0x09 || (c >= 0x20 && c !== 0x7f) ? 1 : 0;

/**
 * A character no field value may carry when the gateway writes one (CR, LF,
 * NUL, other controls, DEL, anything above 0xff): such a value could split a
 * header or a message. The complement of VCHAR as one regular expression,
 * which V8 runs faster than a loop over VCHAR for short values. Shared by the
 * response writer (src/server/h1/writer.ts) and the request writer
 * (request-writer.ts); each throws its own message.
 */
export const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** A method or a field name the gateway may write: one or more tchar. */
export function isToken(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0) return false;
  for (let k = 0; k < s.length; k++) if (TCHAR[s.charCodeAt(k)] !== 1) return false;
  return true;
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
