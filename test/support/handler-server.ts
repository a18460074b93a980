/**
 * Test helpers: run a Handler (a middleware chain or a service) on a real
 * loopback HTTP server, and start simple real upstream servers.
 * Used by unit tests beside the code; kept under test/ so that nothing of it
 * is in the shipped build (tsconfig.json builds src/ and bench/).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contextFromRequest } from '../../src/server/make-context.js';
import { sendText } from '../../src/http/answers.js';
import type { Handler, Middleware } from '../../src/http/handler.js';
import { silentLogger } from '../../src/log.js';
import type { MiddlewareDeps, RateLimitStore } from '../../src/middlewares/types.js';

export interface Running {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serve `handler` on 127.0.0.1:<random port>. */
export function serveHandler(handler: Handler, entryPoint = 'web'): Promise<Running> {
  const server = createServer((req, res) => {
    const ctx = contextFromRequest(req, res, { entryPoint });
    try {
      handler(ctx);
    } catch (err) {
      sendText(ctx, 500, `handler threw: ${(err as Error).message}`);
    }
  });
  return listen(server);
}

/** Start a plain upstream server with the given listener. */
export function serveUpstream(listener: RequestListener): Promise<Running> {
  return listen(createServer(listener));
}

/** What an echo upstream saw. */
export interface Echo {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An upstream that answers 200 with a JSON description of the request it received. */
export function serveEcho(): Promise<Running> {
  return serveUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echo: Echo = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(echo));
    });
  });
}

/**
 * A terminal handler that answers like `serveEcho` but in-process: 200 with the
 * JSON of what reached it (method, url, headers after middlewares, body).
 */
export const echoHandler: Handler = (ctx) => {
  const finish = (body: string): void => {
    const echo: Echo = { method: ctx.method, url: ctx.url, headers: ctx.headers, body };
    const buf = Buffer.from(JSON.stringify(echo));
    ctx.rw.writeHead(200, { 'content-type': 'application/json', 'content-length': buf.length });
    ctx.rw.end(buf);
  };
  const b = ctx.body;
  if (b === null) finish('');
  else if (Buffer.isBuffer(b)) finish(b.toString());
  else {
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    b.on('end', () => finish(Buffer.concat(chunks).toString()));
  }
};

/** Token bucket store kept in this process (enough for single-process tests). */
export function memoryRateLimitStoreForTests(): RateLimitStore {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, rate, burst) {
      const now = Date.now();
      const b = buckets.get(key) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return Promise.resolve({ allowed: true, retryAfterMs: 0 });
      }
      return Promise.resolve({ allowed: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate) * 1000) });
    },
  };
}

/** MiddlewareDeps for unit tests; override what the test needs. */
export function testDeps(overrides: Partial<MiddlewareDeps> = {}): MiddlewareDeps {
  const closers: Array<() => void | Promise<void>> = [];
  return {
    name: 'test@file',
    provider: 'file',
    service: (name) => {
      throw new Error(`service "${name}" does not exist`);
    },
    middleware: (name): Middleware => {
      throw new Error(`middleware "${name}" does not exist`);
    },
    rateLimitStore: memoryRateLimitStoreForTests(),
    log: silentLogger,
    onClose: (fn) => closers.push(fn),
    dataDir: process.cwd(),
    ...overrides,
  };
}
