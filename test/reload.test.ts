/**
 * Hot reload through the file provider: changes apply within a second, a
 * file that does not parse keeps its last good objects, a broken item is
 * disabled with its error while the rest keeps serving, removal removes, and
 * no reload drops an in-flight request.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
let up: Server;
let port = 0;

const route = (name: string, host: string, extra = ''): string => `
http:
  routers:
    ${name}:
      rule: Host(\`${host}\`)
      service: ${name}-svc
${extra}
  services:
    ${name}-svc:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${port}" }]
`;

async function status(host: string, path = '/'): Promise<number> {
  const r = await request(`${gw.url}${path}`, { headers: { host } });
  await r.body.dump();
  return r.statusCode;
}

before(async () => {
  up = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), 1200);
    else res.end('ok');
  });
  port = await listenLoopback(up);
  gw = await startGateway({ files: { 'a.yaml': route('a', 'a.test') }, flags: ['--api.insecure'] });
});

after(async () => {
  await gw.close();
  up.close();
});

test('a new file is applied within a second', async () => {
  assert.equal(await status('b.test'), 404);
  const t0 = Date.now();
  gw.write('b.yaml', route('b', 'b.test'));
  assert.ok(await eventually(async () => (await status('b.test')) === 200, 3000));
  assert.ok(Date.now() - t0 < 1500, `applied after ${Date.now() - t0} ms`);
});

test('a file that does not parse keeps its last good objects, and the error is visible', async () => {
  gw.write('b.yaml', 'http:\n  routers:\n    b: [unclosed\n');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(await status('b.test'), 200, 'the previous good b.yaml still serves');
  const ov = await request(`${gw.admin}/api/overview`);
  const body = (await ov.body.json()) as { errors: string[] };
  assert.ok(
    body.errors.some((e) => /b\.yaml|parse|flow/i.test(e)),
    JSON.stringify(body.errors),
  );
});

test('a broken router is disabled with its error; the rest keeps serving', async () => {
  gw.write('c.yaml', route('c', 'c.test').replace('rule: Host(`c.test`)', 'rule: Host(`c.test`) && Pathh(`/x`)'));
  assert.ok(
    await eventually(async () => {
      const r = await request(`${gw.admin}/api/http/routers/c@file`);
      if (r.statusCode !== 200) {
        await r.body.dump();
        return false;
      }
      const j = (await r.body.json()) as { status: string; error?: string[] };
      return j.status === 'disabled' && (j.error ?? []).some((e) => /Pathh/.test(e) && /PathPrefix|Path/.test(e));
    }, 3000),
  );
  assert.equal(await status('a.test'), 200);
  assert.equal(await status('c.test'), 404);
});

test('removing a file removes its routers', async () => {
  rmSync(join(gw.dir, 'c.yaml'));
  rmSync(join(gw.dir, 'b.yaml'));
  assert.ok(await eventually(async () => (await status('b.test')) === 404, 3000));
});

test('a reload never drops an in-flight request', async () => {
  const inflight = request(`${gw.url}/slow`, { headers: { host: 'a.test' } });
  await new Promise((r) => setTimeout(r, 200));
  gw.write('a.yaml', route('a', 'a.test').replace('a-svc', 'a2-svc').replace('a-svc', 'a2-svc'));
  gw.write('d.yaml', route('d', 'd.test'));
  const r = await inflight;
  assert.equal(r.statusCode, 200);
  assert.equal(await r.body.text(), 'slow done');
  assert.ok(await eventually(async () => (await status('d.test')) === 200, 3000));
});
