/** Answers the gateway writes itself (errors, internal services). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from './exchange.js';

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

