/**
 * `npm run bench -- --profile`: runs the 1-worker gateway under
 * `node --cpu-prof` for each scenario (plain route small body, JWT route small
 * body, plain route 16 KiB), loads it with wrk, stops it (the profile is
 * written at exit) and prints where the CPU went (bench/profile-summary.ts).
 */
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions, Layout } from './options.js';
import { startBackend, SMALL_PATH, BIG_PATH } from './backend.js';
import { benchConfig, JWT_HOST } from './gateway-config.js';
import { startGateway } from './gateway-proc.js';
import { freePort, stop, type Started } from './procs.js';
import { wrk } from './wrk.js';
import { summarizeProfile, formatSummary, type CpuProfile } from './profile-summary.js';

export async function profileRun(o: BenchOptions, layout: Layout, dir: string, started: Started[]): Promise<void> {
  const origin = await startBackend('origin', dir, await freePort(), layout.origin, o.backend);
  started.push(origin.proc);
  const cfg = await benchConfig(origin.url);
  const scenarios = [
    { name: 'plain-small', path: SMALL_PATH, headers: {} as Record<string, string> },
    { name: 'jwt-small', path: SMALL_PATH, headers: { host: JWT_HOST, authorization: cfg.authorization } },
    { name: 'plain-16KiB', path: BIG_PATH, headers: {} as Record<string, string> },
  ];
  for (const sc of scenarios) {
    const profDir = join(dir, `prof-${sc.name}`);
    mkdirSync(profDir, { recursive: true });
    const gw = await startGateway({
      name: `gh-prof-${sc.name}`,
      dir,
      yaml: cfg.yaml,
      workers: 1,
      cpus: layout.proxy,
      authorization: cfg.authorization,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    });
    started.push(gw.proc);
    const w = { cpus: layout.loadgen, threads: o.threads, connections: o.connections, headers: sc.headers };
    await wrk(gw.url + sc.path, { ...w, durationS: 2 }, false);
    const r = await wrk(gw.url + sc.path, { ...w, durationS: o.profileSeconds });
    await stop(gw.proc, 10_000);
    started.splice(started.indexOf(gw.proc), 1);
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) throw new Error(`${sc.name}: no .cpuprofile written in ${profDir}`);
    const profile = JSON.parse(readFileSync(join(profDir, files[0] as string), 'utf8')) as CpuProfile;
    console.log(
      formatSummary(
        `${sc.name}: ${Math.round(r.rps)} req/s under the profiler (profiling slows the process), ${join(profDir, files[0] as string)}`,
        summarizeProfile(profile),
      ),
    );
  }
}
