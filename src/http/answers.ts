/** Answers the gateway writes itself: coded answers (answer-codes.ts) and plain text or JSON for internal services. */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from './exchange.js';
import { ANSWERS, type AnswerCode } from './answer-codes.js';

export { ANSWERS, type AnswerCode, type AnswerSpec } from './answer-codes.js';

/**
 * Answer with the table's status and body for `code` (a status or body of
 * the middleware's own configuration may replace them) and record the code
 * on the exchange. After the head was sent, the response is aborted instead.
 */
export function answer(
  ctx: RequestContext,
  code: AnswerCode,
  over?: { status?: number; body?: string; headers?: OutgoingHttpHeaders },
): void {
  const a = ANSWERS[code];
  ctx.code = code;
  sendText(
    ctx,
    over?.status ?? a.status,
    over?.body ?? a.body,
    'headers' in a || over?.headers !== undefined ? { ...('headers' in a ? a.headers : {}), ...over?.headers } : undefined,
  );
}

/** A coded answer with a JSON body (validateJwt's APIM shape, …). */
export function answerJson(ctx: RequestContext, code: AnswerCode, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  ctx.code = code;
  sendJson(ctx, status, value, headers);
}

/** Answer a short text response (used for errors produced by the gateway itself). */
export function sendText(ctx: RequestContext, status: number, body: string, headers?: OutgoingHttpHeaders): void {
  if (ctx.rw.headersSent) {
    ctx.rw.destroy();
    return;
  }
  const buf = Buffer.from(body);
  ctx.rw.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length, ...headers });
  ctx.rw.end(buf);
}

/** Answer a JSON response. */
export function sendJson(ctx: RequestContext, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  if (ctx.rw.headersSent) {
    ctx.rw.destroy();
    return;
  }
  const buf = Buffer.from(JSON.stringify(value));
  ctx.rw.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...headers });
  ctx.rw.end(buf);
}
