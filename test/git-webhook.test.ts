/**
 * The git provider's webhook, POST /api/providers/git/hook: a GitHub
 * (X-Hub-Signature-256), GitLab (X-Gitlab-Token) or generic (X-Signature)
 * delivery reconciles at once; a bad signature is 401, SHA-1 alone is
 * refused, a malformed signature is 400, a replayed delivery is ignored, a
 * body over 1 MiB is 413, anything but POST is 405 — with 1 and 2 workers
 * (the delivery log is the primary's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve } from '../src/server/serve.js';
import { silentLogger } from '../src/log.js';
import { eventually, listenLoopback } from './support/gateway.js';
import { TestRepo } from './support/git-repo.js';

const SECRET = 'a-webhook-secret-0123456789';
const route = (name: string, port: number): string =>
  `http:\n  routers:\n    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${port}\n`;
const sign = (body: string): string => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

for (const workers of [1, 2]) {
  test(`git webhook: signatures, replays, limits, and an immediate reconcile (--workers ${workers})`, { timeout: 90_000 }, async () => {
    const up = createServer((_q, s) => s.end('ok'));
    const port = await listenLoopback(up);
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-hook-'));
    const repo = new TestRepo(join(root, 'origin'));
    repo.commit({ 'config/a.yaml': route('a', port) }, 'a');
    writeFileSync(join(root, 'hook-secret'), `${SECRET}\n`);
    const argv = [
      '--entrypoints.web.address=127.0.0.1:0',
      '--entrypoints.traefik.address=127.0.0.1:0',
      '--api.insecure',
      `--providers.git.url=${repo.url}`,
      '--providers.git.paths=config',
      '--providers.git.interval=1h',
      `--providers.git.webhook.secretfile=${join(root, 'hook-secret')}`,
      '--providers.providersThrottleDuration=0s',
      `--workers=${workers}`,
      '--log.level=ERROR',
      `--datadir=${join(root, 'data')}`,
    ];
    const gw = await serve(serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root), { log: silentLogger });
    const web = `http://127.0.0.1:${gw.addresses.web!.port}`;
    const hook = `http://127.0.0.1:${gw.addresses.traefik!.port}/api/providers/git/hook`;
    const get = async (host: string): Promise<number> => {
      const r = await request(web, { headers: { host } });
      await r.body.dump();
      return r.statusCode;
    };
    const post = async (
      headers: Record<string, string>,
      body = '{"ref":"refs/heads/main"}',
    ): Promise<{ status: number; message: string }> => {
      const r = await request(hook, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const j = (await r.body.json()) as { message: string };
      return { status: r.statusCode, message: j.message };
    };
    try {
      assert.ok(await eventually(async () => (await get('a.test')) === 200, 20_000), 'the first revision serves');
      repo.commit({ 'config/b.yaml': route('b', port) }, 'b');
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(await get('b.test'), 404, 'no reconcile before the hook (interval 1h)');

      // Refused deliveries change nothing.
      const body = '{"ref":"refs/heads/main"}';
      let r = await post({ 'x-hub-signature-256': sign('another body'), 'x-github-delivery': 'd0' }, body);
      assert.equal(r.status, 401);
      assert.match(r.message, /does not match/);
      r = await post({ 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}` }, body);
      assert.equal(r.status, 401);
      assert.match(r.message, /SHA-1\) is refused/);
      r = await post({ 'x-hub-signature-256': 'sha256=nothex' }, body);
      assert.equal(r.status, 400);
      r = await post({}, body);
      assert.equal(r.status, 401);
      assert.match(r.message, /no signature/);
      r = await post({ 'x-gitlab-token': `${SECRET}x` }, body);
      assert.equal(r.status, 401);
      const big = 'x'.repeat(1024 * 1024 + 1);
      r = await post({ 'x-hub-signature-256': sign(big) }, big);
      assert.equal(r.status, 413);
      const g = await request(hook);
      assert.equal(g.statusCode, 405);
      assert.equal(g.headers.allow, 'POST');
      await g.body.dump();
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(await get('b.test'), 404, 'refused deliveries reconcile nothing');

      // A good GitHub delivery reconciles now.
      r = await post({ 'x-hub-signature-256': sign(body), 'x-github-delivery': 'd1' }, body);
      assert.equal(r.status, 202, r.message);
      assert.match(r.message, /reconciling now \(github delivery d1\)/);
      assert.ok(await eventually(async () => (await get('b.test')) === 200, 20_000), 'the hook reconciled');
      // Its replay is ignored.
      r = await post({ 'x-hub-signature-256': sign(body), 'x-github-delivery': 'd1' }, body);
      assert.equal(r.status, 202);
      assert.match(r.message, /already handled: ignored/);

      // GitLab and generic deliveries too.
      repo.commit({ 'config/c.yaml': route('c', port) }, 'c');
      r = await post({ 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'g1' }, body);
      assert.equal(r.status, 202, r.message);
      assert.ok(await eventually(async () => (await get('c.test')) === 200, 20_000), 'the GitLab hook reconciled');
      repo.commit({ 'config/d.yaml': route('d', port) }, 'd');
      r = await post({ 'x-signature': sign(body), 'x-delivery-id': 'x1' }, body);
      assert.equal(r.status, 202, r.message);
      assert.ok(await eventually(async () => (await get('d.test')) === 200, 20_000), 'the generic hook reconciled');
    } finally {
      await gw.close();
      up.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('git webhook without a secret file answers 404 and says how to enable it', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-hook-'));
  const argv = [
    '--entrypoints.web.address=127.0.0.1:0',
    '--entrypoints.traefik.address=127.0.0.1:0',
    '--api.insecure',
    `--providers.file.directory=${root}`,
    '--workers=1',
    '--log.level=ERROR',
    `--datadir=${join(root, 'data')}`,
  ];
  const gw = await serve(serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root), { log: silentLogger });
  try {
    const r = await request(`http://127.0.0.1:${gw.addresses.traefik!.port}/api/providers/git/hook`, { method: 'POST', body: '{}' });
    assert.equal(r.statusCode, 404);
    assert.match(((await r.body.json()) as { message: string }).message, /--providers\.git\.webhook\.secretfile/);
  } finally {
    await gw.close();
    rmSync(root, { recursive: true, force: true });
  }
});
