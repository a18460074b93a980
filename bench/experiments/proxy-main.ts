/**
 * Fast-path study entry: `node --import tsx bench/experiments/proxy-main.ts`
 * Env: PORT (listen on 127.0.0.1), UPSTREAM (http://host:port), MODE =
 * llhttp (a) | js (b) | node-http (c). Prints "listening <port>" when ready.
 */
import type { Server } from 'node:net';
import { UpstreamPool } from './upstream-raw.js';
import { createLlhttpProxy } from './server-llhttp.js';
import { createJsProxy } from './server-js.js';
import { createNodeHttpProxy } from './server-node-http.js';

export type Mode = 'llhttp' | 'js' | 'node-http';

/** Build a prototype proxy (used by the checks and by the CLI below). */
export function createProxy(mode: Mode, upstream: string): { server: Server; pool: UpstreamPool } {
  const u = new URL(upstream);
  const pool = new UpstreamPool(u.hostname, Number(u.port || 80), mode === 'llhttp' ? 'llhttp' : 'js');
  const server = mode === 'llhttp' ? createLlhttpProxy(pool) : mode === 'js' ? createJsProxy(pool) : createNodeHttpProxy(pool);
  return { server, pool };
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const mode = (process.env.MODE ?? 'llhttp') as Mode;
  const { server } = createProxy(mode, process.env.UPSTREAM ?? 'http://127.0.0.1:18080');
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`listening ${typeof a === 'object' && a !== null ? a.port : 0}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
