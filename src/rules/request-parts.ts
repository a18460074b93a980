/**
 * Request-side helpers for matchers: the routing path (percent-decoded like
 * Go's URL.Path), query values (decoded like Go's url.ParseQuery) and header
 * values. They avoid allocating on the common path (no '%' in the path, plain
 * query keys, single-valued headers).
 */

let lastRawPath = '';
let lastDecodedPath = '';

/** The path as Go's URL.Path holds it: percent-decoded, only when a '%' is present. */
export function routingPath(raw: string): string {
  if (raw.indexOf('%') < 0) return raw;
  if (raw === lastRawPath) return lastDecodedPath;
  const decoded = percentDecode(raw, false, false) as string;
  lastRawPath = raw;
  lastDecodedPath = decoded;
  return decoded;
}

function hex(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/**
 * Percent-decode into UTF-8 text (invalid UTF-8 becomes U+FFFD). `strict`:
 * a malformed escape returns null (Go's QueryUnescape error); otherwise it is
 * kept as is.
 */
export function percentDecode(s: string, plusAsSpace: boolean, strict: boolean): string | null {
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b === 0x25) {
      const h = i + 2 < src.length ? hex(src[i + 1] as number) : -1;
      const l = h >= 0 ? hex(src[i + 2] as number) : -1;
      if (l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
      if (strict) return null;
    }
    out[n++] = b === 0x2b && plusAsSpace ? 0x20 : b;
  }
  return out.toString('utf8', 0, n);
}

/** The decoded query component in [start, end), or null when its escapes are malformed. */
function component(q: string, start: number, end: number): string | null {
  for (let i = start; i < end; i++) {
    const c = q.charCodeAt(i);
    if (c === 0x25 || c === 0x2b) return percentDecode(q.slice(start, end), true, true);
  }
  return q.slice(start, end);
}

/** Does [start, end) of q, once decoded, equal `text`? Allocation-free when no escapes are present. */
function componentEquals(q: string, start: number, end: number, text: string): boolean {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = q.charCodeAt(i);
    if (c === 0x25 || c === 0x2b) {
      plain = false;
      break;
    }
  }
  if (plain) return end - start === text.length && q.startsWith(text, start);
  return percentDecode(q.slice(start, end), true, true) === text;
}

function componentValid(q: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (q.charCodeAt(i) === 0x25) return component(q, start, end) !== null;
  return true;
}

/**
 * Walk the pairs of a raw query the way Go's url.ParseQuery does ('&'
 * separated, pairs with ';' or a malformed escape skipped) and report, for
 * the pairs whose key is `key`, whether `test(value)` holds for one of them
 * (mode 'any') or for the first one (mode 'first'). `test` receives the
 * decoded value, or `valueEq` is compared without allocating.
 */
export function queryMatch(q: string, key: string, mode: 'any' | 'first', valueEq: string | null, test: RegExp | null): boolean {
  let pos = 0;
  const len = q.length;
  while (pos < len) {
    let amp = q.indexOf('&', pos);
    if (amp < 0) amp = len;
    const start = pos;
    pos = amp + 1;
    if (amp === start) continue;
    const semi = q.indexOf(';', start);
    if (semi >= 0 && semi < amp) continue;
    let eq = q.indexOf('=', start);
    if (eq < 0 || eq > amp) eq = amp;
    if (!componentEquals(q, start, eq, key)) continue;
    const vStart = eq < amp ? eq + 1 : amp;
    if (!componentValid(q, vStart, amp)) continue;
    let ok: boolean;
    if (valueEq !== null) ok = componentEquals(q, vStart, amp, valueEq);
    else if (test !== null) ok = test.test(component(q, vStart, amp) as string);
    else ok = true;
    if (ok) return true;
    if (mode === 'first') return false;
  }
  return false;
}

/** Node joins repeated header lines with ', ': is `value` the whole header or one of its items? */
export function headerHas(h: string | string[] | undefined, value: string): boolean {
  if (h === undefined) return false;
  if (typeof h !== 'string') {
    for (let i = 0; i < h.length; i++) if (h[i] === value) return true;
    return false;
  }
  if (h === value) return true;
  const n = value.length;
  if (h.length <= n) return false;
  let start = 0;
  for (;;) {
    const sep = h.indexOf(', ', start);
    const end = sep < 0 ? h.length : sep;
    if (end - start === n && h.startsWith(value, start)) return true;
    if (sep < 0) return false;
    start = sep + 2;
  }
}

/** Does the regexp match the whole header value or one of its ', '-joined items? */
export function headerMatches(h: string | string[] | undefined, re: RegExp): boolean {
  if (h === undefined) return false;
  if (typeof h !== 'string') {
    for (let i = 0; i < h.length; i++) if (re.test(h[i] as string)) return true;
    return false;
  }
  if (re.test(h)) return true;
  if (h.indexOf(', ') < 0) return false;
  const items = h.split(', ');
  for (let i = 0; i < items.length; i++) if (re.test(items[i] as string)) return true;
  return false;
}
