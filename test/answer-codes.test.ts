/**
 * The gateway's own answers carry their code end to end: the JSON access log
 * field `GatehouseCode` (absent when the backend answered), tap events, and
 * `gatehouse_answers_total{code,entrypoint}`, with one worker and with two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback } from './support/gateway.js';
import { tapMain } from '../src/cli/tap.js';

class Buf {
  s = '';
  write(x: string): boolean {
    this.s += x;
    return true;
  }
}

async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(url, { headers });
  await r.body.dump();
  return r.statusCode;
}

for (const workers of [1, 2]) {
  test(`answer codes in the access log, tap and metrics (--workers ${workers})`, { timeout: 60_000 }, async () => {
    const up = createServer((_req, res) => res.end('ok'));
    const port = await listenLoopback(up);
    const dir = mkdtempSync(join(tmpdir(), 'gh-codes-'));
    const log = join(dir, 'access.json');
    const gw = await startGateway({
      workers,
      flags: [
        '--api.insecure',
        '--metrics.prometheus',
        '--accesslog.format=json',
        `--accesslog.filepath=${log}`,
        '--accesslog.bufferingsize=0',
      ],
      files: {
        'r.yaml': `http:
  routers:
    ok: { rule: "Host(\`ok.test\`)", service: ok }
    down: { rule: "Host(\`down.test\`)", service: down }
  services:
    ok: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${port}" }] } }
    down: { loadBalancer: { servers: [{ url: "http://127.0.0.1:1" }] } }
`,
      },
    });
    const out = new Buf();
    const ac = new AbortController();
    const tap = tapMain(['-o', 'json', '--admin', gw.admin], {}, out, new Buf(), ac.signal);
    try {
      assert.ok(
        await eventually(
          async () => {
            await get(`${gw.url}/probe`, { host: 'nowhere.test' });
            return out.s.includes('"type":"end"');
          },
          8000,
          50,
        ),
        'the tap opened',
      );
      assert.equal(await get(`${gw.url}/`, { host: 'ok.test' }), 200);
      assert.equal(await get(`${gw.url}/`, { host: 'down.test' }), 502);
      assert.equal(await get(`${gw.url}/x`, { host: 'nowhere.test' }), 404);

      // Metrics: the aggregate of every worker.
      assert.ok(
        await eventually(async () => {
          const text = await (await request(`${gw.admin}/metrics`)).body.text();
          return (
            /gatehouse_answers_total\{code="GH_UPSTREAM_FAILED",entrypoint="web"\} 1\b/.test(text) &&
            /gatehouse_answers_total\{code="GH_NO_ROUTER",entrypoint="web"\} [2-9]/.test(text)
          );
        }, 8000),
        'gatehouse_answers_total counts each code',
      );

      // Tap: the end events carry the code, and none for the backend's answer.
      assert.ok(await eventually(() => out.s.includes('down.test'), 5000), 'tap saw the 502');
      const events = out.s
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; authority: string; code?: string });
      const ends = events.filter((e) => e.type === 'end');
      assert.equal(ends.find((e) => e.authority === 'down.test')?.code, 'GH_UPSTREAM_FAILED');
      assert.equal(ends.find((e) => e.authority === 'ok.test')?.code, undefined);
      assert.equal(ends.find((e) => e.authority === 'nowhere.test')?.code, 'GH_NO_ROUTER');
    } finally {
      ac.abort();
      await tap;
      await gw.close();
      up.close();
    }
    // Access log: GatehouseCode only where the gateway answered.
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const by = (host: string): Record<string, unknown> | undefined => lines.find((l) => l.RequestHost === host);
    assert.equal(by('ok.test')?.GatehouseCode, undefined);
    assert.equal(by('ok.test')?.DownstreamStatus, 200);
    assert.equal(by('down.test')?.GatehouseCode, 'GH_UPSTREAM_FAILED');
    assert.equal(by('nowhere.test')?.GatehouseCode, 'GH_NO_ROUTER');
    rmSync(dir, { recursive: true, force: true });
  });
}
