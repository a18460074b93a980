/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time:
 * per function (name + file:line), per file, and per area (gatehouse code,
 * undici, node internals, GC, idle). Also usable on its own:
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfRow {
  key: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Total minus (idle): time the process was on the CPU in JS, native or GC. */
  busyMs: number;
  functions: SelfRow[];
  files: SelfRow[];
  areas: SelfRow[];
  /** Inclusive (self + callees) time of Gatehouse's own functions (dist/src/...). */
  gatehouseInclusive: SelfRow[];
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const dist = u.indexOf('/dist/');
  if (dist >= 0) return u.slice(dist + '/dist/'.length);
  return u;
}

export function areaOf(f: CallFrame): string {
  const name = f.functionName;
  if (f.url === '') {
    if (name === '(idle)') return 'idle';
    if (name === '(garbage collector)') return 'gc';
    if (name === '(program)') return 'program (native, outside JS)';
    return 'native';
  }
  const u = f.url;
  if (u.includes('/node_modules/undici/')) return 'undici';
  if (u.includes('/node_modules/')) return 'other packages';
  if (u.startsWith('node:')) {
    if (u.includes('_http') || u.includes('/http')) return 'node http';
    if (u.includes('stream')) return 'node streams';
    if (u.includes('net') || u.includes('tcp') || u.includes('timers')) return 'node net/timers';
    return 'node other';
  }
  if (u.includes('/src/middlewares/')) return 'gatehouse middlewares';
  if (u.includes('/src/observe/')) return 'gatehouse observe (metrics)';
  if (u.includes('/src/')) return 'gatehouse core';
  return 'other';
}

function ranked(m: Map<string, number>, total: number): SelfRow[] {
  return [...m.entries()].map(([key, ms]) => ({ key, ms, pct: total > 0 ? (100 * ms) / total : 0 })).sort((a, b) => b.ms - a.ms);
}

export function summarizeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample's node
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const d = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, d));
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const f = n.callFrame;
    const ms = us / 1000;
    total += ms;
    const a = areaOf(f);
    if (a === 'idle') idle += ms;
    const where = f.url === '' ? '' : ` ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const fk = f.url === '' ? f.functionName : shortUrl(f.url);
    file.set(fk, (file.get(fk) ?? 0) + ms);
    area.set(a, (area.get(a) ?? 0) + ms);
  }
  const busy = total - idle;
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = (byId.get(cur) as ProfileNode).callFrame;
      if (!f.url.includes('/dist/src/')) continue;
      const key = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us / 1000);
    }
  }
  // percentages of busy time: idle says only that the process waited
  fn.delete('(idle)');
  file.delete('(idle)');
  area.delete('idle');
  return {
    totalMs: total,
    busyMs: busy,
    functions: ranked(fn, busy),
    files: ranked(file, busy),
    areas: ranked(area, busy),
    gatehouseInclusive: ranked(incl, busy),
  };
}

export function formatSummary(title: string, s: ProfileSummary, top = 30): string {
  const table = (head: string, rows: SelfRow[], n: number): string[] => [
    `| ${head} | self ms | % of busy |`,
    '|---|---:|---:|',
    ...rows.slice(0, n).map((r) => `| \`${r.key.replace(/\|/g, '\\|')}\` | ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)} |`),
  ];
  return [
    `### ${title}`,
    '',
    `Profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (not idle).`,
    '',
    ...table('area', s.areas, 20),
    '',
    ...table('function (self time)', s.functions, top),
    '',
    ...table('file (self time)', s.files, 15),
    '',
    ...table('Gatehouse function (inclusive: self + callees)', s.gatehouseInclusive, 25),
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  if (path === undefined) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  console.log(formatSummary(path, summarizeProfile(p), Number(process.argv[3] ?? 30)));
}
