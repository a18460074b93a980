/**
 * What a verified token changes in the request: claims copied into headers
 * (dotted paths, arrays joined by a comma) and the token removed when
 * `forwardToken` is false.
 */

/** A claim by exact name first (Azure claim names contain dots), then by dotted path. */
export function claimByPath(claims: Record<string, unknown>, path: string): unknown {
  const direct = claims[path];
  if (direct !== undefined || !path.includes('.')) return direct;
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const UNSAFE = /[\0-\x08\x0a-\x1f\x7f]/g;

/** A header-safe rendering of a claim value; null when absent. */
export function headerValue(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (Array.isArray(v)) s = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  s = s.replace(UNSAFE, '');
  // Node refuses header values with characters above U+00FF; keep them readable as escapes.
  if (/[^\t\x20-\xff]/.test(s)) s = s.replace(/[^\t\x20-\xff]/g, (c) => encodeURIComponent(c));
  return s.length > 4096 ? s.slice(0, 4096) : s;
}

/** Remove one parameter from a raw query string (all occurrences). */
export function removeQueryParam(query: string, name: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .filter((kv) => {
      const eq = kv.indexOf('=');
      const k = eq < 0 ? kv : kv.slice(0, eq);
      let key = k;
      try {
        key = decodeURIComponent(k.replace(/\+/g, ' '));
      } catch {
        /* keep raw */
      }
      return key !== name;
    })
    .join('&');
}

/** Value of a query parameter (first occurrence), decoded. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const kv of query.split('&')) {
    const eq = kv.indexOf('=');
    const k = eq < 0 ? kv : kv.slice(0, eq);
    let key = k;
    try {
      key = decodeURIComponent(k.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    if (key !== name) continue;
    try {
      return eq < 0 ? '' : decodeURIComponent(kv.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Value of a cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Cookie header without the named cookie (undefined when nothing is left). */
export function removeCookie(header: string, name: string): string | undefined {
  const kept = header.split(';').filter((part) => {
    const eq = part.indexOf('=');
    return eq < 0 || part.slice(0, eq).trim() !== name;
  });
  const s = kept
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .join('; ');
  return s === '' ? undefined : s;
}
