import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { addCliMain, clientCredentialsTokenProvider, formatReport, parseServer, runAddCli, type AddCliReport } from './add-cli.js';
import { addHttpListener, startAddServer } from './add-server.js';

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(new URLSearchParams(body)));
  });
}

test('parseServer', () => {
  assert.deepEqual(parseServer('http://localhost:8000'), { kind: 'http', origin: 'http://localhost:8000', prefix: '' });
  assert.deepEqual(parseServer('add-svc:80'), { kind: 'http', origin: 'http://add-svc', prefix: '' });
  assert.deepEqual(parseServer('add-svc'), { kind: 'http', origin: 'http://add-svc', prefix: '' });
  assert.deepEqual(parseServer('127.0.0.1:8081/calc/'), { kind: 'http', origin: 'http://127.0.0.1:8081', prefix: '/calc' });
  assert.deepEqual(parseServer('grpc://127.0.0.1:9091'), { kind: 'grpc', address: '127.0.0.1:9091', tls: false });
  assert.deepEqual(parseServer('grpcs://calc.example:443'), { kind: 'grpc', address: 'calc.example:443', tls: true });
  assert.throws(() => parseServer('http://[bad'), /invalid server/);
});

test('formatReport', () => {
  const r: AddCliReport = {
    ok: 50,
    failed: 0,
    rps: 50,
    p50Ms: 1.23,
    p99Ms: 3.41,
    lastError: null,
    at: new Date('2026-11-24T13:00:01.250Z'),
  };
  assert.equal(formatReport(r), '2026-11-24T13:00:01Z ok=50 failed=0 rps=50.0 p50=1.2ms p99=3.4ms last_error=-');
  assert.match(formatReport({ ...r, failed: 2, lastError: '401 Unauthorized' }), / failed=2 .* last_error=401 Unauthorized$/);
});

test('HTTP: ~1 s against a real add server, with a Host header and a rate', async (t) => {
  const hosts = new Set<string>();
  const listener = addHttpListener('h1');
  const srv = await listen(createServer((req, res) => (hosts.add(req.headers.host ?? ''), listener(req, res))));
  t.after(() => srv.close());
  const reports: AddCliReport[] = [];
  const total = await runAddCli({
    server: srv.url,
    rate: 100,
    concurrency: 4,
    durationMs: 1100,
    hostHeader: 'calc.127.0.0.1.nip.io',
    onReport: (r) => reports.push(r),
  });
  assert.equal(total.failed, 0, String(total.lastError));
  assert.ok(total.ok >= 60 && total.ok <= 125, `ok=${total.ok} at rate 100 for 1.1 s`);
  assert.equal(total.lastError, null);
  assert.ok(total.p99Ms >= total.p50Ms && total.p50Ms > 0);
  assert.ok(reports.length >= 1 && reports[0]!.ok > 0);
  assert.deepEqual([...hosts], ['calc.127.0.0.1.nip.io']);
});

test('gRPC: against a real add server, flat out', async (t) => {
  const s = await startAddServer({ name: 'g1' });
  t.after(() => s.close());
  const total = await runAddCli({ server: `grpc://${s.grpcAddress}`, rate: 0, concurrency: 4, durationMs: 500 });
  assert.ok(total.ok > 50, `ok=${total.ok}`);
  assert.equal(total.failed, 0, String(total.lastError));
});

test('wrong sums and HTTP errors are failures named by status', async (t) => {
  let n = 0;
  const srv = await listen(
    createServer((_req, res) => {
      n++;
      if (n % 2 === 0) res.writeHead(401, { 'content-type': 'text/plain' }).end('no');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('42.5');
    }),
  );
  t.after(() => srv.close());
  const total = await runAddCli({ server: srv.url, rate: 0, concurrency: 1, durationMs: 300 });
  assert.equal(total.ok, 0);
  assert.ok(total.failed > 2);
  assert.ok(
    total.lastError === '401 Unauthorized' || /^wrong sum for .*: got "42.5", want /.test(total.lastError ?? ''),
    String(total.lastError),
  );
});

test('a stopped server gives failures, HTTP and gRPC, and the run still ends on time', async () => {
  const s = await startAddServer();
  const [http, grpcAddr] = [s.httpUrl, s.grpcAddress];
  await s.close();
  const t0 = Date.now();
  const h = await runAddCli({ server: http, rate: 50, durationMs: 400, timeoutMs: 1000 });
  assert.equal(h.ok, 0);
  assert.ok(h.failed > 5, `failed=${h.failed}`);
  assert.match(h.lastError ?? '', /ECONNREFUSED/);
  const g = await runAddCli({ server: `grpc://${grpcAddr}`, rate: 50, durationMs: 400, timeoutMs: 1000 });
  assert.equal(g.ok, 0);
  assert.ok(g.failed > 5, `failed=${g.failed}`);
  assert.match(g.lastError ?? '', /^UNAVAILABLE/);
  assert.ok(Date.now() - t0 < 4000);
});

test('a hung server is bounded by the per-call timeout', async (t) => {
  const srv = await listen(createServer(() => undefined));
  t.after(() => srv.close());
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 150);
  const t0 = Date.now();
  const total = await runAddCli({ server: srv.url, concurrency: 2, timeoutMs: 300, signal: ctl.signal });
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(total.failed, 2);
  assert.match(total.lastError ?? '', /timeout|aborted/i);
});

test('client credentials: the bearer token reaches the server and is refreshed before expiry', async (t) => {
  const forms: URLSearchParams[] = [];
  const tokenSrv = await listen(
    createServer(async (req, res) => {
      const form = await readForm(req);
      forms.push(form);
      if (req.method !== 'POST' || form.get('client_secret') !== 's3cret-value') {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"error":"invalid_client","error_description":"bad secret s3cret"}');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: `tok-${forms.length}`, token_type: 'Bearer', expires_in: 1 }));
    }),
  );
  t.after(() => tokenSrv.close());
  const auths = new Set<string>();
  const listener = addHttpListener('a1');
  const api = await listen(
    createServer((req, res) => {
      auths.add(req.headers.authorization ?? '');
      if (req.headers.authorization === undefined) res.writeHead(401).end();
      else listener(req, res);
    }),
  );
  t.after(() => api.close());

  const getToken = clientCredentialsTokenProvider({
    tokenUrl: `${tokenSrv.url}/tenant/oauth2/v2.0/token`,
    clientId: 'add-cli',
    clientSecret: 's3cret-value',
    scope: 'api://add/.default',
  });
  const total = await runAddCli({ server: api.url, rate: 100, concurrency: 2, durationMs: 1500, getToken });
  assert.equal(total.failed, 0, String(total.lastError));
  assert.ok(total.ok > 100);
  assert.equal(forms[0]?.get('grant_type'), 'client_credentials');
  assert.equal(forms[0]?.get('client_id'), 'add-cli');
  assert.equal(forms[0]?.get('scope'), 'api://add/.default');
  // expires_in=1 → refreshed every ~0.9 s: 2 tokens in 1.5 s, one request per refresh.
  assert.ok(forms.length >= 2 && forms.length <= 3, `token requests: ${forms.length}`);
  assert.ok(auths.has('Bearer tok-1') && auths.has('Bearer tok-2'), [...auths].join(','));

  // A refused secret: failures name the token endpoint's answer, never the secret.
  const bad = clientCredentialsTokenProvider({ tokenUrl: `${tokenSrv.url}/t`, clientId: 'add-cli', clientSecret: 'wrong-secret' });
  const before = forms.length;
  const failed = await runAddCli({ server: api.url, rate: 0, concurrency: 4, durationMs: 300, getToken: bad });
  assert.equal(failed.ok, 0);
  assert.equal(failed.lastError, 'token: token endpoint answered 401 Unauthorized: invalid_client');
  assert.ok(forms.length - before <= 1, 'failures are not retried more than once a second');
});

test('addCliMain: env and flags, one line per second, secret never printed nor accepted as a flag', async (t) => {
  const tokenSrv = await listen(
    createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"tk","expires_in":3600}')),
  );
  const s = await startAddServer({ grpcPort: null });
  t.after(() => Promise.all([tokenSrv.close(), s.close()]));
  let out = '';
  const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
  const env = { SERVER: s.httpUrl, RATE: '20', MY_SECRET: 'top-secret-xyz' };
  await addCliMain(
    ['--duration', '1.2s', '--token-url', `${tokenSrv.url}/token`, '--client-id', 'cli', '--client-secret-env', 'MY_SECRET'],
    env,
    sink,
  );
  const lines = out.trim().split('\n');
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ok=\d+ failed=0 rps=\d+\.\d p50=\d+\.\dms p99=\d+\.\dms last_error=-$/);
  assert.match(lines.at(-1) ?? '', /^total ok=2\d failed=0 /);
  assert.ok(!out.includes('top-secret-xyz'));
  await assert.rejects(addCliMain(['--client-secret', 'x'], env, sink), /environment variable/);
  await assert.rejects(
    addCliMain(['--token-url', 'http://127.0.0.1:1/t', '--client-id', 'c'], { SERVER: s.httpUrl }, sink),
    /CLIENT_SECRET/,
  );
  await assert.rejects(addCliMain(['--rate', 'fast'], env, sink), /invalid rate "fast"/);
  await assert.rejects(addCliMain([], {}, sink), /no server/);
});
