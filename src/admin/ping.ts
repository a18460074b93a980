import { sendText } from '../http/answers.js';
import type { Handler } from '../http/handler.js';

/** `ping@internal`: `OK` while serving, 503 while shutting down (Traefik's /ping). */
export function createPingHandler(isShuttingDown: () => boolean, terminatingStatus = 503): Handler {
  return (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      sendText(ctx, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    if (isShuttingDown()) sendText(ctx, terminatingStatus, terminatingStatus === 503 ? 'Service Unavailable' : 'Shutting down');
    else sendText(ctx, 200, 'OK');
  };
}
