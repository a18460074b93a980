/**
 * Prometheus text exposition (format 0.0.4) with Traefik's metric names, so
 * existing Traefik dashboards and alerts work unchanged, plus Gatehouse's
 * per-caller golden-metric series.
 *
 * Label sets follow Traefik: entrypoint and service metrics are on by default
 * (`addEntryPointsLabels`, `addServicesLabels`), router metrics only with
 * `addRoutersLabels`. Both the v3 `traefik_open_connections` and the v2
 * `traefik_entrypoint_open_connections` gauges are written.
 */
import type { PrometheusSnapshot } from './metrics.js';
import { SEP, type TotalsSeries, type TotalsTable } from './totals.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusOptions {
  /** Default true (Traefik). */
  addEntryPointsLabels?: boolean;
  /** Default false (Traefik). */
  addRoutersLabels?: boolean;
  /** Default true (Traefik). */
  addServicesLabels?: boolean;
}

/** Escape a label value: backslash, double quote, line feed. */
export function escapeLabelValue(v: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const rep = c === 92 ? '\\\\' : c === 34 ? '\\"' : c === 10 ? '\\n' : null;
    if (rep !== null) {
      out += v.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return from === 0 ? v : out + v.slice(from);
}

/** Escape HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus writes it. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelString(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Writer {
  readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: string, value: number): void {
    this.lines.push(`${name}${labels} ${formatValue(value)}`);
  }
  counterFrom(
    name: string,
    help: string,
    names: readonly string[],
    table: TotalsTable,
    pick: (s: TotalsSeries) => number,
    labelsOf?: (s: TotalsSeries) => string[],
  ): void {
    this.family(name, 'counter', help);
    for (const s of table.values()) this.sample(name, labelString(names, labelsOf ? labelsOf(s) : s.labels), pick(s));
  }
  histogramFrom(name: string, help: string, names: readonly string[], table: TotalsTable, bounds: readonly number[]): void {
    this.family(name, 'histogram', help);
    for (const s of table.values()) {
      let cum = 0;
      for (let i = 0; i < bounds.length; i++) {
        cum += s.buckets[i] ?? 0;
        this.sample(`${name}_bucket`, labelString(names, s.labels, `le="${formatValue(bounds[i] as number)}"`), cum);
      }
      // `timed`, not `count`: the gateway's own long-lived streams are requests without a duration.
      this.sample(`${name}_bucket`, labelString(names, s.labels, 'le="+Inf"'), s.timed);
      const l = labelString(names, s.labels);
      this.sample(`${name}_sum`, l, s.sum);
      this.sample(`${name}_count`, l, s.timed);
    }
  }
}

const EP = ['code', 'method', 'protocol', 'entrypoint'] as const;
const RT = ['code', 'method', 'protocol', 'router', 'service'] as const;
const SV = ['code', 'method', 'protocol', 'service'] as const;

/** Render the whole exposition. */
export function renderPrometheus(snap: PrometheusSnapshot, opts: PrometheusOptions = {}): string {
  const w = new Writer();
  const t = snap.totals;
  const bounds = t.bounds;
  const r = snap.reloads;

  w.family('traefik_config_reloads_total', 'counter', 'Config reloads');
  w.sample('traefik_config_reloads_total', '', r.total);
  w.family('traefik_config_reloads_failure_total', 'counter', 'Config reload failures');
  w.sample('traefik_config_reloads_failure_total', '', r.failures);
  w.family('traefik_config_last_reload_success', 'gauge', 'Last config reload success');
  w.sample('traefik_config_last_reload_success', '', r.lastSuccess);
  w.family('traefik_config_last_reload_failure', 'gauge', 'Last config reload failure');
  w.sample('traefik_config_last_reload_failure', '', r.lastFailure);
  w.family('gatehouse_config_stale', 'gauge', '1 while a provider serves the last good version of a source it refuses now');
  for (const [provider, v] of Object.entries(r.stale)) w.sample('gatehouse_config_stale', labelString(['provider'], [provider]), v);
  w.family(
    'gatehouse_provider_ready',
    'gauge',
    '1 while the provider is ready: its last reconciliation succeeded and nothing it holds is refused',
  );
  for (const p of r.providers) w.sample('gatehouse_provider_ready', labelString(['provider'], [p.name]), p.ready ? 1 : 0);
  w.family('gatehouse_provider_revision_info', 'gauge', 'The revision each provider has in force (value 1)');
  for (const p of r.providers) w.sample('gatehouse_provider_revision_info', labelString(['provider', 'revision'], [p.name, p.revision]), 1);
  if (r.leaders !== undefined) {
    w.family(
      'gatehouse_kubernetes_leader',
      'gauge',
      '1 while this replica holds the Lease of the Kubernetes provider (writes status and Events)',
    );
    for (const [provider, v] of Object.entries(r.leaders))
      w.sample('gatehouse_kubernetes_leader', labelString(['provider'], [provider]), v);
  }

  if (r.acmeOrders !== undefined) {
    w.family('gatehouse_acme_orders_total', 'counter', 'ACME orders by certificate resolver and result (success, failure, rate_limited)');
    for (const o of r.acmeOrders)
      w.sample('gatehouse_acme_orders_total', labelString(['resolver', 'result'], [o.resolver, o.result]), o.count);
  }

  w.family('traefik_open_connections', 'gauge', 'How many open connections exist, by entryPoint and protocol');
  for (const [ep, n] of snap.connections) w.sample('traefik_open_connections', labelString(['entrypoint', 'protocol'], [ep, 'TCP']), n);

  if (opts.addEntryPointsLabels ?? true) {
    w.counterFrom(
      'traefik_entrypoint_requests_total',
      'How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.',
      EP,
      t.entrypoints,
      (s) => s.count,
    );
    w.histogramFrom(
      'traefik_entrypoint_request_duration_seconds',
      'How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.',
      EP,
      t.entrypoints,
      bounds,
    );
    w.counterFrom(
      'traefik_entrypoint_requests_bytes_total',
      'The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method.',
      EP,
      t.entrypoints,
      (s) => s.bytesIn,
    );
    w.counterFrom(
      'traefik_entrypoint_responses_bytes_total',
      'The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method.',
      EP,
      t.entrypoints,
      (s) => s.bytesOut,
    );
    w.family('traefik_entrypoint_open_connections', 'gauge', 'How many open connections exist on an entrypoint (Traefik v2 name).');
    for (const [ep, n] of snap.connections)
      w.sample('traefik_entrypoint_open_connections', labelString(['entrypoint', 'protocol'], [ep, 'TCP']), n);
  }

  if (opts.addRoutersLabels ?? false) {
    w.counterFrom(
      'traefik_router_requests_total',
      'How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.',
      RT,
      t.routers,
      (s) => s.count,
    );
    w.histogramFrom(
      'traefik_router_request_duration_seconds',
      'How long it took to process the request on a router, partitioned by service, status code, protocol, and method.',
      RT,
      t.routers,
      bounds,
    );
    w.counterFrom(
      'traefik_router_requests_bytes_total',
      'The total size of requests in bytes handled by a router, partitioned by service, status code, protocol, and method.',
      RT,
      t.routers,
      (s) => s.bytesIn,
    );
    w.counterFrom(
      'traefik_router_responses_bytes_total',
      'The total size of responses in bytes handled by a router, partitioned by service, status code, protocol, and method.',
      RT,
      t.routers,
      (s) => s.bytesOut,
    );
  }

  if (opts.addServicesLabels ?? true) {
    w.counterFrom(
      'traefik_service_requests_total',
      'How many HTTP requests processed on a service, partitioned by status code, protocol, and method.',
      SV,
      t.services,
      (s) => s.count,
    );
    w.histogramFrom(
      'traefik_service_request_duration_seconds',
      'How long it took to process the request on a service, partitioned by status code, protocol, and method.',
      SV,
      t.services,
      bounds,
    );
    w.counterFrom(
      'traefik_service_requests_bytes_total',
      'The total size of requests in bytes received by a service, partitioned by status code, protocol, and method.',
      SV,
      t.services,
      (s) => s.bytesIn,
    );
    w.counterFrom(
      'traefik_service_responses_bytes_total',
      'The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method.',
      SV,
      t.services,
      (s) => s.bytesOut,
    );
    w.family('traefik_service_retries_total', 'counter', 'How many request retries happened on a service.');
    for (const [svc, n] of t.retries) w.sample('traefik_service_retries_total', labelString(['service'], [svc]), n);
    w.family('traefik_service_server_up', 'gauge', 'service server is up, described by gauge value of 0 or 1.');
    for (const s of snap.serverUp) w.sample('traefik_service_server_up', labelString(['service', 'url'], [s.service, s.url]), s.up ? 1 : 0);
  }
  if (t.answers.size > 0) {
    w.family('gatehouse_answers_total', 'counter', 'Answers the gateway made itself, by reason (docs/errors.md) and entry point.');
    for (const [k, n] of t.answers) {
      const i = k.indexOf(SEP);
      w.sample('gatehouse_answers_total', labelString(['code', 'entrypoint'], [k.slice(0, i), k.slice(i + 1)]), n);
    }
  }

  w.counterFrom(
    'gatehouse_requests_total',
    'Requests by caller, router and service, classified success or failure (5xx, connection errors, timeouts, gRPC server faults).',
    ['caller', 'router', 'service', 'classification'],
    t.callers,
    (s) => s.count,
  );
  w.histogramFrom('gatehouse_request_duration_seconds', 'Request duration by caller.', ['caller'], t.callerDurations, bounds);

  w.lines.push('');
  return w.lines.join('\n');
}
