/**
 * A reload never cuts an exchange in flight (issue 11 §5): a response that
 * streams for longer than the entry point's graceTimeOut, with a configuration
 * change in the middle, reaches the client whole. Before, the old
 * configuration's upstream pools were destroyed when graceTimeOut ended and
 * the client got a truncated body with nothing logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'undici';
import { startGateway, listenLoopback } from './support/gateway.js';

const routes = (port: number, extra: string): string => `http:
  routers:
    slow:
      rule: PathPrefix(\`/\`)
      service: slow
${extra}
  services:
    slow:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${port}
`;

for (const workers of [1, 2]) {
  test(`a response streaming past graceTimeOut survives a reload (--workers ${workers})`, { timeout: 60_000 }, async () => {
    const CHUNKS = 25;
    const origin = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => {
        res.write(`chunk ${String(n).padStart(3, '0')}\n`);
        if (++n === CHUNKS) {
          clearInterval(t);
          res.end();
        }
      }, 100); // 2.5 s in all
      res.on('close', () => clearInterval(t));
    });
    const port = await listenLoopback(origin);
    const gw = await startGateway({
      workers,
      files: { 'routes.yaml': routes(port, '') },
      flags: [
        '--entrypoints.web.transport.lifecycle.gracetimeout=500ms',
        '--entrypoints.traefik.transport.lifecycle.gracetimeout=500ms',
        '--api.insecure',
      ],
    });
    try {
      const res = await request(`${gw.url}/stream`);
      assert.equal(res.statusCode, 200);
      const got: Promise<string> = res.body.text();
      // Change the configuration while the body streams, twice.
      await new Promise((r) => setTimeout(r, 300));
      gw.write('routes.yaml', routes(port, '    other:\n      rule: Host(`other.test`)\n      service: slow'));
      await new Promise((r) => setTimeout(r, 500));
      gw.write(
        'extra.yaml',
        routes(port, '')
          .replace('slow:\n      rule', 'slow2:\n      rule')
          .replace(/services:[\s\S]*/, ''),
      );
      const body = await got;
      const lines = body.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, CHUNKS, `the whole body (got ${lines.length} of ${CHUNKS} lines)`);
      assert.equal(lines[CHUNKS - 1], `chunk ${String(CHUNKS - 1).padStart(3, '0')}`);
      // The change did apply meanwhile.
      const o = (await (await request(`${gw.admin}/api/http/routers`)).body.json()) as Array<{ name: string }>;
      assert.ok(
        o.some((r) => r.name === 'other@file'),
        'the reload applied',
      );
    } finally {
      await gw.close();
      origin.close();
    }
  });
}
