/**
 * The answers to pending ACME challenges, read by the serving side:
 * http-01 key authorizations by token (served at
 * `GET /.well-known/acme-challenge/<token>` on the resolver's
 * `httpchallenge.entrypoint`), tls-alpn-01 certificates by domain (served to a
 * TLS client that offers only the ALPN protocol `acme-tls/1`).
 *
 * The engine writes here; `onChange` lets the primary copy every change to
 * the worker processes, where `apply` replays it into their own store.
 * A tls-alpn-01 key is a throw-away key made for one validation: it is not a
 * secret of the gateway, but is still never logged.
 */
import { createSecureContext, type SecureContext } from 'node:tls';

/** The ALPN protocol of RFC 8737. */
export const ACME_TLS_ALPN = 'acme-tls/1';
/** The path prefix of RFC 8555 section 8.3. */
export const HTTP01_PREFIX = '/.well-known/acme-challenge/';

export interface TlsAlpnCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** One change, as sent to worker processes (`value` undefined: removed). */
export type ChallengeChange =
  | { readonly kind: 'http-01'; readonly token: string; readonly keyAuthorization: string | undefined }
  | { readonly kind: 'tls-alpn-01'; readonly domain: string; readonly certificate: TlsAlpnCertificate | undefined };

const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
/** Bounds: a misbehaving CA or engine cannot grow these without limit. */
const MAX_ENTRIES = 10_000;

export class ChallengeStore {
  private readonly http01 = new Map<string, string>();
  private readonly alpn = new Map<string, TlsAlpnCertificate>();
  private readonly contexts = new Map<string, SecureContext>();
  private readonly listeners = new Set<(c: ChallengeChange) => void>();

  /** The key authorization to answer for `token` (the path segment after `/.well-known/acme-challenge/`). */
  http01Answer(token: string): string | undefined {
    return TOKEN.test(token) ? this.http01.get(token) : undefined;
  }

  /** The answer for a request path, when it is an http-01 challenge path this store knows. */
  http01ForPath(path: string): string | undefined {
    if (!path.startsWith(HTTP01_PREFIX)) return undefined;
    const q = path.indexOf('?');
    return this.http01Answer(path.slice(HTTP01_PREFIX.length, q === -1 ? undefined : q));
  }

  /** The tls-alpn-01 certificate for an SNI name (lower-cased, without a trailing dot). */
  tlsAlpnCertificate(servername: string): TlsAlpnCertificate | undefined {
    return this.alpn.get(normalize(servername));
  }

  /** A secure context for the tls-alpn-01 certificate of `servername` (built once per certificate). */
  tlsAlpnSecureContext(servername: string): SecureContext | undefined {
    const name = normalize(servername);
    const c = this.alpn.get(name);
    if (c === undefined) return undefined;
    let ctx = this.contexts.get(name);
    if (ctx === undefined) {
      ctx = createSecureContext({ cert: c.certPem, key: c.keyPem });
      this.contexts.set(name, ctx);
    }
    return ctx;
  }

  /** Whether any challenge is pending (the serving side may skip its checks when not). */
  get pending(): boolean {
    return this.http01.size > 0 || this.alpn.size > 0;
  }

  setHttp01(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new Error(`http-01 token is not base64url (RFC 8555 section 8.3)`);
    if (!this.http01.has(token) && this.http01.size >= MAX_ENTRIES) throw new Error('too many pending http-01 challenges');
    this.apply({ kind: 'http-01', token, keyAuthorization });
  }

  removeHttp01(token: string): void {
    if (this.http01.has(token)) this.apply({ kind: 'http-01', token, keyAuthorization: undefined });
  }

  setTlsAlpn(domain: string, certificate: TlsAlpnCertificate): void {
    if (!this.alpn.has(normalize(domain)) && this.alpn.size >= MAX_ENTRIES) throw new Error('too many pending tls-alpn-01 challenges');
    this.apply({ kind: 'tls-alpn-01', domain, certificate });
  }

  removeTlsAlpn(domain: string): void {
    if (this.alpn.has(normalize(domain))) this.apply({ kind: 'tls-alpn-01', domain, certificate: undefined });
  }

  /** Every pending challenge as changes (for a worker that starts after they were set). */
  snapshot(): ChallengeChange[] {
    return [
      ...[...this.http01].map(([token, keyAuthorization]): ChallengeChange => ({ kind: 'http-01', token, keyAuthorization })),
      ...[...this.alpn].map(([domain, certificate]): ChallengeChange => ({ kind: 'tls-alpn-01', domain, certificate })),
    ];
  }

  /** Applies one change (made here, or received from the primary) and tells the listeners. */
  apply(change: ChallengeChange): void {
    if (change.kind === 'http-01') {
      if (change.keyAuthorization === undefined) this.http01.delete(change.token);
      else this.http01.set(change.token, change.keyAuthorization);
    } else {
      const d = normalize(change.domain);
      this.contexts.delete(d);
      if (change.certificate === undefined) this.alpn.delete(d);
      else this.alpn.set(d, change.certificate);
    }
    for (const l of this.listeners) l(change);
  }

  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: (change: ChallengeChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}
