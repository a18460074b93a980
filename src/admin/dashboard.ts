/**
 * `dashboard@internal`: the web dashboard at /dashboard/ where the API is
 * served (`/` and `/dashboard` redirect there, as in Traefik). Three assets —
 * the page, its script (joined from three parts) and its style, sources in web/ — compiled into the
 * build, served with ETags and a strict Content-Security-Policy (no inline
 * script, no external origin). Every URL in the page is relative, so the
 * dashboard also works behind a router that adds a path prefix.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { sendText } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import { DASHBOARD_CSS, DASHBOARD_HTML } from '../../web/dashboard-html.js';
import { DASHBOARD_JS } from '../../web/dashboard-script.js';
import { DASHBOARD_CHARTS_JS } from '../../web/dashboard-charts.js';
import { DASHBOARD_TOPOLOGY_JS } from '../../web/dashboard-topology.js';

/** The page's one script: the three parts share one function scope (they call each other's functions). */
const SCRIPT = `'use strict';\n(function () {\n${DASHBOARD_CHARTS_JS}\n${DASHBOARD_TOPOLOGY_JS}\n${DASHBOARD_JS}\n})();\n`;

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

function asset(type: string, text: string): Asset {
  const body = Buffer.from(text);
  return {
    type,
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/** Total bytes of the dashboard's assets (uncompressed, gzip). */
export function dashboardSize(): { raw: number; gzip: number } {
  const a = assets();
  return Object.values(a).reduce((s, x) => ({ raw: s.raw + x.body.length, gzip: s.gzip + x.gzip.length }), { raw: 0, gzip: 0 });
}

let cached: Record<string, Asset> | null = null;
function assets(): Record<string, Asset> {
  if (cached === null) {
    cached = Object.assign(Object.create(null) as Record<string, Asset>, {
      '': asset('text/html; charset=utf-8', DASHBOARD_HTML),
      'index.html': asset('text/html; charset=utf-8', DASHBOARD_HTML),
      'app.js': asset('text/javascript; charset=utf-8', SCRIPT),
      'app.css': asset('text/css; charset=utf-8', DASHBOARD_CSS),
    });
  }
  return cached;
}

function redirect(ctx: Parameters<Handler>[0], location: string): void {
  ctx.rw.writeHead(302, { location, 'content-length': 0 });
  ctx.rw.end();
}

export function createDashboardHandler(): Handler {
  const table = assets();
  return (ctx) => {
    // Relative redirects keep a path prefix added by a router in front of the API.
    if (ctx.path === '/') return redirect(ctx, 'dashboard/');
    if (ctx.path === '/dashboard') return redirect(ctx, 'dashboard/');
    if (!ctx.path.startsWith('/dashboard/')) {
      sendText(ctx, 404, '404 page not found');
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      sendText(ctx, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    const a = table[ctx.path.slice('/dashboard/'.length)];
    if (a === undefined) {
      sendText(ctx, 404, '404 page not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': a.type,
      etag: a.etag,
      'cache-control': 'no-cache',
      vary: 'accept-encoding',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (ctx.req.headers['if-none-match'] === a.etag) {
      ctx.rw.writeHead(304, headers);
      ctx.rw.end();
      return;
    }
    const ae = ctx.req.headers['accept-encoding'];
    const gz = typeof ae === 'string' && /\bgzip\b/.test(ae);
    const body = gz ? a.gzip : a.body;
    if (gz) headers['content-encoding'] = 'gzip';
    headers['content-length'] = body.length;
    ctx.rw.writeHead(200, headers);
    if (ctx.method === 'HEAD') ctx.rw.end();
    else ctx.rw.end(body);
  };
}
