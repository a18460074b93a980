/**
 * Token-endpoint errors in Microsoft identity platform's shape, without
 * `error_uri`: Azure points it at a page of login.microsoftonline.com, and
 * Gatehouse has no such page (the field is optional in RFC 6749 §5.2; the
 * codes are listed in docs/identity.md).
 */
import { randomUUID } from 'node:crypto';
import { sendJson } from '../http/answers.js';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../http/exchange.js';

export interface AadErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Azure's timestamp format: `2016-01-09 02:02:12Z`. */
export function aadTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** Values from the request are shown bounded and printable. */
export function shown(v: string): string {
  const s = v.replace(/[^\x20-\x7e]/g, '?');
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

export function aadError(
  ctx: RequestContext,
  nowMs: number,
  status: number,
  error: string,
  code: number,
  description: string,
  headers?: OutgoingHttpHeaders,
): void {
  const trace = randomUUID();
  const cr = ctx.req.headers['client-request-id'];
  const correlation = typeof cr === 'string' && GUID.test(cr) ? cr.toLowerCase() : randomUUID();
  const ts = aadTimestamp(nowMs);
  const body: AadErrorBody = {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${ts}`,
    error_codes: [code],
    timestamp: ts,
    trace_id: trace,
    correlation_id: correlation,
  };
  sendJson(ctx, status, body, { 'cache-control': 'no-store', pragma: 'no-cache', ...headers });
}
