// End to end: rules matched against RequestContexts built from real requests on a loopback server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { serveHandler } from '../../test/support/handler-server.js';
import { sendText } from '../http/answers.js';
import { compileRule } from './index.js';

const ROUTES = [
  { name: 'admin', rule: compileRule('Host(`calc.127.0.0.1.nip.io`) && PathPrefix(`/admin`) && ClientIP(`127.0.0.0/8`)', 'v3') },
  { name: 'add', rule: compileRule('Host(`calc.127.0.0.1.nip.io`) && Path(`/add/{a:[0-9]+}/{b:[0-9]+}`)', 'v2') },
  { name: 'spaces', rule: compileRule('Path(`/a b`) && Query(`q=x y`)', 'v2') },
  { name: 'json', rule: compileRule('Method(`POST`) && HeaderRegexp(`Content-Type`, `^application/json`)', 'v3') },
];

function get(port: number, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('rules match real requests (host with port and case, encoded path, query, peer address)', async () => {
  const server = await serveHandler((ctx) => {
    const hit = ROUTES.find((r) => r.rule.match(ctx));
    sendText(ctx, hit === undefined ? 404 : 200, hit?.name ?? 'none');
  });
  try {
    const host = 'CALC.127.0.0.1.nip.io:8000';
    assert.deepEqual(await get(server.port, '/add/10/10', { host }), { status: 200, body: 'add' });
    assert.deepEqual(await get(server.port, '/add/10/x', { host }), { status: 404, body: 'none' });
    assert.deepEqual(await get(server.port, '/add/1/2', { host: 'calc.127.0.0.1.nip.io.' }), { status: 200, body: 'add' });
    assert.deepEqual(await get(server.port, '/add/1/2', { host: 'other.example' }), { status: 404, body: 'none' });
    assert.deepEqual(await get(server.port, '/admin/users', { host }), { status: 200, body: 'admin' });
    assert.deepEqual(await get(server.port, '/a%20b?q=x+y', { host: 'x' }), { status: 200, body: 'spaces' });
    assert.deepEqual(await get(server.port, '/a%20b?q=x', { host: 'x' }), { status: 404, body: 'none' });
    assert.deepEqual(await get(server.port, '/', { host: 'x', 'content-type': 'application/json' }, 'POST'), { status: 200, body: 'json' });
  } finally {
    await server.close();
  }
});
