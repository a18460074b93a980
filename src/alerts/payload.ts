/**
 * The Alertmanager webhook payload (version "4"), so an existing Alertmanager
 * receiver or chat bridge can take Gatehouse's notifications as they are.
 */
import { createHash } from 'node:crypto';

export type AlertStatus = 'firing' | 'resolved';

export interface AlertmanagerAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339; Alertmanager's zero time while firing. */
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: AlertStatus;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** Alertmanager's "not ended" time. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export const SEVERITY_NAMES = ['critical', 'error', 'warning', 'informational', 'verbose'] as const;

function sorted(labels: Record<string, string>): Array<[string, string]> {
  return Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** 16 hex digits identifying a label set (stable across restarts). */
export function fingerprint(labels: Record<string, string>): string {
  const h = createHash('sha256');
  for (const [k, v] of sorted(labels)) h.update(`${k}\u00ff${v}\u00ff`);
  return h.digest('hex').slice(0, 16);
}

/** `{}:{alertname="x"}` as Alertmanager prints a group key. */
export function groupKey(groupLabels: Record<string, string>): string {
  return `{}:{${sorted(groupLabels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

export function buildPayload(
  receiver: string,
  externalURL: string,
  groupLabels: Record<string, string>,
  alerts: AlertmanagerAlert[],
): AlertmanagerPayload {
  return {
    version: '4',
    groupKey: groupKey(groupLabels),
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver,
    groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL,
    alerts,
  };
}
