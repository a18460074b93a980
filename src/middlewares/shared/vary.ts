import type { OutgoingHttpHeaders } from 'node:http';

/** Add a token to the Vary header unless it is already listed. */
export function addVary(headers: OutgoingHttpHeaders, token: string): void {
  const cur = headers.vary;
  const text = cur === undefined ? '' : Array.isArray(cur) ? cur.join(',') : String(cur);
  if (text === '') {
    headers.vary = token;
    return;
  }
  const lower = token.toLowerCase();
  for (const t of text.split(',')) {
    const v = t.trim().toLowerCase();
    if (v === lower || v === '*') return;
  }
  headers.vary = `${text},${token}`;
}
