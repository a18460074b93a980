/** Runs wrk (pinned like the harness) and parses its report. */
import { runPinned } from './procs.js';

export interface WrkResult {
  rps: number;
  requests: number;
  seconds: number;
  p50ms: number;
  p99ms: number;
  socketErrors: number;
  non2xx: number;
}

/** "812.00us" / "1.23ms" / "1.02s" / "1.5m" → milliseconds. */
export function toMs(v: string): number {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(v.trim());
  if (m === null) return Number.NaN;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'us':
      return n / 1000;
    case 'ms':
      return n;
    case 's':
      return n * 1000;
    default:
      return n * 60_000;
  }
}

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m === null ? 0 : Number(m[1]);
  };
  const lat = (pct: string): number => {
    const m = new RegExp(`^\\s*${pct}%\\s+(\\S+)`, 'm').exec(out);
    return m === null ? Number.NaN : toMs(m[1] as string);
  };
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/^Requests\/sec:\s+([0-9.]+)/m),
    requests: num(/^\s*(\d+) requests in/m),
    seconds: (() => {
      const m = /requests in ([0-9.]+)(ms|s|m)/.exec(out);
      return m === null ? 0 : toMs(`${m[1]}${m[2]}`) / 1000;
    })(),
    p50ms: lat('50'),
    p99ms: lat('99'),
    socketErrors: se === null ? 0 : se.slice(1).reduce((a, b) => a + Number(b), 0),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
  };
}

export interface WrkOptions {
  cpus: string | null;
  threads: number;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
}

export async function wrk(url: string, o: WrkOptions, latency = true): Promise<WrkResult> {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationS}s`];
  if (latency) args.push('--latency');
  // wrk adds its own Host unless a header named exactly "Host" is given
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k.toLowerCase() === 'host' ? 'Host' : k}: ${v}`);
  args.push(url);
  const out = await runPinned(o.cpus, 'wrk', args, (o.durationS + 30) * 1000);
  return parseWrk(out);
}
