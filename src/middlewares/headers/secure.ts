/**
 * Security part of the headers middleware (Traefik delegates it to
 * unrolled/secure): host allow-list, deprecated SSL redirect, and response
 * headers (STS, frame options, nosniff, XSS, CSP, HPKP, referrer, permissions).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../../http/exchange.js';
import type { HeadersOptions } from './schema.js';

export interface Secure {
  /** Host allow-list active (not in development mode). */
  readonly checkHosts: boolean;
  hostAllowed(ctx: RequestContext): boolean;
  /** Where to redirect a plain-HTTP request (deprecated sslRedirect), or null. */
  sslRedirect(ctx: RequestContext): { location: string; permanent: boolean } | null;
  isSsl(ctx: RequestContext): boolean;
  /** Set the security response headers. */
  applyToResponse(headers: OutgoingHttpHeaders, ssl: boolean): void;
}

export function hasSecureOptions(o: HeadersOptions): boolean {
  return (
    (o.allowedHosts?.length ?? 0) > 0 ||
    (o.hostsProxyHeaders?.length ?? 0) > 0 ||
    o.sslRedirect === true ||
    o.sslTemporaryRedirect === true ||
    o.sslForceHost === true ||
    (o.sslHost ?? '') !== '' ||
    Object.keys(o.sslProxyHeaders ?? {}).length > 0 ||
    (o.stsSeconds ?? 0) !== 0 ||
    o.stsIncludeSubdomains === true ||
    o.stsPreload === true ||
    o.forceSTSHeader === true ||
    o.frameDeny === true ||
    (o.customFrameOptionsValue ?? '') !== '' ||
    o.contentTypeNosniff === true ||
    o.browserXssFilter === true ||
    (o.customBrowserXSSValue ?? '') !== '' ||
    (o.contentSecurityPolicy ?? '') !== '' ||
    (o.contentSecurityPolicyReportOnly ?? '') !== '' ||
    (o.publicKey ?? '') !== '' ||
    (o.referrerPolicy ?? '') !== '' ||
    (o.featurePolicy ?? '') !== '' ||
    (o.permissionsPolicy ?? '') !== '' ||
    o.isDevelopment === true
  );
}

export function compileSecure(o: HeadersOptions): Secure {
  const dev = o.isDevelopment === true;
  const allowed = new Set((o.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const proxyHostHeaders = (o.hostsProxyHeaders ?? []).map((h) => h.toLowerCase());
  const sslHeaders = Object.entries(o.sslProxyHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const);
  const redirect = !dev && (o.sslRedirect === true || o.sslTemporaryRedirect === true);
  const sslHost = o.sslHost ?? '';

  // Response headers that do not depend on the request, precomputed once.
  const always: Array<[string, string]> = [];
  const frame = (o.customFrameOptionsValue ?? '') !== '' ? (o.customFrameOptionsValue as string) : o.frameDeny === true ? 'DENY' : '';
  if (frame !== '') always.push(['x-frame-options', frame]);
  if (o.contentTypeNosniff === true) always.push(['x-content-type-options', 'nosniff']);
  const xss =
    (o.customBrowserXSSValue ?? '') !== '' ? (o.customBrowserXSSValue as string) : o.browserXssFilter === true ? '1; mode=block' : '';
  if (xss !== '') always.push(['x-xss-protection', xss]);
  if ((o.contentSecurityPolicy ?? '') !== '') always.push(['content-security-policy', o.contentSecurityPolicy as string]);
  if ((o.contentSecurityPolicyReportOnly ?? '') !== '')
    always.push(['content-security-policy-report-only', o.contentSecurityPolicyReportOnly as string]);
  if ((o.referrerPolicy ?? '') !== '') always.push(['referrer-policy', o.referrerPolicy as string]);
  if ((o.featurePolicy ?? '') !== '') always.push(['feature-policy', o.featurePolicy as string]);
  if ((o.permissionsPolicy ?? '') !== '') always.push(['permissions-policy', o.permissionsPolicy as string]);

  // Headers sent only over TLS (or always, for STS with forceSTSHeader); never in development mode.
  const sslOnly: Array<[string, string]> = [];
  let sts = '';
  if (!dev && (o.stsSeconds ?? 0) > 0) {
    sts = `max-age=${o.stsSeconds as number}`;
    if (o.stsIncludeSubdomains === true) sts += '; includeSubDomains';
    if (o.stsPreload === true) sts += '; preload';
  }
  const forceSts = o.forceSTSHeader === true;
  if (!dev && (o.publicKey ?? '') !== '') sslOnly.push(['public-key-pins', o.publicKey as string]);

  const isSsl = (ctx: RequestContext): boolean => {
    if (ctx.scheme === 'https') return true;
    for (const [k, v] of sslHeaders) {
      const got = ctx.headers[k];
      if (typeof got === 'string' && got.toLowerCase() === v) return true;
    }
    return false;
  };

  const requestHost = (ctx: RequestContext): string => {
    for (const h of proxyHostHeaders) {
      const v = ctx.headers[h];
      if (typeof v === 'string' && v !== '') return v;
    }
    return ctx.headers.host ?? '';
  };

  return {
    checkHosts: !dev && allowed.size > 0,
    hostAllowed: (ctx) => allowed.has(requestHost(ctx).toLowerCase()),
    isSsl,
    sslRedirect(ctx) {
      if (!redirect || isSsl(ctx)) return null;
      const host = sslHost !== '' ? sslHost : requestHost(ctx);
      return { location: `https://${host}${ctx.url}`, permanent: o.sslTemporaryRedirect !== true };
    },
    applyToResponse(headers, ssl) {
      for (const [k, v] of always) headers[k] = v;
      if (sts !== '' && (ssl || forceSts)) headers['strict-transport-security'] = sts;
      if (ssl) for (const [k, v] of sslOnly) headers[k] = v;
    },
  };
}
