/**
 * AlertRule resources → immutable compiled rules. Problems are reported per
 * rule with the resource's file and line and the field (a broken rule is left
 * out; the others keep working).
 */
import { Value } from '@sinclair/typebox/value';
import type { Resource } from '../config/model.js';
import type { ConfigIssue } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { ALERT_KIND, AlertRuleSpecSchema, type AlertOperator, type AlertRuleSpec, type AlertScope, type AlertSignal } from './schema.js';

export type Comparison = '>' | '>=' | '<' | '<=';

export interface CompiledWebhook {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly receiver: string;
}

export interface CompiledAlertRule {
  /** `name` or `namespace/name`; the `alertname` label. */
  readonly name: string;
  readonly description: string;
  readonly signal: AlertSignal;
  readonly scope: Readonly<AlertScope>;
  readonly operator: AlertOperator;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly windowMs: number;
  readonly everyMs: number;
  readonly severity: 0 | 1 | 2 | 3 | 4;
  readonly autoMitigate: boolean;
  readonly minRequests: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly webhooks: readonly CompiledWebhook[];
  /** Changes when anything in the rule changes (states are kept across reloads otherwise). */
  readonly key: string;
}

const COMPARISON: Record<AlertOperator, Comparison> = {
  GreaterThan: '>',
  GreaterThanOrEqual: '>=',
  LessThan: '<',
  LessThanOrEqual: '<=',
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
};

export const MAX_WINDOW_MS = 3_600_000;
export const MIN_EVERY_MS = 1000;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function compare(c: Comparison, value: number, threshold: number): boolean {
  switch (c) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

function issueAt(r: Resource, field: string | undefined, message: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  return {
    ...r.source,
    object: `${r.kind} ${r.namespace !== undefined ? `${r.namespace}/` : ''}${r.name}`,
    ...(field !== undefined ? { field } : {}),
    message,
    severity,
  };
}

function duration(
  r: Resource,
  field: string,
  v: string | undefined,
  def: number,
  min: number,
  max: number,
  issues: ConfigIssue[],
): number | null {
  if (v === undefined) return def;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (err) {
    issues.push(issueAt(r, field, (err as Error).message));
    return null;
  }
  if (ms < min || ms > max) {
    issues.push(issueAt(r, field, `must be between ${min / 1000}s and ${max / 60_000}m, got "${v}"`));
    return null;
  }
  return ms;
}

function compileOne(r: Resource, issues: ConfigIssue[]): CompiledAlertRule | null {
  const errs = [...Value.Errors(AlertRuleSpecSchema, r.spec)].slice(0, 10);
  if (errs.length > 0) {
    for (const e of errs) {
      const path = e.path
        .split('/')
        .filter((p) => p !== '')
        .join('.');
      issues.push(issueAt(r, path === '' ? 'spec' : `spec.${path}`, e.message.replace(/^Expected/, 'expected')));
    }
    return null;
  }
  const spec = r.spec as AlertRuleSpec;
  const n = issues.length;
  const windowMs = duration(r, 'spec.windowSize', spec.windowSize, 300_000, MIN_EVERY_MS, MAX_WINDOW_MS, issues);
  const everyMs = duration(r, 'spec.evaluationFrequency', spec.evaluationFrequency, 60_000, MIN_EVERY_MS, 24 * MAX_WINDOW_MS, issues);
  const scope = spec.scope ?? {};
  const targets = (['router', 'service', 'server', 'entryPoint'] as const).filter((k) => scope[k] !== undefined);
  if (targets.length > 1)
    issues.push(issueAt(r, 'spec.scope', `give at most one of router, service, server, entryPoint (got ${targets.join(', ')})`));
  if (spec.signal === 'healthyServers' && targets.length > 0 && scope.service === undefined)
    issues.push(issueAt(r, 'spec.scope', 'healthyServers is scoped by service only'));
  if (spec.signal === 'certificateDaysLeft' && targets.length > 0)
    issues.push(issueAt(r, 'spec.scope', 'certificateDaysLeft is scoped by certificate only'));
  if (scope.certificate !== undefined && spec.signal !== 'certificateDaysLeft')
    issues.push(issueAt(r, 'spec.scope.certificate', 'only for the certificateDaysLeft signal'));
  if (!Number.isFinite(spec.threshold)) issues.push(issueAt(r, 'spec.threshold', 'must be a finite number'));
  if (spec.signal === 'successRate' && (spec.threshold < 0 || spec.threshold > 1))
    issues.push(issueAt(r, 'spec.threshold', `successRate is a ratio between 0 and 1 (e.g. 0.99), got ${spec.threshold}`));
  for (const k of Object.keys(spec.labels ?? {}))
    if (!LABEL_NAME.test(k)) issues.push(issueAt(r, `spec.labels.${k}`, 'not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'));
  if (windowMs !== null && everyMs !== null && everyMs > windowMs)
    issues.push(
      issueAt(r, 'spec.evaluationFrequency', 'is longer than windowSize: some of the traffic would never be looked at', 'warning'),
    );
  if (issues.slice(n).some((i) => i.severity !== 'warning') || windowMs === null || everyMs === null) return null;
  if (spec.enabled === false) return null;
  const name = r.namespace !== undefined ? `${r.namespace}/${r.name}` : r.name;
  const webhooks = (spec.webhooks ?? []).map((w, i) =>
    Object.freeze({ url: w.url, headers: Object.freeze({ ...(w.headers ?? {}) }), receiver: w.name ?? `${name}-webhook-${i}` }),
  );
  return Object.freeze({
    name,
    description: spec.description ?? '',
    signal: spec.signal,
    scope: Object.freeze({ ...scope }),
    operator: spec.operator,
    comparison: COMPARISON[spec.operator],
    threshold: spec.threshold,
    windowMs,
    everyMs,
    severity: (spec.severity ?? 3) as 0 | 1 | 2 | 3 | 4,
    autoMitigate: spec.autoMitigate ?? true,
    minRequests: spec.minRequests ?? 1,
    labels: Object.freeze({ ...(spec.labels ?? {}) }),
    annotations: Object.freeze({ ...(spec.annotations ?? {}) }),
    webhooks: Object.freeze(webhooks),
    key: JSON.stringify(spec),
  });
}

/** Compile every AlertRule among the resources (other kinds are ignored). */
export function compileAlertRules(resources: readonly Resource[]): { rules: CompiledAlertRule[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const rules: CompiledAlertRule[] = [];
  const seen = new Set<string>();
  for (const r of resources) {
    if (r.kind !== ALERT_KIND) continue;
    const c = compileOne(r, issues);
    if (c === null) continue;
    if (seen.has(c.name)) {
      issues.push(issueAt(r, undefined, `duplicate AlertRule "${c.name}" (the first one is used)`));
      continue;
    }
    seen.add(c.name);
    rules.push(c);
  }
  return { rules, issues };
}
