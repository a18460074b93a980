/**
 * `npm run bench`: the end-to-end load run. Starts a local origin (nginx, or
 * node:http without nginx), measures it directly, then through Gatehouse with
 * 1 worker (metrics on, and the same build with `--observability.metrics=false`)
 * and with all workers, for a 2-byte and a 16 KiB body, plus the JWT route
 * against the plain route. Prints markdown tables with requests/s,
 * p50/p99, CPU per request and ratios paired within a round, and the peak RSS
 * of every gateway process. Stops everything it started.
 *
 * CPU layout (as ../shared/bench/run-peers.sh): wrk and the origin on core 0,
 * the 1-worker gateway (and the "direct" origin) on core 1, the all-workers
 * gateway on every core. `--profile` runs the profiling pass instead
 * (bench/profile-run.ts).
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir, availableParallelism, cpus as osCpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs, cpuLayout, USAGE, type BenchOptions, type Layout } from './options.js';
import { hasCommand, cpuSeconds, peakRssMiB, stop, freePort, type Started } from './procs.js';
import { startBackend, SMALL_PATH, BIG_PATH } from './backend.js';
import { benchConfig, JWT_HOST } from './gateway-config.js';
import { startGateway, baselineBin, type GatewayProc } from './gateway-proc.js';
import { wrk, type WrkOptions } from './wrk.js';
import { resultsTable, pairedRatio, median, type Row } from './report.js';
import { profileRun } from './profile-run.js';

interface Target {
  id: string;
  label: string;
  baseline: string | null;
  url: string;
  headers: Record<string, string>;
  pid: number;
  bodies: ReadonlyArray<'small' | '16KiB'>;
}

async function measure(rows: Row[], targets: readonly Target[], o: BenchOptions, layout: Layout): Promise<void> {
  const w = (durationS: number, headers: Record<string, string>): WrkOptions => ({
    cpus: layout.loadgen,
    threads: o.threads,
    connections: o.connections,
    durationS,
    headers,
  });
  const pathOf = (b: 'small' | '16KiB'): string => (b === 'small' ? SMALL_PATH : BIG_PATH);
  const rowOf = (t: Target, b: 'small' | '16KiB'): Row => {
    let r = rows.find((x) => x.id === t.id && x.body === b);
    if (r === undefined) {
      r = { id: t.id, label: t.label, body: b, baseline: t.baseline, samples: [] };
      rows.push(r);
    }
    return r;
  };
  for (const b of ['small', '16KiB'] as const) for (const t of targets) if (t.bodies.includes(b)) rowOf(t, b);
  log(`priming every configuration for ${o.primeS}s per body (not recorded)`);
  for (const b of ['small', '16KiB'] as const)
    for (const t of targets) if (t.bodies.includes(b)) await wrk(t.url + pathOf(b), w(o.primeS, t.headers), false);
  for (let round = 1; round <= o.rounds; round++) {
    // counterbalanced: odd rounds A B C, even rounds C B A, so a slow drift hits every row alike
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const b of ['small', '16KiB'] as const) {
      for (const t of order) {
        if (!t.bodies.includes(b)) continue;
        const url = t.url + pathOf(b);
        await wrk(url, w(o.warmupS, t.headers), false);
        const c0 = cpuSeconds(t.pid);
        const r = await wrk(url, w(o.durationS, t.headers));
        const cpuS = cpuSeconds(t.pid) - c0;
        rowOf(t, b).samples.push({ ...r, round, cpuS });
        log(
          `r${round} ${t.id.padEnd(14)} ${b.padEnd(5)} rps=${Math.round(r.rps)} p50=${r.p50ms.toFixed(2)}ms p99=${r.p99ms.toFixed(2)}ms cpu=${((100 * cpuS) / (r.seconds || 1)).toFixed(0)}% errors=${r.socketErrors + r.non2xx}`,
        );
      }
    }
  }
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function verdicts(rows: readonly Row[]): string[] {
  const find = (id: string, body: string): Row | undefined => rows.find((r) => r.id === id && r.body === body);
  const lines: string[] = [];
  const jwt = find('gh-1w-jwt', 'small');
  const plain = find('gh-1w', 'small');
  if (jwt !== undefined && plain !== undefined) {
    const r = pairedRatio(jwt, plain);
    lines.push(
      `- JWT route (validateJwt + claimsToHeaders) / plain route, 1 worker, small body: **${r.toFixed(2)}×** (target ≥ 0.90: ${r >= 0.9 ? 'met' : 'NOT met'}).`,
    );
  }
  for (const body of ['small', '16KiB']) {
    const one = find('gh-1w', body);
    const all = find('gh-all', body);
    if (one !== undefined && all !== undefined)
      lines.push(
        `- all workers / 1 worker, ${body}: ${pairedRatio(all, one).toFixed(2)}× (the all-workers gateway shares cores with wrk and the origin).`,
      );
  }
  const d = find('direct', 'small');
  const g = find('gh-1w', 'small');
  if (d !== undefined && g !== undefined) {
    lines.push(
      `- p99, 1 worker, small: ${median(g.samples.map((s) => s.p99ms)).toFixed(2)} ms (direct ${median(d.samples.map((s) => s.p99ms)).toFixed(2)} ms).`,
    );
  }
  for (const body of ['small', '16KiB']) {
    const now = find('gh-1w', body);
    const before = find('base-1w', body);
    if (now === undefined || before === undefined) continue;
    const perCpuS = (row: Row): number => median(row.samples.map((x) => (x.cpuS > 0 ? x.requests / x.cpuS : Number.NaN)));
    const rps = pairedRatio(now, before);
    const eff = perCpuS(now) / perCpuS(before);
    lines.push(
      `- This build / baseline build, 1 worker, ${body}: **${rps.toFixed(3)}×** requests/s, ${eff.toFixed(3)}× requests per CPU-second (${Math.round(perCpuS(now)).toLocaleString('en-US')} vs ${Math.round(perCpuS(before)).toLocaleString('en-US')}); within 5 %: ${rps >= 0.95 && eff >= 0.95 ? 'yes' : 'NO'}.`,
    );
  }
  for (const body of ['small', '16KiB']) {
    const on = find('gh-1w', body);
    const off = find('gh-1w-nomet', body);
    if (on === undefined || off === undefined) continue;
    const r = pairedRatio(on, off);
    const cpu = (row: Row): number => median(row.samples.map((x) => (x.requests > 0 ? (x.cpuS / x.requests) * 1e6 : Number.NaN)));
    lines.push(
      `- Metrics on / metrics off (\`--observability.metrics=false\`), same build, 1 worker, ${body}: **${r.toFixed(2)}×** requests/s (target ≥ 0.95: ${r >= 0.95 ? 'met' : 'NOT met'}); CPU ${cpu(on).toFixed(1)} vs ${cpu(off).toFixed(1)} µs/req.`,
    );
  }
  return lines;
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (!hasCommand('wrk')) {
    console.error('bench: wrk is not installed (apt-get install -y wrk, or run ../shared/bench/setup.sh)');
    return 2;
  }
  const layout = cpuLayout(o.pin);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  chmodSync(dir, 0o755); // nginx workers run as an unprivileged user when started by root
  const started: Started[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    log('interrupted: stopping everything this run started');
    void Promise.all(started.map((s) => stop(s, 2000))).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (o.profile) {
      await profileRun(o, layout, dir, started);
      return 0;
    }
    const origin = await startBackend('origin', dir, await freePort(), layout.origin, o.backend);
    started.push(origin.proc);
    const direct = await startBackend('origin-c1', dir, await freePort(), layout.proxy, o.backend);
    started.push(direct.proc);
    const cfg = await benchConfig(origin.url);
    const gh1 = await startGateway({
      name: 'gh-1w',
      dir,
      yaml: cfg.yaml,
      workers: 1,
      cpus: layout.proxy,
      authorization: cfg.authorization,
    });
    started.push(gh1.proc);
    // The JWT row has a process of its own: JWT traffic through gh-1w would make the functions the plain route
    // shares with it polymorphic in V8 (while base-1w serves plain traffic only) and skew "this build / baseline".
    const ghJwt = await startGateway({
      name: 'gh-1w-jwt',
      dir,
      yaml: cfg.yaml,
      workers: 1,
      cpus: layout.proxy,
      authorization: cfg.authorization,
    });
    started.push(ghJwt.proc);
    // The same build with per-request metrics off, on the same core: the "metrics on / off" pair.
    const ghOff = await startGateway({
      name: 'gh-1w-nomet',
      dir,
      yaml: cfg.yaml,
      workers: 1,
      cpus: layout.proxy,
      authorization: cfg.authorization,
      flags: ['--observability.metrics=false'],
    });
    started.push(ghOff.proc);
    const ghN = await startGateway({
      name: 'gh-all',
      dir,
      yaml: cfg.yaml,
      workers: o.workers,
      cpus: layout.proxyAll,
      authorization: cfg.authorization,
    });
    started.push(ghN.proc);
    // Another build on the same core as gh-1w, for "this change against the one before" in one run.
    let base: GatewayProc | null = null;
    if (o.baselineDir !== null) {
      base = await startGateway({
        name: 'base-1w',
        dir,
        yaml: cfg.yaml,
        workers: 1,
        cpus: layout.proxy,
        authorization: cfg.authorization,
        bin: baselineBin(o.baselineDir),
      });
      started.push(base.proc);
    }
    const jwtHeaders = { host: JWT_HOST, authorization: cfg.authorization };
    const both = ['small', '16KiB'] as const;
    const targets: Target[] = [
      {
        id: 'direct',
        label: `direct (${origin.kind} origin on the proxy's core)`,
        baseline: null,
        url: direct.url,
        headers: {},
        pid: direct.proc.pid,
        bodies: both,
      },
      {
        id: 'gh-1w',
        label: 'Gatehouse, 1 worker (metrics on)',
        baseline: 'direct',
        url: gh1.url,
        headers: {},
        pid: gh1.proc.pid,
        bodies: both,
      },
      {
        id: 'gh-1w-nomet',
        label: 'Gatehouse, 1 worker, metrics off',
        baseline: 'gh-1w',
        url: ghOff.url,
        headers: {},
        pid: ghOff.proc.pid,
        bodies: both,
      },
      {
        id: 'gh-1w-jwt',
        label: 'Gatehouse, 1 worker, JWT route (its own process)',
        baseline: 'gh-1w',
        url: ghJwt.url,
        headers: jwtHeaders,
        pid: ghJwt.proc.pid,
        bodies: ['small'],
      },
      {
        id: 'gh-all',
        label: `Gatehouse, ${o.workers} workers`,
        baseline: 'direct',
        url: ghN.url,
        headers: {},
        pid: ghN.proc.pid,
        bodies: both,
      },
    ];
    if (base !== null)
      targets.splice(2, 0, {
        id: 'base-1w',
        label: `baseline build (${o.baselineDir}), 1 worker (metrics on)`,
        baseline: 'gh-1w',
        url: base.url,
        headers: {},
        pid: base.proc.pid,
        bodies: both,
      });
    // wrk's headers must reach the JWT route: without the token every answer is a 401
    const probe = await wrk(
      ghJwt.url + SMALL_PATH,
      { cpus: layout.loadgen, threads: 1, connections: 4, durationS: 1, headers: { host: JWT_HOST } },
      false,
    );
    if (probe.requests === 0 || probe.non2xx !== probe.requests)
      throw new Error(
        `JWT route probe: ${probe.non2xx} of ${probe.requests} requests without a token were refused; wrk's Host header does not reach the route`,
      );
    const load0 = loadavg()[0] ?? 0;
    const rows: Row[] = [];
    await measure(rows, targets, o, layout);
    const rss = [gh1, ghOff, ghN, ...(base !== null ? [base] : [])].map((g) => ({
      name:
        g === gh1
          ? 'Gatehouse, 1 worker'
          : g === ghOff
            ? 'Gatehouse, 1 worker, metrics off'
            : g === base
              ? 'baseline build, 1 worker'
              : `Gatehouse, ${g.workers} workers`,
      procs: peakRssMiB(g.proc.pid),
    }));
    const model = osCpus()[0]?.model ?? 'unknown CPU';
    console.log(
      [
        `## Gatehouse end-to-end benchmark${o.quick ? ' (quick)' : ''}`,
        '',
        `wrk -t${o.threads} -c${o.connections} -d${o.durationS}s --latency (after an unrecorded ${o.warmupS}s run), ${o.rounds} round(s) interleaved; ${availableParallelism()} CPUs (${model}), load average ${load0.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after; node ${process.version}.`,
        `CPU layout: ${layout.loadgen === null ? 'not pinned' : `wrk + origin on core ${layout.origin}, 1-worker gateways (metrics on and off) and the direct origin on core ${layout.proxy}, all-workers gateway on cores ${layout.proxyAll}`}. Configuration: the seed-like route with the headers middleware, a validateJwt route, 100 routers that never match; access log off; "metrics off" is the same build started with \`--observability.metrics=false\`.`,
        '',
        resultsTable(rows),
        '',
        'ratio = median over rounds of rps / rps of the "vs" row in the same round. CPU µs/req and CPU % are user+system time of the process tree under test (the origin for "direct"). spread = (max − min) / median rps over the rounds.',
        '',
        ...verdicts(rows),
        '',
        '| process | peak RSS per process (MiB) |',
        '|---|---|',
        ...rss.map(
          (r) =>
            `| ${r.name} | ${r.procs.map((p, i) => `${i === 0 ? (r.procs.length > 1 ? 'primary' : 'worker') : 'worker'} ${p.mib.toFixed(0)}`).join(', ')} |`,
        ),
        '',
        'This machine is shared and its speed drifts: compare the ratios (paired within a round), not absolute requests/s across runs.',
      ].join('\n'),
    );
    return 0;
  } finally {
    if (!interrupted) {
      await Promise.all(started.map((s) => stop(s)));
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
      else log(`kept ${dir}`);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
