/**
 * The value of a rule's signal now: golden metrics from the MetricsStore
 * (the aggregate of every worker), server health, certificates and
 * configuration reloads. One rule can yield several instances (an unscoped
 * healthyServers rule has one per service, certificateDaysLeft one per
 * certificate), each with its own labels.
 */
import type { StatKind, StatRow, MetricsStore } from '../observe/metrics.js';
import type { CompiledAlertRule } from './compile.js';

/** What the engine reads from the metrics store. */
export type AlertMetrics = Pick<MetricsStore, 'stat' | 'prometheusSnapshot'>;

export interface CertificateLike {
  name: string;
  /** Epoch ms. */
  notAfter: number;
}

export interface SignalInputs {
  metrics: AlertMetrics;
  /** Current server health (service → url → UP|DOWN); defaults to the store's gauges. */
  health?: () => Record<string, Record<string, 'UP' | 'DOWN'>>;
  certificates?: () => CertificateLike[] | Promise<CertificateLike[]>;
  /** Configuration reload failures seen in the window (the engine keeps the history). */
  reloadFailuresIn(windowMs: number): number;
  now: number;
}

export interface SignalValue {
  /** Extra labels that tell the instance apart (e.g. service). */
  labels: Record<string, string>;
  /** Null: no data (no traffic in the window, or fewer requests than minRequests). */
  value: number | null;
}

const DAY_MS = 86_400_000;

function scopeTarget(rule: CompiledAlertRule): { kind: StatKind; name: string } | null {
  const s = rule.scope;
  if (s.router !== undefined) return { kind: 'routers', name: s.router };
  if (s.service !== undefined) return { kind: 'services', name: s.service };
  if (s.server !== undefined) return { kind: 'servers', name: s.server };
  if (s.entryPoint !== undefined) return { kind: 'entrypoints', name: s.entryPoint };
  if (s.caller !== undefined) return { kind: 'callers', name: s.caller };
  return null;
}

/** Golden metrics of the rule's scope over its window, or null without traffic. */
function trafficRow(rule: CompiledAlertRule, metrics: AlertMetrics): StatRow | null {
  const t = scopeTarget(rule);
  const from = rule.scope.caller;
  if (t !== null) {
    const rows = metrics.stat(t.kind, rule.windowMs, t.kind !== 'callers' && from !== undefined ? { from } : {});
    return rows.find((r) => r.name === t.name) ?? null;
  }
  // Unscoped: every exchange, summed over entry points (latency: the worst entry point).
  const rows = metrics.stat('entrypoints', rule.windowMs, {});
  if (rows.length === 0) return null;
  let requests = 0;
  let ok = 0;
  let rps = 0;
  const worst = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
  const out: StatRow = {
    name: '*',
    success: null,
    rps: 0,
    latencyP50Ms: null,
    latencyP95Ms: null,
    latencyP99Ms: null,
    requests: 0,
    tcpConnections: null,
  };
  for (const r of rows) {
    requests += r.requests;
    rps += r.rps;
    if (r.success !== null) ok += r.success * r.requests;
    out.latencyP50Ms = worst(out.latencyP50Ms, r.latencyP50Ms);
    out.latencyP95Ms = worst(out.latencyP95Ms, r.latencyP95Ms);
    out.latencyP99Ms = worst(out.latencyP99Ms, r.latencyP99Ms);
  }
  out.requests = requests;
  out.rps = rps;
  out.success = requests > 0 ? ok / requests : null;
  return out;
}

function healthOf(inp: SignalInputs): Map<string, number> {
  const healthy = new Map<string, number>();
  if (inp.health !== undefined) {
    for (const [svc, urls] of Object.entries(inp.health())) healthy.set(svc, Object.values(urls).filter((s) => s === 'UP').length);
  } else {
    for (const s of inp.metrics.prometheusSnapshot().serverUp) healthy.set(s.service, (healthy.get(s.service) ?? 0) + (s.up ? 1 : 0));
  }
  return healthy;
}

export async function evaluateSignal(rule: CompiledAlertRule, inp: SignalInputs): Promise<SignalValue[]> {
  switch (rule.signal) {
    case 'successRate':
    case 'requestRate':
    case 'latencyP50':
    case 'latencyP95':
    case 'latencyP99': {
      const row = trafficRow(rule, inp.metrics);
      if (rule.signal === 'requestRate') return [{ labels: {}, value: row?.rps ?? 0 }];
      if (row === null || row.requests < Math.max(1, rule.minRequests)) return [{ labels: {}, value: null }];
      const v =
        rule.signal === 'successRate'
          ? row.success
          : rule.signal === 'latencyP50'
            ? row.latencyP50Ms
            : rule.signal === 'latencyP95'
              ? row.latencyP95Ms
              : row.latencyP99Ms;
      return [{ labels: {}, value: v }];
    }
    case 'healthyServers': {
      const healthy = healthOf(inp);
      const svc = rule.scope.service;
      if (svc !== undefined) return [{ labels: {}, value: healthy.has(svc) ? (healthy.get(svc) as number) : null }];
      return [...healthy].map(([service, n]) => ({ labels: { service }, value: n }));
    }
    case 'certificateDaysLeft': {
      const certs = inp.certificates !== undefined ? await inp.certificates() : [];
      const name = rule.scope.certificate;
      const sel = name !== undefined ? certs.filter((c) => c.name === name) : certs;
      return sel.map((c): SignalValue => ({
        labels: name !== undefined ? {} : { certificate: c.name },
        value: Math.floor(((c.notAfter - inp.now) / DAY_MS) * 100) / 100,
      }));
    }
    case 'configReloadFailures':
      return [{ labels: {}, value: inp.reloadFailuresIn(rule.windowMs) }];
  }
}
