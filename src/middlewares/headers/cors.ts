/** CORS part of the headers middleware (Traefik's semantics). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../../http/exchange.js';
import { regexOption } from '../shared/go-regex-option.js';
import { addVary } from '../shared/vary.js';
import type { HeadersOptions } from './schema.js';

export interface Cors {
  /** Decide the Access-Control-Allow-Origin value for an Origin ('' for none). */
  allowOrigin(origin: string): string;
  /** Headers of a preflight answer. */
  preflightHeaders(origin: string): OutgoingHttpHeaders;
  /** Edit a normal response's headers. */
  applyToResponse(headers: OutgoingHttpHeaders, origin: string): void;
}

export function hasCorsOptions(o: HeadersOptions): boolean {
  return (
    o.accessControlAllowCredentials === true ||
    (o.accessControlAllowHeaders?.length ?? 0) > 0 ||
    (o.accessControlAllowMethods?.length ?? 0) > 0 ||
    (o.accessControlAllowOriginList?.length ?? 0) > 0 ||
    (o.accessControlAllowOriginListRegex?.length ?? 0) > 0 ||
    (o.accessControlExposeHeaders?.length ?? 0) > 0 ||
    (o.accessControlMaxAge ?? 0) !== 0
  );
}

/** True when the request is a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method). */
export function isPreflight(ctx: RequestContext): boolean {
  return (
    ctx.method === 'OPTIONS' &&
    typeof ctx.headers.origin === 'string' &&
    ctx.headers.origin !== '' &&
    typeof ctx.headers['access-control-request-method'] === 'string' &&
    ctx.headers['access-control-request-method'] !== ''
  );
}

export function compileCors(o: HeadersOptions): Cors {
  const origins = o.accessControlAllowOriginList ?? [];
  const regexes = (o.accessControlAllowOriginListRegex ?? []).map((r, i) => regexOption(r, `accessControlAllowOriginListRegex[${i}]`));
  const credentials = o.accessControlAllowCredentials === true;
  const allowHeaders = (o.accessControlAllowHeaders ?? []).join(',');
  const allowMethods = (o.accessControlAllowMethods ?? []).join(',');
  const expose = (o.accessControlExposeHeaders ?? []).join(',');
  const maxAge = String(o.accessControlMaxAge ?? 0);
  const vary = o.addVaryHeader === true;

  const allowOrigin = (origin: string): string => {
    for (const item of origins) if (item === '*' || item === origin) return item;
    if (origin !== '') for (const re of regexes) if (re.test(origin)) return origin;
    return '';
  };

  return {
    allowOrigin,
    preflightHeaders(origin) {
      const h: OutgoingHttpHeaders = { 'content-length': 0 };
      if (credentials) h['access-control-allow-credentials'] = 'true';
      if (allowHeaders !== '') h['access-control-allow-headers'] = allowHeaders;
      if (allowMethods !== '') h['access-control-allow-methods'] = allowMethods;
      const ao = allowOrigin(origin);
      if (ao !== '') h['access-control-allow-origin'] = ao;
      h['access-control-max-age'] = maxAge;
      return h;
    },
    applyToResponse(headers, origin) {
      const ao = allowOrigin(origin);
      if (ao !== '') {
        headers['access-control-allow-origin'] = ao;
        if (vary) addVary(headers, 'Origin');
      }
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      if (expose !== '') headers['access-control-expose-headers'] = expose;
    },
  };
}
