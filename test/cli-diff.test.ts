/**
 * `gatehouse diff`: a candidate configuration against the running gateway —
 * added, removed and changed routers, services and middlewares with the
 * changed fields; secret-like values never printed; exit 0 / 1 / 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from './support/gateway.js';
import { diffMain } from '../src/cli/diff-command.js';

const RUNNING = `http:
  routers:
    calc:
      rule: Host(\`calc.test\`)
      service: calc
      middlewares: [auth]
    old:
      rule: Host(\`old.test\`)
      service: calc
  middlewares:
    auth:
      basicAuth:
        users: ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
  services:
    calc:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9001
`;

const CANDIDATE = `http:
  routers:
    calc:
      rule: Host(\`calc.test\`) && PathPrefix(\`/add\`)
      service: calc
      middlewares: [auth]
    new:
      rule: Host(\`new.test\`)
      service: calc
  middlewares:
    auth:
      basicAuth:
        users: ["other:$apr1$QJ7nVEvR$Rbzsn08mFkHMmzMsSvM3h."]
  services:
    calc:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9002
`;

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await diffMain(argv, env, { write: (s: string) => ((out += s), true) }, { write: (s: string) => ((err += s), true) });
  return { code, out, err };
}

test('gatehouse diff: what a directory would add, remove and change against the running gateway', { timeout: 60_000 }, async () => {
  const gw = await startGateway({ files: { 'routes.yaml': RUNNING }, flags: ['--api.insecure'] });
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-diff-'));
  try {
    const same = join(root, 'same');
    const cand = join(root, 'cand');
    mkdirSync(same);
    mkdirSync(cand);
    writeFileSync(join(same, 'routes.yaml'), RUNNING);
    writeFileSync(join(cand, 'routes.yaml'), CANDIDATE);
    const ep = ['--entrypoints.web.address=:8000'];

    const none = await run([...ep, `--providers.file.directory=${same}`, '--admin', gw.admin]);
    assert.equal(none.code, 0, none.out + none.err);
    assert.match(none.out, /no differences/);
    assert.match(none.out, new RegExp(`diff against the gateway at ${gw.admin.replace(/[.:/]/g, '\\$&')}`));

    const d = await run([...ep, `--providers.file.directory=${cand}`, '--admin', gw.admin]);
    assert.equal(d.code, 1, d.out + d.err);
    assert.match(d.out, /^\+ router new@file$/m);
    assert.match(d.out, /^ {4}rule: "Host\(`new\.test`\)"$/m);
    assert.match(d.out, /^- router old@file$/m);
    assert.match(d.out, /^~ router calc@file$/m);
    assert.match(d.out, /^ {4}rule: "Host\(`calc\.test`\)" → "Host\(`calc\.test`\) && PathPrefix\(`\/add`\)"$/m);
    assert.match(d.out, /^~ service calc@file$/m);
    assert.match(d.out, /loadBalancer\.servers\[0\]\.url: "http:\/\/127\.0\.0\.1:9001" → "http:\/\/127\.0\.0\.1:9002"/);
    assert.match(d.out, /^~ middleware auth@file$/m);
    assert.match(d.out, /basicAuth\.users\[0\]: \(secret\) → \(secret\)/);
    assert.doesNotMatch(d.out, /apr1/, 'no secret value printed');
    assert.doesNotMatch(d.out, /@internal/);
    assert.match(d.out, /1 to add, 3 to change, 1 to remove/);

    const usage = await run([`--providers.file.directory=${cand}`]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--admin URL/);
  } finally {
    rmSync(root, { recursive: true, force: true });
    await gw.close();
  }
});
