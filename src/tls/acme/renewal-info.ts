/**
 * ACME Renewal Information (RFC 9773) over the wire: the directory's
 * `renewalInfo` URL (looked up at most once per check interval) and the
 * suggested window for one certificate. acme-client 5.4 has no call for it;
 * the requests go through the same per-resolver context (trust, timeout).
 */
import type { Agent } from 'node:https';
import { caGet, withCa } from './ca-http.js';
import { ariCertId, parseRetryAfter, type RenewalWindow } from './renewal.js';

export interface RenewalInfoAnswer {
  readonly window: RenewalWindow;
  /** When to ask again (the answer's Retry-After), ms from now. */
  readonly retryAfterMs: number | undefined;
}

export class RenewalInfoClient {
  private directory: { at: number; url: string | undefined } | undefined;

  constructor(
    private readonly caServer: string,
    private readonly agent: Agent,
    private readonly timeoutMs: number,
    private readonly cacheMs: number,
    private readonly now: () => number,
  ) {}

  private async url(): Promise<string | undefined> {
    if (this.directory !== undefined && this.now() - this.directory.at < this.cacheMs) return this.directory.url;
    const res = await withCa({ agent: this.agent, timeoutMs: this.timeoutMs }, () => caGet(this.caServer));
    const dir = res.data !== null && typeof res.data === 'object' ? (res.data as Record<string, unknown>) : {};
    const url = typeof dir['renewalInfo'] === 'string' ? dir['renewalInfo'] : undefined;
    this.directory = { at: this.now(), url };
    return url;
  }

  /** The CA's suggested window for the certificate; undefined when the CA offers no ARI or answers nothing usable. */
  async window(certPem: string): Promise<RenewalInfoAnswer | undefined> {
    const base = await this.url();
    const id = base === undefined ? undefined : ariCertId(certPem);
    if (base === undefined || id === undefined) return undefined;
    const res = await withCa({ agent: this.agent, timeoutMs: this.timeoutMs }, () => caGet(`${base.replace(/\/$/, '')}/${id}`));
    const w = (res.data as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
    const start = typeof w?.start === 'string' ? Date.parse(w.start) : NaN;
    const end = typeof w?.end === 'string' ? Date.parse(w.end) : NaN;
    if (res.status !== 200 || Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
    return { window: { start, end }, retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.now()) };
  }
}
