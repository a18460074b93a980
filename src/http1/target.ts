/**
 * The request target and the Host field as HTTP/1.1 defines them
 * (RFC 9112 §3.2, RFC 9110 §7.2), shared by the gateway's own parser
 * (request-head.ts) and the entry point, which applies the same rules to
 * what node:http parsed:
 *
 * - an absolute-form target (`GET http://a.test/x`) names the host: its
 *   authority replaces Host and the request goes on in origin-form
 *   (RFC 9112 §3.2.2);
 * - a Host value is `host [ ":" port ]` with a DNS-style name, an IPv4
 *   address or a bracketed IPv6 literal; anything else (a space, a comma,
 *   a `/`, userinfo) is refused with 400 (RFC 9112 §3.2).
 */

/** Bytes of a host name the gateway accepts: letters, digits, `-`, `.`, `_`, `~` (RFC 3986 unreserved). */
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  NAME[c] =
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
      ? 1
      : 0;
}

/**
 * A Host field value the gateway accepts: '' (allowed when the target has no
 * authority, RFC 9112 §3.2), or a host name / IPv4 address / `[IPv6]`, with
 * an optional port of at most 5 digits. Sub-delimiters (`,` `;` `!` …), which
 * RFC 3986 allows in a reg-name but no DNS name holds, are refused: a comma
 * is the sign of two Host values combined into one.
 */
export function isValidHost(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  let i = 0;
  if (v.charCodeAt(0) === 0x5b /* [ */) {
    const close = v.indexOf(']');
    if (close < 3) return false;
    for (let k = 1; k < close; k++) {
      const c = v.charCodeAt(k);
      const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
      if (!hex && c !== 0x3a /* : */ && c !== 0x2e /* . */) return false;
    }
    i = close + 1;
  } else {
    while (i < n) {
      const c = v.charCodeAt(i);
      if (c === 0x3a) break;
      if (c >= 128 || NAME[c] !== 1) return false;
      i++;
    }
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (v.charCodeAt(i) !== 0x3a) return false;
  const digits = n - i - 1;
  if (digits > 5) return false; // an empty port is allowed (RFC 3986 §3.2.3)
  for (let k = i + 1; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** An absolute-form target split into the authority (the new Host) and the origin-form rest. */
export interface AbsoluteTarget {
  authority: string;
  /** Path and query, starting with '/' ('/' when the URI has no path). */
  path: string;
}

/**
 * Split an absolute-form target (`http://host[:port]/path?query`, scheme
 * `http` or `https` in any case). Returns null when `url` is not in
 * absolute-form, or a string saying why it is refused (no authority,
 * userinfo, an invalid host, another scheme).
 */
export function splitAbsoluteForm(url: string): AbsoluteTarget | string | null {
  const colon = url.indexOf(':');
  if (colon <= 0 || url.charCodeAt(0) === 0x2f) return null;
  const scheme = url.slice(0, colon).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return 'unsupported scheme in the request target';
  if (!url.startsWith('//', colon + 1)) return 'invalid absolute-form target';
  const as = colon + 3;
  let ae = as;
  while (ae < url.length) {
    const c = url.charCodeAt(ae);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    ae++;
  }
  const authority = url.slice(as, ae);
  if (authority.includes('@')) return 'userinfo in the request target';
  if (authority === '' || !isValidHost(authority)) return 'invalid host in the request target';
  let path = url.slice(ae);
  if (path === '' || path.charCodeAt(0) === 0x3f) path = `/${path}`;
  else if (path.charCodeAt(0) === 0x23) return 'fragment in the request target';
  return { authority, path };
}
