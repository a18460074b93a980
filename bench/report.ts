/** Medians, paired ratios and the markdown tables of the end-to-end benchmark. */
import type { WrkResult } from './wrk.js';

export interface Sample extends WrkResult {
  round: number;
  /** CPU seconds of the process tree under test during the measured run. */
  cpuS: number;
}

export interface Row {
  id: string;
  label: string;
  body: 'small' | '16KiB';
  /** The row whose same-round sample is the denominator of "ratio". */
  baseline: string | null;
  samples: Sample[];
}

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

/** Median over rounds of rps(row) / rps(base) in the same round. */
export function pairedRatio(row: Row, base: Row | undefined): number {
  if (base === undefined) return Number.NaN;
  const ratios: number[] = [];
  for (const s of row.samples) {
    const b = base.samples.find((x) => x.round === s.round);
    if (b !== undefined && b.rps > 0) ratios.push(s.rps / b.rps);
  }
  return median(ratios);
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fix = (n: number, d: number): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

export function spread(xs: readonly number[]): number {
  const m = median(xs);
  return xs.length < 2 || !(m > 0) ? 0 : (Math.max(...xs) - Math.min(...xs)) / m;
}

export function resultsTable(rows: readonly Row[]): string {
  const byId = new Map(rows.map((r) => [`${r.id}/${r.body}`, r]));
  const out = [
    '| config | id | body | rps | p50 ms | p99 ms | CPU µs/req | CPU % | ratio | vs | spread | errors |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of rows) {
    const s = r.samples;
    const cpuPerReq = median(s.map((x) => (x.requests > 0 ? (x.cpuS / x.requests) * 1e6 : Number.NaN)));
    const cpuPct = median(s.map((x) => (x.seconds > 0 ? (100 * x.cpuS) / x.seconds : Number.NaN)));
    const base = r.baseline !== null ? byId.get(`${r.baseline}/${r.body}`) : undefined;
    const errs = s.reduce((a, x) => a + x.socketErrors + x.non2xx, 0);
    out.push(
      `| ${r.label} | ${r.id} | ${r.body} | ${int(median(s.map((x) => x.rps)))} | ${fix(median(s.map((x) => x.p50ms)), 2)} | ${fix(median(s.map((x) => x.p99ms)), 2)} | ${fix(cpuPerReq, 1)} | ${fix(cpuPct, 0)} | ${base !== undefined ? fix(pairedRatio(r, base), 2) : '1.00'} | ${base !== undefined ? base.id : '—'} | ${(100 * spread(s.map((x) => x.rps))).toFixed(0)}% | ${errs} |`,
    );
  }
  return out.join('\n');
}
