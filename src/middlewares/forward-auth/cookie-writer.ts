/** Adds the auth server's cookies to the final response (addAuthCookiesToResponse), replacing same-named ones. */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ResponseWriter } from '../../http/response-writer.js';
import { ForwardingWriter } from '../../http/response-writer.js';

export function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim();
}

export class CookieWriter extends ForwardingWriter {
  constructor(
    inner: ResponseWriter,
    private readonly names: ReadonlySet<string>,
    private readonly cookies: readonly string[],
  ) {
    super(inner);
  }
  override writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const prev = headers['set-cookie'];
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    const kept = list.filter((c) => !this.names.has(cookieName(c)));
    this.inner.writeHead(status, { ...headers, 'set-cookie': [...kept, ...this.cookies] });
  }
}
