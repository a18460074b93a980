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
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join('test-results', name), fullPage: true });
}

test('dashboard assets are light', () => {
  const s = dashboardSize();
  assert.ok(s.raw < 300_000, `raw ${s.raw} bytes`);
  assert.ok(s.gzip < 60_000, `gzip ${s.gzip} bytes`);
});

/** True when two of the elements matched by `selector` overlap on screen (more than 1 px each way). */
const OVERLAPS = (selector: string): string => `(() => {
  const r = Array.from(document.querySelectorAll(${JSON.stringify(selector)})).map((e) => e.getBoundingClientRect()).filter((b) => b.width > 0);
  for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
    const a = r[i], b = r[j];
    if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1) return true;
  }
  return false;
})()`;

test(
  'dashboard in headless Chromium: live overview, charts, detail deep link, refused configuration, topology, tap, prefix, phone',
  {
    skip:
      CHROMIUM === undefined
        ? 'Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH): dashboard browser test skipped'
        : false,
    timeout: 150_000,
  },
  async () => {
    // /add/7/… answers 401 (a wall of 4xx must be visible), /add/9/… 500.
    const upstream = await serveUpstream((req, res) => {
      const u = req.url ?? '';
      res.writeHead(u.startsWith('/add/9') ? 500 : u.startsWith('/add/7') ? 401 : 200, { 'content-type': 'text/plain' }).end('3');
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
    a-very-long-router-name-that-does-not-fit-in-a-box-or-a-phone-screen:
      rule: PathPrefix(\`/long\`) && Headers(\`X-Token\`, \`eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.c2lnbmF0dXJlLXRoYXQtaXMtcXVpdGUtbG9uZw\`)
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
        'extra.yaml': `http:
  routers:
    extra:
      rule: PathPrefix(\`/extra\`)
      service: add-svc@file
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
      const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/Paris' });
      const page = await desktop.newPage();
      const errors = collectErrors(page);
      // Live traffic, about 20 requests per second: 1 in 10 answers 401, 1 in 10 answers 500.
      let n = 0;
      traffic = setInterval(() => {
        n++;
        void request(`${gw.url}/add/${n % 10}/2`, { headers: { 'x-test': 'dash' } }).then(
          (r) => r.body.dump(),
          () => undefined,
        );
      }, 50);

      // Overview: the live figures come first (requests per second, success, p50/p95/p99, each with a sparkline).
      await navigate(page, `${gw.admin}/dashboard/`);
      await until(
        page,
        `(() => { const b = document.querySelectorAll('#figures .stat b'); return b.length === 5 && /^[1-9][0-9.]* req.s$/.test(b[0].textContent); })()`,
        30_000,
        // The rate is over the last minute: right after the traffic starts it is below 1 req/s (a CI run saw 0.83).
        'a request rate of at least 1 req/s on the overview',
      );
      const figures = await page.locator('#figures .stat').allInnerTexts();
      const rps = Number(/([\d.]+) req\/s/.exec(figures[0] ?? '')?.[1]);
      assert.ok(rps >= 1 && rps < 200, `rps ${rps}`);
      assert.match(figures[1] ?? '', /Success rate \(not 5xx\)\s+\d+\.\d\d%/);
      assert.match(figures[1] ?? '', /4xx \d/, '4xx shown apart');
      for (const [i, q] of [
        [2, 'p50'],
        [3, 'p95'],
        [4, 'p99'],
      ] as const)
        assert.match(figures[i] ?? '', new RegExp(`Latency ${q}\\s+[\\d.]+ (µs|ms|s)`));
      await until(page, `document.querySelectorAll('#figures svg.spark path').length === 5`, 15_000, 'a sparkline per figure');
      // Busiest routers by traffic, with sparklines and links to their detail.
      await until(page, `document.querySelector('#busy-routers a[href="#router/calc%40file"]') !== null`, 10_000, 'the busiest routers');
      assert.ok((await page.locator('#busy-routers td.sp svg path').count()) >= 1);
      // Providers: where the configuration comes from, ready, and the revision in force.
      await until(
        page,
        `/file/.test(document.getElementById('providers').innerText) && /Ready|ready/.test(document.getElementById('providers').innerText)`,
        10_000,
        'the providers table',
      );
      // TLS certificates: the generated default one, with its days to expiry; no DNS card without --dns.provider.
      await until(page, `/generated \\(default\\)/.test(document.getElementById('tls-certs').innerText)`, 10_000, 'the certificates table');
      assert.ok(await evaluate<boolean>(page, `document.getElementById('dns-card').classList.contains('hidden')`), 'no DNS card');
      // Charts: axes with units, a legend, 5-second points over 5 minutes.
      await until(page, `document.querySelectorAll('#ov-charts svg.plot').length === 3`, 10_000, 'the overview charts');
      const axis = await page.locator('#ov-charts .chart[data-chart="ov-lat"] text.axis').allTextContents();
      assert.ok(
        axis.some((t) => / (µs|ms|s)$/.test(t)),
        `latency axis with units: ${axis.join(' | ')}`,
      );
      assert.ok(
        axis.some((t) => /^\d\d:\d\d(:\d\d)?$/.test(t)),
        `time axis in the browser's locale: ${axis.join(' | ')}`,
      );
      assert.match(
        await page.innerText('#ov-charts .chart[data-chart="ov-lat"] .legend'),
        /p50 [\d.]+ (µs|ms|s)\s+p95 [\d.]+ (µs|ms|s)\s+p99 [\d.]+ (µs|ms|s)\s+· 5-second points/,
      );
      assert.match((await page.textContent('#tz')) ?? '', /Europe\/Paris \((CET|CEST|GMT\+[12])\)/);

      // Routers by traffic, @internal apart and hidden until asked for.
      await until(page, 'document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table');
      const names = await page.locator('#routers tbody tr td:nth-child(2)').allTextContents();
      assert.equal(names[0], 'calc@file', `busiest first: ${names.join(', ')}`);
      assert.ok(!names.some((x) => x.endsWith('@internal')), 'no @internal router among the user routers');
      assert.equal(await page.locator('#routers-internal').isVisible(), false);
      await page.click('#toggle-internal');
      await until(
        page,
        `!document.getElementById('routers-internal').classList.contains('hidden') && document.getElementById('routers-internal').innerText.includes('api@internal')`,
        5000,
        'the @internal routers',
      );
      await page.click('#toggle-internal');
      const overview = await page.innerText('#tab-overview');
      for (const s of ['calc@file', 'dash@file', 'add-svc@file', 'strip-gh@file', 'PathPrefix(`/add`)', upstream.url])
        assert.ok(overview.includes(s), `overview shows ${s}`);
      assert.match((await page.textContent('#rev')) ?? '', /^revision \d+$/);
      assert.equal(await evaluate<number>(page, 'document.documentElement.scrollWidth - window.innerWidth'), 0, 'long values wrap');

      // A range over a day: 5-minute points from the history.
      await page.click('#tab-overview [data-range] button[data-r="24h"]');
      await until(
        page,
        `/5-minute points/.test(document.querySelector('#ov-charts .chart[data-chart="ov-rps"] .legend').textContent)`,
        10_000,
        'the 24-hour range',
      );
      await page.click('#tab-overview [data-range] button[data-r="5m"]');

      // A deep link to a router: its revision, figures, charts and configuration.
      const detail = await desktop.newPage();
      const detailErrors = collectErrors(detail);
      await detail.goto(`${gw.admin}/dashboard/#router/calc%40file`, { waitUntil: 'load' });
      await until(detail, `/^revision \\d+$/.test(document.getElementById('rev').textContent)`, 10_000, 'the revision on a deep link');
      await until(
        detail,
        `document.querySelectorAll('#detail-charts svg.plot').length === 3 && document.getElementById('detail-config').innerText.includes('PathPrefix')`,
        10_000,
        'the router detail',
      );
      assert.match(await detail.innerText('#detail-title'), /Router calc@file/);
      assert.match(await detail.innerText('#detail-config'), /service\s+add-svc@file/);

      // A refused file: a red banner on every page, the deep link included, with the file, the line and since when.
      gw.write('extra.yaml', 'http:\n  routers:\n    extra: [unclosed\n');
      for (const p of [page, detail])
        await until(
          p,
          `!document.getElementById('banner-config').classList.contains('hidden') && document.getElementById('banner-config').innerText.includes('extra.yaml')`,
          15_000,
          'the configuration banner',
        );
      const banner = await detail.innerText('#banner-config');
      assert.match(banner, /refused since .* · serving the last good version from /, banner);
      assert.match(banner, /extra\.yaml:\d+/, 'file and line');
      await screenshot(detail, 'dashboard-detail-refused.png');
      // The overview's providers table says the file provider is not ready, and why.
      await until(
        page,
        `/Not ready|degraded/.test(document.getElementById('providers').innerText) && /extra\\.yaml/.test(document.getElementById('providers').innerText)`,
        15_000,
        'the file provider not ready, naming the file',
      );
      await detail.close();

      // Traffic: rows by traffic, a click draws the charts of that row.
      await page.evaluate('location.hash = "#traffic"');
      await until(page, `document.querySelector('#stat tr[data-name="calc@file"]') !== null`, 15_000, 'the traffic table');
      const row = await page.locator('#stat tr[data-name="calc@file"] td').allTextContents();
      assert.match(row[1] ?? '', /^\d+\.\d\d%$/, 'success rate shown');
      assert.match(row[2] ?? '', /^[\d.]+ req\/s$/);
      await page.evaluate(`document.querySelector('#stat tr[data-name="calc@file"] td:nth-child(3)').click()`);
      await until(page, `document.querySelectorAll('#charts svg.plot').length === 3`, 10_000, 'the charts of calc@file');
      assert.match(await page.innerText('#top'), /\/add\/\{n\}\/\{n\}/);
      await screenshot(page, 'dashboard-traffic.png');

      // Topology: no placeholder node, no overlapping labels, 4xx apart from 5xx, full names on hover.
      await page.evaluate('location.hash = "#topology"');
      await until(
        page,
        `document.querySelector('#topology svg') !== null && document.getElementById('edges').innerText.includes('add-svc@file')`,
        10_000,
        'the topology graph',
      );
      assert.ok((await page.locator('#topology svg rect.node').count()) >= 4);
      const texts = await page.locator('#topology svg text').allTextContents();
      assert.ok(!texts.some((t) => t.trim() === '–' || t.trim() === ''), `no placeholder node: ${texts.join(' | ')}`);
      assert.equal(await evaluate<boolean>(page, OVERLAPS('#topology svg text')), false, 'labels do not overlap');
      assert.ok(
        texts.some((t) => /4xx \d+%/.test(t) && /5xx \d+%/.test(t)),
        `4xx and 5xx apart: ${texts.join(' | ')}`,
      );
      const titles = await page.locator('#topology svg g > title').allTextContents();
      assert.ok(
        titles.some((t) => t.startsWith('calc@file\n')),
        'full names on hover',
      );
      await screenshot(page, 'dashboard-topology.png');

      // Tap: rows arrive live; a click opens the details of one call (headers included).
      await page.evaluate('location.hash = "#tap"');
      // The dashboard's own API calls are tapped too (api@internal): open a call of the calc router.
      const CALC_ROW = `Array.from(document.querySelectorAll('#tap-rows tr.tap-row')).find((r) => r.children[8] && r.children[8].textContent === 'calc@file')`;
      await until(page, `document.querySelectorAll('#tap-rows tr.tap-row').length >= 3 && ${CALC_ROW} !== undefined`, 10_000, 'tap rows');
      await page.evaluate(`${CALC_ROW}.click()`);
      await until(page, `document.querySelector('#tap-rows tr.tap-detail pre') !== null`, 5000, 'tap details');
      const call = JSON.parse(await evaluate<string>(page, `document.querySelector('#tap-rows tr.tap-detail pre').textContent`)) as Record<
        string,
        unknown
      >;
      assert.equal(call.router, 'calc@file');
      assert.equal(call.service, 'add-svc@file');
      assert.match(String(call.path), /^\/add\/\d\/2$/);
      assert.equal(typeof call.latencyMs, 'number');
      assert.equal((call.requestHeaders as Record<string, string>)['x-test'], 'dash');
      await screenshot(page, 'dashboard-tap.png');

      // Alerts tab renders (no rules configured here).
      await page.evaluate('location.hash = "#alerts"');
      await until(page, `document.getElementById('alerts').innerText.includes('No alert rules')`, 5000, 'the alerts table');

      // The overview again, after some seconds of live traffic (for the screenshot).
      await page.evaluate('location.hash = "#overview"');
      await until(
        page,
        `/^[1-9]\\d{2,} requests in the last minute/.test(document.querySelectorAll('#figures .stat span')[1].textContent)`,
        30_000,
        '100 requests or more',
      );
      await page.waitForTimeout(2_500);
      // Hover shows the values at that time.
      // The overview re-renders every 2 s: the plot can be between two renders (no box) at the moment asked; ask again.
      const plot = page.locator('#ov-charts .chart[data-chart="ov-rps"] svg.plot');
      let box: { x: number; y: number; width: number; height: number } | null = null;
      for (let i = 0; i < 50 && box === null; i++) {
        await plot.waitFor({ state: 'visible', timeout: 5000 });
        box = await plot.boundingBox();
        if (box === null) await page.waitForTimeout(100);
      }
      assert.ok(box !== null, 'the requests/s chart has a box');
      // The last complete 5-second point (60 points; plot from x = 52 to width - 8).
      await page.mouse.move(box.x + 52 + ((box.width - 60) * 58) / 59, box.y + box.height / 2);
      await until(
        page,
        `!document.querySelector('.chart[data-chart="ov-rps"] .tip').classList.contains('hidden')`,
        5000,
        'the hover values',
      );
      assert.match(await page.innerText('.chart[data-chart="ov-rps"] .tip'), /(CET|CEST|GMT\+[12])[\s\S]*all: [\d.]+ req\/s/);
      // The overview re-renders every 2 s: a pointer resting on the chart keeps its values.
      await page.waitForTimeout(2_500);
      assert.equal(
        await page.evaluate(`document.querySelector('.chart[data-chart="ov-rps"] .tip').classList.contains('hidden')`),
        false,
        'the hover values survive a re-render',
      );
      await page.mouse.move(0, 0);
      await screenshot(page, 'dashboard-overview.png');

      // Served through a router under a prefix: relative URLs still reach the API.
      await navigate(page, `${gw.url}/gh/dashboard/`);
      await until(page, 'document.getElementById("routers").innerText.includes("calc@file")', 10_000, 'the routers table under /gh');

      // A phone, 360 px wide: the live figures, nothing overflowing sideways.
      const phone = await browser.newContext({
        viewport: { width: 360, height: 780 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: 'en-GB',
        timezoneId: 'Europe/Paris',
      });
      const mobile = await phone.newPage();
      const mobileErrors = collectErrors(mobile);
      await navigate(mobile, `${gw.admin}/dashboard/`);
      await until(
        mobile,
        `/[1-9]/.test((document.querySelector('#figures .stat b') || {}).textContent || '')`,
        15_000,
        'the live figures on a phone',
      );
      await until(
        mobile,
        `document.querySelectorAll('#ov-charts svg.plot').length === 3 && document.getElementById('routers').innerText.includes('calc@file')`,
        10_000,
        'the overview on a phone',
      );
      const overflow = await evaluate<number>(mobile, 'document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `page wider than a phone by ${overflow}px`);
      await screenshot(mobile, 'dashboard-overview-phone.png');
      await navigate(mobile, `${gw.admin}/dashboard/#traffic`);
      await until(mobile, `document.querySelectorAll('#stat tr[data-name]').length > 0`, 10_000, 'the traffic table on a phone');
      assert.ok((await evaluate<number>(mobile, 'document.documentElement.scrollWidth - window.innerWidth')) <= 0);

      assert.deepEqual([...errors, ...detailErrors, ...mobileErrors], [], 'no console errors');
    } finally {
      if (traffic !== null) clearInterval(traffic);
      await browser?.close().catch(() => undefined);
      await gw.close();
      await upstream.close();
    }
  },
);
