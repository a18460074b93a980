/**
 * The publisher's Prometheus metrics (docs/dns.md "Status"), appended to
 * `/metrics` by the primary: `gatehouse_dns_records{state}` (gauge, every
 * state always present) and `gatehouse_dns_sync_errors_total` (counter:
 * passes in which the provider failed: zones not listed or read, an apply refused).
 */
import { escapeLabelValue } from '../observe/prometheus.js';
import { RECORD_STATES, type DnsMetrics, type DnsStatus } from './publisher.js';
import type { RecordState } from './plan.js';

export function dnsPrometheusText(status: Pick<DnsStatus, 'records' | 'syncErrors'> | DnsMetrics): string {
  let counts: Readonly<Record<RecordState, number>>;
  let errors: number;
  if ('syncErrorsTotal' in status) {
    counts = status.records;
    errors = status.syncErrorsTotal;
  } else {
    const c: Record<RecordState, number> = { Published: 0, Pending: 0, Failed: 0, Conflict: 0 };
    for (const r of status.records) c[r.state]++;
    counts = c;
    errors = status.syncErrors;
  }
  const lines = [
    '# HELP gatehouse_dns_records DNS records managed by the publisher, by state.',
    '# TYPE gatehouse_dns_records gauge',
    ...RECORD_STATES.map((s) => `gatehouse_dns_records{state="${escapeLabelValue(s)}"} ${counts[s] ?? 0}`),
    '# HELP gatehouse_dns_sync_errors_total Publishing passes in which the DNS provider failed.',
    '# TYPE gatehouse_dns_sync_errors_total counter',
    `gatehouse_dns_sync_errors_total ${errors}`,
  ];
  return `${lines.join('\n')}\n`;
}
