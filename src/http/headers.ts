/** Header helpers shared by middlewares and the proxy. */

/** A header value as one string (`a, b` for repeated headers), '' when absent. */
export function headerString(v: string | string[] | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : v.join(', ');
}

/** Append a request header value the way Go's Header.Add does (a repeated header). */
export function addRequestHeader(headers: Record<string, string | string[] | undefined>, name: string, value: string): void {
  const cur = headers[name];
  if (cur === undefined) headers[name] = value;
  else if (typeof cur === 'string') headers[name] = [cur, value];
  else headers[name] = [...cur, value];
}
