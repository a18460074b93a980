/**
 * Static options that shape every router of an entry point:
 * `entryPoints.<name>.http.middlewares` and `.http.redirections.entryPoint`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { startGateway, listenLoopback } from './support/gateway.js';

test('entry point middlewares run before every router; redirections send the entry point elsewhere', async () => {
  let seen: IncomingHttpHeaders = {};
  const up = createServer((req, res) => {
    seen = req.headers;
    res.end('ok');
  });
  const port = await listenLoopback(up);
  const gw = await startGateway({
    files: {
      'r.yaml': `
http:
  routers:
    r: { rule: PathPrefix(\`/\`), service: s, entryPoints: [web, other] }
  middlewares:
    tag:
      headers: { customRequestHeaders: { x-entrypoint-mw: "yes" } }
  services:
    s: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${port}" }] } }
`,
    },
    flags: [
      '--entrypoints.web.http.middlewares=tag@file',
      '--entrypoints.other.address=127.0.0.1:0',
      '--entrypoints.other.http.redirections.entrypoint.to=:8443',
      '--entrypoints.other.http.redirections.entrypoint.scheme=https',
    ],
  });
  try {
    const r = await request(`${gw.url}/a`);
    assert.equal(await r.body.text(), 'ok');
    assert.equal(seen['x-entrypoint-mw'], 'yes');
    const other = gw.running.addresses.other!;
    const red = await request(`http://127.0.0.1:${other.port}/path?q=1`, { headers: { host: 'example.test' } });
    assert.equal(red.statusCode, 301);
    assert.equal(red.headers.location, 'https://example.test:8443/path?q=1');
    await red.body.dump();
  } finally {
    await gw.close();
    up.close();
  }
});
