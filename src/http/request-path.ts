/**
 * The request path as the entry point hands it to routers, middlewares and
 * the backend (Traefik v3's `normalizePath` and `sanitizePath` handlers):
 *
 * - normalize (always): a percent-encoded unreserved character (`%41` → `A`,
 *   `%2E` → `.`, RFC 3986 §2.3) is decoded, any other escape is upper-cased
 *   (§6.2.2.1); an invalid escape is refused (Go's server answers 400);
 * - sanitize (`entryPoints.<name>.http.sanitizePath`, default true): dot
 *   segments are resolved and repeated slashes merged (RFC 3986 §5.2.4,
 *   Go's `path.Clean`, a trailing slash kept), so `/public/../deny`,
 *   `/public/%2e%2e/deny` and `//deny` are matched, and forwarded, as `/deny`.
 *
 * Both return the input itself when there is nothing to change: no
 * allocation on the common path.
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA DIGIT - . _ ~ */
function unreserved(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
  );
}

const HEX = '0123456789ABCDEF';

/** Decode escaped unreserved characters, upper-case other escapes; null for an invalid escape (`%zz`, a `%` at the end). */
export function normalizePath(raw: string): string | null {
  let at = raw.indexOf('%');
  if (at < 0) return raw;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const h = at + 2 < raw.length ? hexValue(raw.charCodeAt(at + 1)) : -1;
    const l = h >= 0 ? hexValue(raw.charCodeAt(at + 2)) : -1;
    if (l < 0) return null;
    const c = h * 16 + l;
    out += raw.slice(from, at);
    out += unreserved(c) ? String.fromCharCode(c) : `%${HEX[h]}${HEX[l]}`;
    from = at + 3;
    at = raw.indexOf('%', from);
  }
  out += raw.slice(from);
  return out === raw ? raw : out;
}

/** Whether `p` holds a dot segment or an empty one (`//`): only then does sanitizePath change it. */
function needsCleaning(p: string): boolean {
  if (p.includes('//')) return true;
  let at = p.indexOf('/.');
  while (at >= 0) {
    const n = p.charCodeAt(at + 2);
    // "/." then "/", end, or ".": a "." or ".." segment.
    if (Number.isNaN(n) || n === 0x2f) return true;
    if (n === 0x2e) {
      const m = p.charCodeAt(at + 3);
      if (Number.isNaN(m) || m === 0x2f) return true;
    }
    at = p.indexOf('/.', at + 1);
  }
  return false;
}

/**
 * Resolve `.` and `..` segments and merge repeated slashes in an absolute
 * path (Go's `url.URL.JoinPath()`, which Traefik's sanitizePath calls:
 * `path.Clean`, then the trailing slash of the input kept). A `..` above the
 * root stays at the root.
 */
export function sanitizePath(p: string): string {
  if (p.charCodeAt(0) !== 0x2f || !needsCleaning(p)) return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let r = `/${out.join('/')}`;
  if (p.endsWith('/') && r !== '/') r += '/';
  return r;
}
