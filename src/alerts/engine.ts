/**
 * AlertEngine: evaluates AlertRules against the metrics store of the process
 * that holds the aggregate (the only process, or the cluster primary), keeps
 * each alert instance's state (inactive → firing → resolved, with times) and
 * sends Alertmanager-style webhooks on every transition. Evaluation runs on
 * its own unref'd timers, never on a request's path.
 */
import type { Logger } from '../log.js';
import type { Resource } from '../config/model.js';
import type { ConfigIssue } from '../errors.js';
import { compare, compileAlertRules, type CompiledAlertRule } from './compile.js';
import { evaluateSignal, type AlertMetrics, type CertificateLike } from './evaluate.js';
import { buildPayload, fingerprint, SEVERITY_NAMES, ZERO_TIME, type AlertmanagerAlert, type AlertStatus } from './payload.js';
import { WebhookNotifier, type DeliveryResult, type NotifierOptions } from './notifier.js';

export type AlertStateName = 'inactive' | 'firing' | 'resolved';

/** One alert instance as the API, the dashboard and `gatehouse alerts` show it. */
export type AlertStateView = {
  rule: string;
  fingerprint: string;
  state: AlertStateName;
  signal: string;
  scope: Record<string, string>;
  /** e.g. `successRate < 0.95 over 5m` */
  condition: string;
  operator: string;
  threshold: number;
  windowSize: string;
  evaluationFrequency: string;
  severity: number;
  severityName: string;
  autoMitigate: boolean;
  description: string;
  labels: Record<string, string>;
  /** Last evaluated value; null when there was no data. */
  value: number | null;
  /** ISO times; null when never. */
  startsAt: string | null;
  endsAt: string | null;
  lastEvaluatedAt: string | null;
  firedCount: number;
  lastNotification: DeliveryResult | null;
};

export interface AlertEngineOptions {
  metrics: AlertMetrics;
  log?: Logger;
  /** Current server health; the store's gauges otherwise. */
  health?: () => Record<string, Record<string, 'UP' | 'DOWN'>>;
  certificates?: () => CertificateLike[] | Promise<CertificateLike[]>;
  /** Alertmanager `externalURL` and the base of `generatorURL` (e.g. http://gw:8080). */
  externalUrl?: string;
  notifier?: NotifierOptions;
  now?: () => number;
}

interface Instance {
  labels: Record<string, string>;
  fp: string;
  state: AlertStateName;
  value: number | null;
  startsAt: number | null;
  endsAt: number | null;
  lastEvaluatedAt: number | null;
  firedCount: number;
  lastNotification: DeliveryResult | null;
}

interface RuleState {
  rule: CompiledAlertRule;
  instances: Map<string, Instance>;
  timer: NodeJS.Timeout | null;
  running: boolean;
}

const MAX_INSTANCES = 500;

function fmtDuration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

export class AlertEngine {
  private readonly rules = new Map<string, RuleState>();
  private readonly notifier: WebhookNotifier;
  private readonly now: () => number;
  private readonly reloadHistory: Array<[number, number]> = [];
  private closed = false;

  constructor(private readonly o: AlertEngineOptions) {
    this.now = o.now ?? Date.now;
    this.notifier = new WebhookNotifier({ ...(o.log !== undefined ? { log: o.log } : {}), ...o.notifier });
  }

  /** Apply the AlertRules of a new snapshot: unchanged rules keep their state. Returns the rules' issues. */
  update(resources: readonly Resource[]): ConfigIssue[] {
    const { rules, issues } = compileAlertRules(resources);
    this.apply(rules);
    return issues;
  }

  /** Apply compiled rules (the snapshot's `alerts` section): unchanged rules keep their state. */
  apply(rules: readonly CompiledAlertRule[]): void {
    if (this.closed) return;
    const next = new Set(rules.map((r) => r.name));
    for (const [name, st] of this.rules) {
      if (!next.has(name)) this.drop(st);
      if (!next.has(name)) this.rules.delete(name);
    }
    for (const rule of rules) {
      const cur = this.rules.get(rule.name);
      if (cur !== undefined && cur.rule.key === rule.key) continue;
      if (cur !== undefined) this.drop(cur);
      const st: RuleState = { rule, instances: new Map(), timer: null, running: false };
      this.rules.set(rule.name, st);
      st.timer = setInterval(() => void this.evaluate(st), rule.everyMs);
      st.timer.unref();
      // First look soon after start (metrics of the current window already count).
      setTimeout(() => void this.evaluate(st), Math.min(1000, rule.everyMs)).unref();
    }
  }

  /** Stop a rule's timer; a firing instance of a removed or changed rule is resolved. */
  private drop(st: RuleState): void {
    if (st.timer !== null) clearInterval(st.timer);
    st.timer = null;
    for (const inst of st.instances.values()) if (inst.state === 'firing') this.transition(st.rule, inst, 'resolved');
  }

  /** Evaluate every rule now (tests, `check`). */
  async evaluateAll(): Promise<void> {
    await Promise.all([...this.rules.values()].map((st) => this.evaluate(st)));
  }

  private reloadFailuresIn(windowMs: number): number {
    const now = this.now();
    const failures = this.o.metrics.prometheusSnapshot().reloads.failures;
    const h = this.reloadHistory;
    if (h.length === 0 || (h[h.length - 1] as [number, number])[1] !== failures || now - (h[h.length - 1] as [number, number])[0] > 60_000)
      h.push([now, failures]);
    while (h.length > 2 && now - (h[1] as [number, number])[0] > 3_600_000) h.shift();
    // Failures counted since the last sample at or before the window's start.
    let base = (h[0] as [number, number])[1];
    for (const [t, f] of h) if (t <= now - windowMs) base = f;
    return Math.max(0, failures - base);
  }

  private async evaluate(st: RuleState): Promise<void> {
    if (this.closed || st.running || this.rules.get(st.rule.name) !== st) return;
    st.running = true;
    try {
      const rule = st.rule;
      const now = this.now();
      const values = await evaluateSignal(rule, {
        metrics: this.o.metrics,
        ...(this.o.health !== undefined ? { health: this.o.health } : {}),
        ...(this.o.certificates !== undefined ? { certificates: this.o.certificates } : {}),
        reloadFailuresIn: (w) => this.reloadFailuresIn(w),
        now,
      });
      if (this.rules.get(rule.name) !== st) return;
      const seen = new Set<string>();
      for (const v of values) {
        const labels = this.labelsOf(rule, v.labels);
        const fp = fingerprint(labels);
        seen.add(fp);
        let inst = st.instances.get(fp);
        if (inst === undefined) {
          if (st.instances.size >= MAX_INSTANCES) continue;
          inst = {
            labels,
            fp,
            state: 'inactive',
            value: null,
            startsAt: null,
            endsAt: null,
            lastEvaluatedAt: null,
            firedCount: 0,
            lastNotification: null,
          };
          st.instances.set(fp, inst);
        }
        inst.value = v.value;
        inst.lastEvaluatedAt = now;
        const holds = v.value !== null && compare(rule.comparison, v.value, rule.threshold);
        if (holds && inst.state !== 'firing') this.transition(rule, inst, 'firing');
        else if (!holds && inst.state === 'firing' && rule.autoMitigate) this.transition(rule, inst, 'resolved');
      }
      // Instances that disappeared (a service removed): no data, resolve when allowed.
      for (const inst of st.instances.values()) {
        if (seen.has(inst.fp)) continue;
        inst.value = null;
        if (inst.state === 'firing' && rule.autoMitigate) this.transition(rule, inst, 'resolved');
      }
    } catch (err) {
      this.o.log?.warn({ err, alert: st.rule.name }, 'alert rule evaluation failed');
    } finally {
      st.running = false;
    }
  }

  private labelsOf(rule: CompiledAlertRule, extra: Record<string, string>): Record<string, string> {
    const l: Record<string, string> = {
      alertname: rule.name,
      ...rule.labels,
      severity: SEVERITY_NAMES[rule.severity],
      signal: rule.signal,
    };
    for (const [k, v] of Object.entries(rule.scope)) if (v !== undefined) l[k] = v;
    return { ...l, ...extra };
  }

  /** Resolve a rule's firing instances by hand (rules with autoMitigate false). Returns how many. */
  resolve(ruleName: string): number {
    const st = this.rules.get(ruleName);
    if (st === undefined) return 0;
    let n = 0;
    for (const inst of st.instances.values()) {
      if (inst.state !== 'firing') continue;
      this.transition(st.rule, inst, 'resolved');
      n++;
    }
    return n;
  }

  private transition(rule: CompiledAlertRule, inst: Instance, to: 'firing' | 'resolved'): void {
    const now = this.now();
    inst.state = to;
    if (to === 'firing') {
      inst.startsAt = now;
      inst.endsAt = null;
      inst.firedCount++;
    } else inst.endsAt = now;
    this.o.log?.info({ alert: rule.name, fingerprint: inst.fp, state: to, value: inst.value }, `alert ${to}`);
    if (rule.webhooks.length === 0 || this.closed) return;
    const alert = this.alertOf(rule, inst, to);
    const base = (this.o.externalUrl ?? '').replace(/\/+$/, '');
    for (const w of rule.webhooks) {
      const payload = buildPayload(w.receiver, base, { alertname: rule.name }, [alert]);
      this.notifier.send(w.url, w.headers, payload, (r) => {
        inst.lastNotification = r;
      });
    }
  }

  private alertOf(rule: CompiledAlertRule, inst: Instance, status: AlertStatus): AlertmanagerAlert {
    const base = (this.o.externalUrl ?? '').replace(/\/+$/, '');
    const cond = `${rule.signal} ${rule.comparison} ${rule.threshold} over ${fmtDuration(rule.windowMs)}`;
    const annotations: Record<string, string> = {
      summary: `${rule.name}: ${cond}`,
      ...(rule.description !== '' ? { description: rule.description } : {}),
      ...rule.annotations,
      value: inst.value === null ? 'no data' : String(inst.value),
      threshold: String(rule.threshold),
    };
    return {
      status,
      labels: inst.labels,
      annotations,
      startsAt: iso(inst.startsAt) ?? new Date(this.now()).toISOString(),
      endsAt: status === 'resolved' ? (iso(inst.endsAt) as string) : ZERO_TIME,
      generatorURL: `${base}/dashboard/#alerts`,
      fingerprint: inst.fp,
    };
  }

  /** Every rule's instances (a rule not evaluated yet shows one inactive row). */
  states(): AlertStateView[] {
    const out: AlertStateView[] = [];
    for (const st of this.rules.values()) {
      const r = st.rule;
      const common = {
        rule: r.name,
        signal: r.signal,
        scope: Object.fromEntries(Object.entries(r.scope).filter((e): e is [string, string] => e[1] !== undefined)),
        condition: `${r.signal} ${r.comparison} ${r.threshold} over ${fmtDuration(r.windowMs)}`,
        operator: r.operator,
        threshold: r.threshold,
        windowSize: fmtDuration(r.windowMs),
        evaluationFrequency: fmtDuration(r.everyMs),
        severity: r.severity,
        severityName: SEVERITY_NAMES[r.severity],
        autoMitigate: r.autoMitigate,
        description: r.description,
      };
      if (st.instances.size === 0) {
        const labels = this.labelsOf(r, {});
        out.push({
          ...common,
          fingerprint: fingerprint(labels),
          state: 'inactive',
          labels,
          value: null,
          startsAt: null,
          endsAt: null,
          lastEvaluatedAt: null,
          firedCount: 0,
          lastNotification: null,
        });
        continue;
      }
      for (const i of st.instances.values()) {
        out.push({
          ...common,
          fingerprint: i.fp,
          state: i.state,
          labels: i.labels,
          value: i.value,
          startsAt: iso(i.startsAt),
          endsAt: iso(i.endsAt),
          lastEvaluatedAt: iso(i.lastEvaluatedAt),
          firedCount: i.firedCount,
          lastNotification: i.lastNotification,
        });
      }
    }
    const rank: Record<AlertStateName, number> = { firing: 0, resolved: 1, inactive: 2 };
    return out.sort((a, b) => rank[a.state] - rank[b.state] || a.severity - b.severity || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
  }

  /** Notifications queued or in flight. */
  get pendingNotifications(): number {
    return this.notifier.pending;
  }

  /** Stop evaluating; deliveries in flight are aborted. */
  close(): void {
    this.closed = true;
    for (const st of this.rules.values()) if (st.timer !== null) clearInterval(st.timer);
    this.rules.clear();
    this.notifier.close();
  }
}
