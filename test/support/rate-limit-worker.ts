/**
 * Test fixture (not a test): a cluster worker that serves the rateLimit
 * middleware backed by the IPC worker store on its own loopback port, tells
 * the primary its URL, and exits when asked. Started by
 * src/middlewares/rate-limit/store-cluster.test.ts as the cluster's worker
 * script (`cluster.setupPrimary({ exec })`, through tsx).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contextFromRequest } from '../../src/server/make-context.js';
import { echoHandler, testDeps } from './handler-server.js';
import { createWorkerRateLimitStore } from '../../src/middlewares/rate-limit/store-worker.js';
import { middleware as rateLimit } from '../../src/middlewares/rate-limit/index.js';

const store = createWorkerRateLimitStore(process, { timeoutMs: 2000 });
const options = JSON.parse(process.env.GH_RL_OPTIONS ?? '{}') as Parameters<typeof rateLimit.create>[0];
const handler = rateLimit.create(options, testDeps({ name: 'shared-limit@file', rateLimitStore: store }))(echoHandler);
const server = createServer((req, res) => handler(contextFromRequest(req, res, { entryPoint: 'web' })));
server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
  const port = (server.address() as AddressInfo).port;
  process.send?.({ gh: 'test', url: `http://127.0.0.1:${port}` });
});
process.on('message', (m: unknown) => {
  if ((m as { gh?: string }).gh !== 'test-stop') return;
  store.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
