/**
 * Traffic through the gateway does not fail while git revisions change
 * (issue 12's proof): a client keeps sending requests to one route while 20
 * commits each change the configuration (a new router every time); every
 * response is counted, every one must be 200, and each revision is applied.
 * With 1 and 2 workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseStaticConfig } from '../src/config/static.js';
import { serveOptionsFromStatic } from '../src/server/options-from-static.js';
import { serve } from '../src/server/serve.js';
import { silentLogger } from '../src/log.js';
import { eventually, listenLoopback } from './support/gateway.js';
import { TestRepo } from './support/git-repo.js';

const routes = (port: number, n: number): string => {
  let extra = '';
  for (let i = 1; i <= n; i++) extra += `    r${i}:\n      rule: Host(\`r${i}.test\`)\n      service: s\n`;
  return `http:\n  routers:\n    calc:\n      rule: Host(\`calc.test\`)\n      service: s\n${extra}  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${port}\n`;
};

for (const workers of [1, 2]) {
  test(`no request fails while 20 git revisions are applied (--workers ${workers})`, { timeout: 120_000 }, async () => {
    const up = createServer((_q, s) => s.end('20'));
    const port = await listenLoopback(up);
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-git-traffic-'));
    const repo = new TestRepo(join(root, 'origin'));
    repo.commit({ 'config/routes.yaml': routes(port, 0) }, 'r0');
    const argv = [
      '--entrypoints.web.address=127.0.0.1:0',
      '--entrypoints.traefik.address=127.0.0.1:0',
      `--providers.git.url=${repo.url}`,
      '--providers.git.paths=config',
      '--providers.git.interval=100ms',
      '--providers.providersThrottleDuration=0s',
      `--workers=${workers}`,
      '--log.level=ERROR',
      `--datadir=${join(root, 'data')}`,
    ];
    const gw = await serve(serveOptionsFromStatic(parseStaticConfig({ argv, env: {}, cwd: root }), root), { log: silentLogger });
    const web = `http://127.0.0.1:${gw.addresses.web!.port}`;
    const agent = new Agent({ connections: 8 });
    const status = async (host: string): Promise<number> => {
      const r = await request(web, { headers: { host }, dispatcher: agent });
      await r.body.dump();
      return r.statusCode;
    };
    const counts = new Map<number, number>();
    let stop = false;
    try {
      assert.ok(await eventually(async () => (await status('calc.test')) === 200, 20_000), 'the first revision serves');
      const client = async (): Promise<void> => {
        while (!stop) {
          let code = 0;
          try {
            code = await status('calc.test');
          } catch {
            code = -1;
          }
          counts.set(code, (counts.get(code) ?? 0) + 1);
        }
      };
      const clients = Array.from({ length: 8 }, () => client());
      for (let n = 1; n <= 20; n++) {
        repo.commit({ 'config/routes.yaml': routes(port, n) }, `r${n}`);
        // Each revision is applied before the next commit (the new router answers).
        assert.ok(await eventually(async () => (await status(`r${n}.test`)) === 200, 20_000, 20), `revision ${n} applied`);
      }
      stop = true;
      await Promise.all(clients);
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      assert.ok((counts.get(200) ?? 0) > 200, `traffic flowed: ${JSON.stringify([...counts])}`);
      assert.equal(total, counts.get(200), `every response is 200: ${JSON.stringify([...counts])}`);
      const git = gw.watcher.providerStatuses().find((p) => p.name === 'git');
      assert.equal(git?.lastAppliedRevision, `main@sha1:${repo.head()}`);
    } finally {
      stop = true;
      await agent.close();
      await gw.close();
      up.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
}
