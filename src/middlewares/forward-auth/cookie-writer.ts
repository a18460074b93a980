/** Adds the auth server's cookies to the final response (addAuthCookiesToResponse), replacing same-named ones. */
import type { OutgoingHttpHeaders, ResponseWriter } from '../../server/context.js';

export function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim();
}

export class CookieWriter implements ResponseWriter {
  constructor(
    private readonly inner: ResponseWriter,
    private readonly names: ReadonlySet<string>,
    private readonly cookies: readonly string[],
  ) {}
  get headersSent(): boolean {
    return this.inner.headersSent;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const prev = headers['set-cookie'];
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    const kept = list.filter((c) => !this.names.has(cookieName(c)));
    this.inner.writeHead(status, { ...headers, 'set-cookie': [...kept, ...this.cookies] });
  }
  write(chunk: Buffer): boolean {
    return this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    this.inner.end(chunk);
  }
  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }
  destroy(err?: Error): void {
    this.inner.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    this.inner.addTrailers(trailers);
  }
}
