import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { AccessLog, type AccessLogEntry } from './access-log.js';
import { accessLogEntryFromContext, exchangeRecordFromContext } from './from-context.js';
import { serveHandler } from '../../test/support/handler-server.js';
import { sendText } from '../http/answers.js';
import { MetricsStore } from './metrics.js';

const START = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    start: START,
    durationMs: 12.7,
    originDurationMs: 10,
    clientAddr: '10.0.0.5:41234',
    clientHost: '10.0.0.5',
    clientPort: '41234',
    clientUsername: '',
    requestMethod: 'GET',
    requestPath: '/add/10/10?x=1',
    requestProtocol: 'HTTP/1.1',
    requestScheme: 'http',
    requestHost: 'calc.local',
    requestPort: '8000',
    requestAddr: 'calc.local:8000',
    requestContentSize: 0,
    downstreamStatus: 200,
    downstreamContentSize: 2,
    originStatus: 200,
    originContentSize: 2,
    retryAttempts: 0,
    routerName: 'calc@file',
    serviceName: 'add-svc@file',
    serviceUrl: 'http://10.0.0.1:80',
    serviceAddr: '10.0.0.1:80',
    entryPointName: 'web',
    requestHeaders: {
      'user-agent': 'add-cli/1.0',
      referer: 'http://x/',
      authorization: 'Bearer secret-token',
      cookie: 'sid=secret-cookie',
      accept: '*/*',
    },
    responseHeaders: { 'set-cookie': 'sid=secret-set', 'content-type': 'text/plain' },
    ...over,
  };
}

function tempFile(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-accesslog-'));
  return { path: join(dir, 'access.log'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('common log format, as Traefik writes it, to a file', async () => {
  const f = tempFile();
  try {
    const log = new AccessLog({ filePath: f.path });
    log.log(entry());
    log.log(entry({ routerName: '', serviceUrl: '', downstreamStatus: 404, requestHeaders: {} }));
    await log.close();
    const lines = readFileSync(f.path, 'utf8').split('\n');
    assert.equal(lines.length, 3);
    assert.equal(
      lines[0],
      '10.0.0.5 - - [02/Jan/2024:03:04:05 +0000] "GET /add/10/10?x=1 HTTP/1.1" 200 2 "http://x/" "add-cli/1.0" 1 "calc@file" "http://10.0.0.1:80" 12ms',
    );
    assert.equal(lines[1], '10.0.0.5 - - [02/Jan/2024:03:04:05 +0000] "GET /add/10/10?x=1 HTTP/1.1" 404 2 "-" "-" 2 "-" "-" 12ms');
    assert.ok(!lines.join('').includes('secret'));
  } finally {
    f.cleanup();
  }
});

test('JSON format with Traefik field names; headers dropped by default; secrets never logged', async () => {
  const f = tempFile();
  try {
    const log = new AccessLog({ format: 'json', filePath: f.path, now: () => START + 20 });
    log.log(entry({ retryAttempts: 1 }));
    await log.close();
    const o = JSON.parse(readFileSync(f.path, 'utf8').trim());
    for (const k of [
      'ClientAddr',
      'ClientHost',
      'ClientPort',
      'ClientUsername',
      'DownstreamContentSize',
      'DownstreamStatus',
      'Duration',
      'OriginContentSize',
      'OriginDuration',
      'OriginStatus',
      'Overhead',
      'RequestAddr',
      'RequestContentSize',
      'RequestCount',
      'RequestHost',
      'RequestMethod',
      'RequestPath',
      'RequestPort',
      'RequestProtocol',
      'RequestScheme',
      'RetryAttempts',
      'RouterName',
      'ServiceAddr',
      'ServiceName',
      'ServiceURL',
      'StartLocal',
      'StartUTC',
      'entryPointName',
      'level',
      'msg',
      'time',
    ]) {
      assert.ok(k in o, `field ${k}`);
    }
    assert.equal(o.Duration, 12_700_000, 'nanoseconds');
    assert.equal(o.OriginDuration, 10_000_000);
    assert.equal(o.Overhead, 2_700_000);
    assert.equal(o.StartUTC, '2024-01-02T03:04:05.678Z');
    assert.equal(o.DownstreamStatus, 200);
    assert.equal(o.RetryAttempts, 1);
    assert.equal(o.RequestCount, 1);
    assert.equal(o.ClientUsername, '-');
    assert.equal(o.time, '2024-01-02T03:04:05Z');
    assert.equal(o.level, 'info');
    assert.ok(!Object.keys(o).some((k) => k.startsWith('request_') || k.startsWith('downstream_')), 'headers dropped by default');
  } finally {
    f.cleanup();
  }
});

test('fields: keep/redact headers and fields; Authorization and cookies stay out even when kept', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const log = new AccessLog({
    format: 'json',
    destination: sink,
    fields: {
      names: { ClientHost: 'drop', ClientAddr: 'redact' },
      headers: { defaultMode: 'keep', names: { 'User-Agent': 'redact', Authorization: 'keep', Cookie: 'keep' } },
    },
  });
  log.log(entry());
  await log.close();
  const o = JSON.parse(lines[0]!);
  assert.equal(o.ClientHost, undefined);
  assert.equal(o.ClientAddr, 'REDACTED');
  assert.equal(o['request_User-Agent'], 'REDACTED');
  assert.equal(o.request_Accept, '*/*');
  assert.equal(o['downstream_Content-Type'], 'text/plain');
  assert.equal(o.request_Authorization, undefined);
  assert.equal(o.request_Cookie, undefined);
  assert.equal(o['downstream_Set-Cookie'], undefined);
  assert.ok(!lines[0]!.includes('secret'));
});

test('filters: status codes, retries, min duration (any match keeps)', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const log = new AccessLog({ destination: sink, filters: { statusCodes: ['500-599', '404'], retryAttempts: true, minDurationMs: 100 } });
  log.log(entry({ downstreamStatus: 200 }));
  log.log(entry({ downstreamStatus: 503 }));
  log.log(entry({ downstreamStatus: 404 }));
  log.log(entry({ downstreamStatus: 200, retryAttempts: 2 }));
  log.log(entry({ downstreamStatus: 200, durationMs: 150 }));
  await log.close();
  assert.deepEqual(
    lines.map((l) => l.split(' ')[8]),
    ['503', '404', '200', '200'],
  );
  assert.equal(log.requestCount, 5);
  assert.throws(() => new AccessLog({ destination: sink, filters: { statusCodes: ['abc'] } }), /statusCodes/);
});

test('asynchronous and bounded: nothing written synchronously; a stuck destination drops beyond the buffer', async () => {
  let writes = 0;
  const stuck = new Writable({
    highWaterMark: 1,
    write(_c, _e, _cb) {
      writes++; /* never calls back */
    },
  });
  const log = new AccessLog({ destination: stuck, bufferingSize: 10 });
  log.log(entry());
  assert.equal(writes, 0, 'log() does not write synchronously');
  await new Promise((r) => setImmediate(r));
  assert.equal(writes, 1);
  for (let i = 0; i < 50; i++) log.log(entry());
  assert.equal(log.dropped, 40);
  stuck.destroy();
});

test('entries and exchange records from a real RequestContext', async () => {
  let captured: { entry: AccessLogEntry; rec: ReturnType<typeof exchangeRecordFromContext> } | null = null;
  const srv = await serveHandler((ctx) => {
    ctx.routerName = 'calc@file';
    ctx.serviceName = 'add-svc@file';
    ctx.serverUrl = 'http://127.0.0.1:9/add';
    ctx.caller = 'add-cli';
    sendText(ctx, 200, '20');
    captured = { entry: accessLogEntryFromContext(ctx), rec: exchangeRecordFromContext(ctx) };
  });
  try {
    const r = await request(`${srv.url}/add/10/10?v=1`, { headers: { 'user-agent': 'add-cli/1.0', authorization: 'Bearer x' } });
    assert.equal(await r.body.text(), '20');
  } finally {
    await srv.close();
  }
  assert.ok(captured !== null);
  const { entry: e, rec } = captured as { entry: AccessLogEntry; rec: ReturnType<typeof exchangeRecordFromContext> };
  assert.equal(e.requestPath, '/add/10/10?v=1');
  assert.equal(e.requestProtocol, 'HTTP/1.1');
  assert.equal(e.requestHost, '127.0.0.1');
  assert.equal(e.requestPort, String(srv.port));
  assert.equal(e.downstreamStatus, 200);
  assert.equal(e.downstreamContentSize, 2);
  assert.equal(e.serviceAddr, '127.0.0.1:9');
  assert.equal(e.clientHost, '127.0.0.1');
  assert.ok(Math.abs(e.start - Date.now()) < 5_000);
  const line = new AccessLog({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }).formatLine(e, 1);
  assert.match(
    line,
    /^127\.0\.0\.1 - - \[.+\] "GET \/add\/10\/10\?v=1 HTTP\/1\.1" 200 2 "-" "add-cli\/1\.0" 1 "calc@file" "http:\/\/127\.0\.0\.1:9\/add" \d+ms\n$/,
  );
  assert.equal(rec.caller, 'add-cli');
  assert.equal(rec.path, '/add/10/10');
  assert.equal(rec.protocol, 'http');
  const m = new MetricsStore();
  m.record(rec);
  assert.equal(m.stat('routers', 10_000)[0]?.requests, 1);
  assert.deepEqual(
    m.top(10_000).map((t) => t.path),
    ['/add/{n}/{n}'],
  );
});
