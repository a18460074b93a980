/**
 * The dashboard in a real headless Chromium (Debian `chromium`), driven by
 * playwright-core with `executablePath` (no browser download). Asserts: no
 * console errors, the routers of the test configuration are shown, the RPS of
 * the traffic sent here becomes visible, a tap row opens its details, the page
 * works under a prefixed router and on a phone-sized screen. Screenshots go to
 * test-results/ (kept as CI artifacts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveUpstream } from './support/handler-server.js';
import { startGateway } from './support/gateway.js';
import { dashboardSize } from '../src/admin/dashboard.js';

/** Absolute path of an installed Chromium (`which chromium`), or undefined. */
function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const candidates = [
    ...(fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : []),
    ...['chromium', 'chromium-browser', 'google-chrome'].flatMap((b) => dirs.map((d) => join(d, b))),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not there
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();

/** Page errors, console errors and failed requests (an aborted EventSource on navigation is not one). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`exception: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') errors.push(`console.${m.type()}: ${m.text()} ${m.location().url}`);
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (!why.includes('ERR_ABORTED')) errors.push(`request failed: ${r.url()} ${why}`);
  });
  return errors;
}

/**
 * Wait until `expression` is truthy in the page; on timeout fail with the page
 * text. Polls with page.evaluate (DevTools evaluation, not subject to the
 * page's CSP, which forbids eval and so page.waitForFunction with a string).
 */
async function until(page: Page, expression: string, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      if (await page.evaluate(expression)) return;
    } catch (err) {
      last = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const body = await page.evaluate('document.body ? document.body.innerText.slice(0, 2000) : ""').catch(() => '');
  assert.fail(`timed out waiting for ${what}${last !== '' ? ` (last error: ${last})` : ''}; page text:\n${String(body)}`);
}

async function evaluate<T>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

async function navigate(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'load', timeout: 10_000 });
  await until(page, 'document.readyState === "complete" && !!document.getElementById("routers")', 10_000, `${url} to load`);
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: join('test-results', name), fullPage: true });
}

test('dashboard assets are light', () => {
  const s = dashboardSize();
  assert.ok(s.raw < 300_000, `raw ${s.raw} bytes`);
  assert.ok(s.gzip < 60_000, `gzip ${s.gzip} bytes`);
});

test(
  'dashboard in headless Chromium: overview, live RPS, topology, tap details, prefix, phone',
  {
    skip:
      CHROMIUM === undefined
        ? 'Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH): dashboard browser test skipped'
        : false,
    timeout: 90_000,
  },
  async () => {
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
    let browser: Browser | null = null;
    let traffic: NodeJS.Timeout | null = null;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM!,
        headless: true,
        timeout: 30_000,
        args: ['--disable-gpu', '--disable-dev-shm-usage'],
      });
      const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await desktop.newPage();
      const errors = collectErrors(page);
      // Traffic from "the test's" callers, about 20 requests per second.
      let n = 0;
      traffic = setInterval(() => {
        n++;
        void request(`${gw.url}/add/${n % 10}/2`, { headers: { 'x-test': 'dash' } }).then(
          (r) => r.body.dump(),
          () => undefined,
        );
      }, 50);

      // Overview: the routers of the configuration, their services and middlewares.
      await navigate(page, `${gw.admin}/dashboard/`);
      await until(page, 'document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table');
      const overview = await page.innerText('#tab-overview');
      for (const s of ['calc@file', 'dash@file', 'add-svc@file', 'strip-gh@file', 'PathPrefix(`/add`)', upstream.url])
        assert.ok(overview.includes(s), `overview shows ${s}`);
      assert.match((await page.textContent('#rev')) ?? '', /^revision \d+$/);
      await screenshot(page, 'dashboard-overview.png');

      // Traffic: the RPS of calc@file becomes visible (> 0) and its charts draw.
      await page.evaluate('location.hash = "#traffic"');
      await until(
        page,
        `Array.from(document.querySelectorAll('#stat tr[data-name="calc@file"] td')).some((td) => /^[1-9][0-9.]* rps$|^0\\.[0-9]*[1-9][0-9]* rps$/.test(td.textContent))`,
        15_000,
        'a non-zero RPS for calc@file',
      );
      const row = await page.locator('#stat tr[data-name="calc@file"] td').allTextContents();
      const rps = Number(/^([\d.]+) rps$/.exec(row[2] ?? '')?.[1]);
      assert.ok(rps > 1 && rps < 200, `rps ${rps}`);
      assert.match(row[1] ?? '', /^\d+\.\d\d%$/, 'success rate shown');
      await page.click('#stat tr[data-name="calc@file"]');
      await until(page, `document.querySelectorAll('#charts svg path').length >= 3`, 10_000, 'the last-hour charts');
      assert.match(await page.innerText('#top'), /\/add\/\{n\}\/\{n\}/);
      await screenshot(page, 'dashboard-traffic.png');

      // Topology: an edge from the caller through calc@file to the server.
      await page.evaluate('location.hash = "#topology"');
      await until(
        page,
        `document.querySelector('#topology svg') !== null && document.getElementById('edges').innerText.includes('add-svc@file')`,
        10_000,
        'the topology graph',
      );
      assert.ok((await page.locator('#topology svg rect').count()) >= 4);

      // Tap: rows arrive live; a click opens the details of one call (headers included).
      await page.evaluate('location.hash = "#tap"');
      await until(page, `document.querySelectorAll('#tap-rows tr.tap-row').length >= 3`, 10_000, 'tap rows');
      // A real click on the first row (rows are re-rendered live: click by evaluation to avoid a detached element).
      await page.evaluate(`document.querySelector('#tap-rows tr.tap-row').click()`);
      await until(page, `document.querySelector('#tap-rows tr.tap-detail pre') !== null`, 5000, 'tap details');
      const detail = JSON.parse(
        await evaluate<string>(page, `document.querySelector('#tap-rows tr.tap-detail pre').textContent`),
      ) as Record<string, unknown>;
      assert.equal(detail.router, 'calc@file');
      assert.equal(detail.service, 'add-svc@file');
      assert.match(String(detail.path), /^\/add\/\d\/2$/);
      assert.equal(typeof detail.latencyMs, 'number');
      assert.equal((detail.requestHeaders as Record<string, string>)['x-test'], 'dash');
      await screenshot(page, 'dashboard-tap.png');

      // Alerts tab renders (no rules configured here).
      await page.evaluate('location.hash = "#alerts"');
      await until(page, `document.getElementById('alerts').innerText.includes('No alert rules')`, 5000, 'the alerts table');

      // Served through a router under a prefix: relative URLs still reach the API.
      await navigate(page, `${gw.url}/gh/dashboard/`);
      await until(page, 'document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table under /gh');

      // A phone: nothing overflows the viewport sideways.
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      const mobile = await phone.newPage();
      const mobileErrors = collectErrors(mobile);
      await navigate(mobile, `${gw.admin}/dashboard/#traffic`);
      await until(mobile, `document.querySelectorAll('#stat tr[data-name]').length > 0`, 10_000, 'the traffic table on a phone');
      const overflow = await evaluate<number>(mobile, 'document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `page wider than a phone by ${overflow}px`);
      await screenshot(mobile, 'dashboard-phone.png');

      assert.deepEqual([...errors, ...mobileErrors], [], 'no console errors');
    } finally {
      if (traffic !== null) clearInterval(traffic);
      await browser?.close().catch(() => undefined);
      await gw.close();
      await upstream.close();
    }
  },
);
