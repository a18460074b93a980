/** Command-line options of `npm run bench` (`node dist/bench/run.js`). */
import { availableParallelism } from 'node:os';
import { hasCommand } from './procs.js';

export interface BenchOptions {
  quick: boolean;
  durationS: number;
  warmupS: number;
  primeS: number;
  rounds: number;
  connections: number;
  threads: number;
  /** Worker count of the "all workers" row. */
  workers: number;
  pin: boolean;
  backend: 'nginx' | 'node';
  /** Profile instead of measure: run the gateway under --cpu-prof and summarise. */
  profile: boolean;
  profileSeconds: number;
  keep: boolean;
  /** Another Gatehouse build (a checkout with `dist/` built) measured beside this one: rows `base-1w`. */
  baselineDir: string | null;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]

  --quick            a few seconds per row, one round (a smoke run)
  --duration=S       seconds per measured run (default 10; quick 3)
  --warmup=S         unrecorded run before each measurement (default 2; quick 1)
  --rounds=N         interleaved rounds, medians reported (default 3; quick 1)
  --connections=N    wrk connections (default 64)
  --threads=N        wrk threads (default 1)
  --workers=N        workers of the "all workers" rows (default: available CPUs)
  --no-pin           do not pin with taskset
  --backend=node     use the node:http origin even when nginx is installed
  --profile          run the gateway (1 worker) under node --cpu-prof and summarise self time
  --profile-seconds=S  load per profiled scenario (default 10)
  --keep             keep the temporary folder (configs, profiles)
  --baseline=DIR     also measure the build in DIR (a checkout with dist/ built, e.g. a git
                     worktree of an older commit) with 1 worker on the same core: rows base-1w,
                     and this build / baseline ratios for requests/s and requests per CPU-second
  --help             this text`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    quick,
    durationS: quick ? 3 : 10,
    warmupS: quick ? 1 : 2,
    primeS: quick ? 1 : 3,
    rounds: quick ? 1 : 3,
    connections: 64,
    threads: 1,
    workers: availableParallelism(),
    pin: true,
    backend: 'nginx',
    profile: false,
    profileSeconds: 10,
    keep: false,
    baselineDir: null,
    help: false,
  };
  for (const a of argv) {
    const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, ''];
    const n = (): number => {
      const x = Number(v);
      if (!Number.isFinite(x) || x <= 0) throw new Error(`${k}: expected a positive number, got "${v}"`);
      return x;
    };
    switch (k) {
      case '--quick':
        break;
      case '--duration':
        o.durationS = n();
        break;
      case '--warmup':
        o.warmupS = n();
        break;
      case '--rounds':
        o.rounds = Math.round(n());
        break;
      case '--connections':
        o.connections = Math.round(n());
        break;
      case '--threads':
        o.threads = Math.round(n());
        break;
      case '--workers':
        o.workers = Math.round(n());
        break;
      case '--no-pin':
        o.pin = false;
        break;
      case '--backend':
        if (v !== 'node' && v !== 'nginx') throw new Error('--backend: node or nginx');
        o.backend = v;
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--profile-seconds':
        o.profileSeconds = n();
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--baseline':
        if (v === '') throw new Error('--baseline: expected a directory, e.g. --baseline=../gatehouse-old');
        o.baselineDir = v;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new Error(`unknown flag ${a}\n\n${USAGE}`);
    }
  }
  return o;
}

export interface Layout {
  loadgen: string | null;
  origin: string | null;
  proxy: string | null;
  proxyAll: string | null;
}

/** Pinning like ../shared/bench: wrk + origin on core 0, the 1-worker proxy on core 1, all workers on every core. */
export function cpuLayout(pin: boolean): Layout {
  const n = availableParallelism();
  if (!pin || n < 2 || !hasCommand('taskset')) return { loadgen: null, origin: null, proxy: null, proxyAll: null };
  return { loadgen: '0', origin: '0', proxy: '1', proxyAll: `0-${n - 1}` };
}
