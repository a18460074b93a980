/**
 * The dashboard in a real headless Chromium (Debian `chromium`), driven over
 * the DevTools protocol with undici's WebSocket (playwright-core is not a
 * dependency yet). Asserts: no console errors, the routers of the test
 * configuration are shown, the RPS of the traffic sent here becomes visible,
 * a tap row opens its details, the page works under a prefixed router and on
 * a phone-sized screen. Screenshots go to test-results/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { WebSocket } from 'undici';
import { serveUpstream } from '../src/testing/handler-server.js';
import { startGateway } from './support/gateway.js';
import { dashboardSize } from '../src/admin/dashboard.js';

const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0);

class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: Array<{ method: string; params: Record<string, unknown> }> = [];
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown> };
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error.message));
        else p?.resolve(m.result);
      } else if (m.method !== undefined) this.events.push({ method: m.method, params: m.params ?? {} });
    });
  }
  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const t = setTimeout(() => reject(new Error('CDP connect timeout')), 10_000);
      ws.addEventListener('open', () => {
        clearTimeout(t);
        resolve(new Cdp(ws));
      });
      ws.addEventListener('error', () => {
        clearTimeout(t);
        reject(new Error('CDP connect failed'));
      });
    });
  }
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`CDP ${method} timed out`));
      }, 15_000);
      this.pending.set(id, { resolve: (v) => (clearTimeout(t), resolve(v as T)), reject: (e) => (clearTimeout(t), reject(e)) });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  /** Evaluate an expression in the page and return its JSON value. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails !== undefined) throw new Error(`page: ${r.exceptionDetails.text}`);
    return r.result.value as T;
  }
  async until(expression: string, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await this.eval<boolean>(expression).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const body = await this.eval<string>('document.body ? document.body.innerText.slice(0, 2000) : ""').catch(() => '');
    assert.fail(`timed out waiting for ${what}; page text:\n${body}`);
  }
  errors(): string[] {
    const out: string[] = [];
    for (const e of this.events) {
      if (e.method === 'Runtime.exceptionThrown') out.push(`exception: ${JSON.stringify((e.params.exceptionDetails as { text?: string; exception?: { description?: string } }) ?? {})}`);
      if (e.method === 'Runtime.consoleAPICalled' && (e.params.type === 'error' || e.params.type === 'assert')) out.push(`console.${String(e.params.type)}: ${JSON.stringify(e.params.args)}`);
      if (e.method === 'Log.entryAdded') {
        const entry = e.params.entry as { level: string; text: string; url?: string };
        if (entry.level === 'error') out.push(`log: ${entry.text} ${entry.url ?? ''}`);
      }
    }
    return out;
  }
  close(): void {
    this.ws.close();
  }
}

async function launch(bin: string, profile: string): Promise<{ proc: ChildProcess; ws: string }> {
  const proc = spawn(bin, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ws = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`chromium did not start: ${buf.slice(-500)}`)), 20_000);
    proc.stderr!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
      if (m !== null) {
        clearTimeout(t);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`chromium exited (${code}): ${buf.slice(-500)}`));
    });
  });
  proc.stderr!.resume();
  return { proc, ws };
}

async function pageSession(browserWs: string): Promise<Cdp> {
  const port = new URL(browserWs).port;
  const list = (await (await request(`http://127.0.0.1:${port}/json/list`)).body.json()) as Array<{ type: string; webSocketDebuggerUrl: string }>;
  const page = list.find((t) => t.type === 'page');
  assert.ok(page !== undefined, 'a page target');
  const cdp = await Cdp.connect(page.webSocketDebuggerUrl);
  await cdp.send('Runtime.enable');
  await cdp.send('Log.enable');
  await cdp.send('Page.enable');
  return cdp;
}

async function navigate(cdp: Cdp, url: string): Promise<void> {
  await cdp.send('Page.navigate', { url });
  await cdp.until('document.readyState === "complete" && !!document.getElementById("routers")', 10_000, `${url} to load`);
}

async function screenshot(cdp: Cdp, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  const r = await cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(join('test-results', name), Buffer.from(r.data, 'base64'));
}

test('dashboard assets are light', () => {
  const s = dashboardSize();
  assert.ok(s.raw < 300_000, `raw ${s.raw} bytes`);
  assert.ok(s.gzip < 60_000, `gzip ${s.gzip} bytes`);
});

test('dashboard in headless Chromium: overview, live RPS, topology, tap details, prefix, phone', { skip: CHROMIUM === undefined ? 'Chromium is not installed (apt-get install -y chromium): dashboard browser test skipped' : false, timeout: 90_000 }, async () => {
  const upstream = await serveUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/add/9') ? 500 : 200, { 'content-type': 'text/plain' }).end('3');
  });
  const gw = await startGateway({
    flags: ['--api.insecure'],
    files: {
      'dyn.yaml': `http:
  routers:
    calc:
      rule: PathPrefix(\`/add\`)
      entryPoints: [web]
      service: add-svc
    dash:
      rule: PathPrefix(\`/gh\`)
      entryPoints: [web]
      middlewares: [strip-gh]
      service: api@internal
  middlewares:
    strip-gh:
      stripPrefix:
        prefixes: [/gh]
  services:
    add-svc:
      loadBalancer:
        servers:
          - url: ${upstream.url}
`,
    },
  });
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  let browser: ChildProcess | null = null;
  let cdp: Cdp | null = null;
  let traffic: NodeJS.Timeout | null = null;
  try {
    const launched = await launch(CHROMIUM!, profile);
    browser = launched.proc;
    cdp = await pageSession(launched.ws);
    // Traffic from "the test's" callers, about 20 requests per second.
    let n = 0;
    traffic = setInterval(() => {
      n++;
      void request(`${gw.url}/add/${n % 10}/2`, { headers: { 'x-test': 'dash' } }).then((r) => r.body.dump(), () => undefined);
    }, 50);

    // Overview: the routers of the configuration, their services and middlewares.
    await navigate(cdp, `${gw.admin}/dashboard/`);
    await cdp.until('document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table');
    const overview = await cdp.eval<string>('document.getElementById("tab-overview").innerText');
    for (const s of ['calc@file', 'dash@file', 'add-svc@file', 'strip-gh@file', 'PathPrefix(`/add`)', upstream.url]) assert.ok(overview.includes(s), `overview shows ${s}`);
    assert.match(await cdp.eval<string>('document.getElementById("rev").textContent'), /^revision \d+$/);
    await screenshot(cdp, 'dashboard-overview.png');

    // Traffic: the RPS of calc@file becomes visible (> 0) and its charts draw.
    await cdp.eval('location.hash = "#traffic"');
    await cdp.until(
      `Array.from(document.querySelectorAll('#stat tr[data-name="calc@file"] td')).some((td) => /^[1-9][0-9.]* rps$|^0\\.[0-9]*[1-9][0-9]* rps$/.test(td.textContent))`,
      15_000,
      'a non-zero RPS for calc@file',
    );
    const row = await cdp.eval<string[]>(`Array.from(document.querySelectorAll('#stat tr[data-name="calc@file"] td')).map((td) => td.textContent)`);
    const rps = Number(/^([\d.]+) rps$/.exec(row[2] ?? '')?.[1]);
    assert.ok(rps > 1 && rps < 200, `rps ${rps}`);
    assert.match(row[1] ?? '', /^\d+\.\d\d%$/, 'success rate shown');
    await cdp.eval(`document.querySelector('#stat tr[data-name="calc@file"]').click()`);
    await cdp.until(`document.querySelectorAll('#charts svg path').length >= 3`, 10_000, 'the last-hour charts');
    assert.match(await cdp.eval<string>('document.getElementById("top").innerText'), /\/add\/\{n\}\/\{n\}/);
    await screenshot(cdp, 'dashboard-traffic.png');

    // Topology: an edge from the caller through calc@file to the server.
    await cdp.eval('location.hash = "#topology"');
    await cdp.until(`document.querySelector('#topology svg') !== null && document.getElementById('edges').innerText.includes('add-svc@file')`, 10_000, 'the topology graph');
    assert.ok((await cdp.eval<number>(`document.querySelectorAll('#topology svg rect').length`)) >= 4);

    // Tap: rows arrive live; a click opens the details of one call (headers included).
    await cdp.eval('location.hash = "#tap"');
    await cdp.until(`document.querySelectorAll('#tap-rows tr.tap-row').length >= 3`, 10_000, 'tap rows');
    await cdp.eval(`document.querySelector('#tap-rows tr.tap-row').click()`);
    await cdp.until(`document.querySelector('#tap-rows tr.tap-detail pre') !== null`, 5000, 'tap details');
    const detail = JSON.parse(await cdp.eval<string>(`document.querySelector('#tap-rows tr.tap-detail pre').textContent`)) as Record<string, unknown>;
    assert.equal(detail.router, 'calc@file');
    assert.equal(detail.service, 'add-svc@file');
    assert.match(String(detail.path), /^\/add\/\d\/2$/);
    assert.equal(typeof detail.latencyMs, 'number');
    assert.equal((detail.requestHeaders as Record<string, string>)['x-test'], 'dash');
    await screenshot(cdp, 'dashboard-tap.png');

    // Alerts tab renders (no rules configured here).
    await cdp.eval('location.hash = "#alerts"');
    await cdp.until(`document.getElementById('alerts').innerText.includes('No alert rules')`, 5000, 'the alerts table');

    // Served through a router under a prefix: relative URLs still reach the API.
    await navigate(cdp, `${gw.url}/gh/dashboard/`);
    await cdp.until('document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table under /gh');

    // A phone: nothing overflows the viewport sideways.
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true });
    await navigate(cdp, `${gw.admin}/dashboard/#traffic`);
    await cdp.until(`document.querySelectorAll('#stat tr[data-name]').length > 0`, 10_000, 'the traffic table on a phone');
    const overflow = await cdp.eval<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `page wider than a phone by ${overflow}px`);
    await screenshot(cdp, 'dashboard-phone.png');

    assert.deepEqual(cdp.errors(), [], 'no console errors');
  } finally {
    if (traffic !== null) clearInterval(traffic);
    cdp?.close();
    if (browser !== null && browser.exitCode === null) {
      const exited = new Promise((r) => browser!.once('exit', r));
      browser.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (browser.exitCode === null) browser.kill('SIGKILL');
    }
    await gw.close();
    await upstream.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
