/**
 * The DNS record publisher running inside the gateway (docs/dns.md): a
 * snapshot consumer (`update`) that keeps the DNS zones in line with the hosts
 * of enabled routers and the records of ExternalDNS `DNSEndpoint` resources.
 * A pass reads the zones, plans and applies (./publish.ts); passes run every
 * `--dns.interval` and soon after each configuration change (no sooner than
 * `--dns.mineventsyncinterval` after the previous one), one at a time.
 *
 * Safety: an owned record nobody asks for any more is deleted only after one
 * interval (`missingSince` is kept between passes); a plan deleting more than
 * `--dns.maxdeletes` is refused; a provider error changes nothing on the server
 * and is shown (records `Failed` with the server's message, `lastError`,
 * `gatehouse_dns_sync_errors_total`); the next pass starts again from what the
 * server holds.
 */
import type { Logger } from '../log.js';
import type { Snapshot } from '../config/runtime.js';
import type { ExternalDnsMetadata } from '../config/model.js';
import { answerKey, checkAnswers, type AnswerCheck } from './alias-check.js';
import { desiredFromDnsEndpoint, desiredFromRouters, type DnsEndpointSpec, type RouterInput, type Skipped } from './desired.js';
import { createDnsProvider, type DnsOptions } from './options.js';
import { recordKey, type DesiredRecord, type DesiredType, type Policy, type RecordState, type RecordStatus } from './plan.js';
import { publishOnce, type PublishResult } from './publish.js';
import { DnsError, type DnsProvider, type RecordSet, type RecordType } from './types.js';

/** The kind of ExternalDNS `DNSEndpoint` resources in `snapshot.resources` (externaldns.k8s.io/v1alpha1). */
export const DNS_ENDPOINT_KIND = 'DNSEndpoint';
/** The snapshot section of TCP routers (src/tcp/compile.ts `TCP_SECTION`). */
const TCP_SECTION = 'tcp';
export const RECORD_STATES: readonly RecordState[] = ['Published', 'Pending', 'Failed', 'Conflict'];
/** Answer checks per pass, at most (the records changed in the pass come first). */
const MAX_CHECKS_PER_PASS = 100;

export interface LastCheck {
  /** ISO 8601. */
  readonly at: string;
  readonly ok: boolean;
  /** What the server answered. */
  readonly answer: readonly string[];
  readonly error?: string;
}

/** One managed record in `/api/dns`. */
export interface DnsRecordView {
  readonly name: string;
  readonly type: DesiredType;
  readonly targets: readonly string[];
  readonly ttl: number;
  readonly zone?: string;
  /** The owner id written in its ownership record (`--dns.txtowner`). */
  readonly owner: string;
  /** The resource written in the ownership record (`router/<name@provider>`, `dnsendpoint/<ns>/<name>`). */
  readonly resource: string;
  /** Every resource asking for it. */
  readonly resources: readonly string[];
  readonly state: RecordState;
  /** Why it is not Published: the server's error, a conflict, the policy. */
  readonly message?: string;
  /** ISO 8601: the last pass that found or made it Published. */
  readonly lastPublished?: string;
  /** The last answer check over DNS after a publish. */
  readonly lastCheck?: LastCheck;
}

export interface DnsSyncError {
  /** ISO 8601. */
  readonly at: string;
  /** `DnsError.reason` (`BADSIG`, `UNREACHABLE`, `HTTP_401`, …). */
  readonly reason: string;
  readonly message: string;
}

/** `GET /api/dns`. */
export interface DnsStatus {
  readonly provider: string;
  readonly policy: Policy;
  readonly dryRun: boolean;
  readonly owner: string;
  /** ISO 8601 of the last pass (successful or not); null before the first. */
  readonly lastSync: string | null;
  /** The error of the last pass; null when it went through. */
  readonly lastError: DnsSyncError | null;
  readonly syncs: number;
  readonly syncErrors: number;
  readonly records: readonly DnsRecordView[];
  /** Owned records nobody asks for, kept until their grace has passed. */
  readonly pendingDeletes: readonly { name: string; type: RecordType; zone: string; deleteAt: string }[];
  /** Hosts and endpoints that publish nothing, with the reason. */
  readonly skipped: readonly Skipped[];
  /** Plan warnings and the refusal of the last pass. */
  readonly warnings: readonly string[];
  /** Set when the last plan was refused (`N deletions exceed --dns.maxdeletes=M`). */
  readonly refused?: string;
}

/** The record state of one router for `/api/http/routers` (its worst record). */
export interface RouterDnsState {
  readonly name: string;
  readonly type: DesiredType;
  readonly state: RecordState;
  readonly message?: string;
}

export interface DnsMetrics {
  readonly records: Readonly<Record<RecordState, number>>;
  readonly syncErrorsTotal: number;
}

export interface DnsPublisherDeps {
  readonly options: DnsOptions;
  /** Default: created from `options` (`createDnsProvider`), and closed by `close()`. */
  readonly provider?: DnsProvider;
  readonly log: Logger;
  /** Called after every pass. */
  readonly onMetrics?: (m: DnsMetrics) => void;
  /** The clock, ms since the epoch (tests). Default `Date.now`. */
  readonly now?: () => number;
}

const SEVERITY: Readonly<Record<RecordState, number>> = { Failed: 3, Conflict: 2, Pending: 1, Published: 0 };

export class DnsPublisher {
  private readonly o: DnsOptions;
  private readonly provider: DnsProvider;
  private readonly ownsProvider: boolean;
  private readonly log: Logger;
  private readonly onMetrics: ((m: DnsMetrics) => void) | undefined;
  private readonly now: () => number;

  private snapshot: Snapshot | null = null;
  private started = false;
  private closed = false;
  private onceDone = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private running: Promise<void> | null = null;
  private dirty = false;
  private lastStart = -Infinity;
  private waiters: Array<(s: DnsStatus) => void> = [];

  private missingSince = new Map<string, number>();
  private records: DnsRecordView[] = [];
  private skipped: Skipped[] = [];
  private warnings: string[] = [];
  private refused: string | undefined;
  private pendingDeletes: DnsStatus['pendingDeletes'] = [];
  private lastSync: string | null = null;
  private lastError: DnsSyncError | null = null;
  private syncs = 0;
  private syncErrors = 0;
  /** `<name> <type>` → when last Published. */
  private published = new Map<string, string>();
  /** `<name> <type>` → the last check and the targets it checked. */
  private checks = new Map<string, { targets: string; check: LastCheck }>();

  constructor(deps: DnsPublisherDeps) {
    this.o = deps.options;
    this.ownsProvider = deps.provider === undefined;
    this.provider = deps.provider ?? createDnsProvider(deps.options);
    this.log = deps.log;
    this.onMetrics = deps.onMetrics;
    this.now = deps.now ?? Date.now;
  }

  /** The configuration in force: desired records are taken from it at the next pass, scheduled now. */
  update(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    if (!this.started || this.closed || this.onceDone) return;
    this.schedule(Math.max(this.now(), this.lastStart + this.o.minEventSyncIntervalMs));
  }

  /** Starts the loop: a pass as soon as a snapshot is there, then every interval (or one pass with `--dns.once`). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.log.info(
      { provider: this.provider.kind, policy: this.o.policy, dryRun: this.o.dryRun, once: this.o.once, intervalMs: this.o.intervalMs },
      'DNS publisher started',
    );
    if (this.snapshot !== null) this.schedule(this.now());
  }

  /** Runs one pass now (after the one in progress) and returns the status after it. */
  async syncNow(): Promise<DnsStatus> {
    while (this.running !== null) await this.running;
    await this.run();
    return this.status();
  }

  /** Resolves with the status after the next pass completes (tests, `--dns.once`). */
  nextSync(): Promise<DnsStatus> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.running !== null) await this.running;
    if (this.ownsProvider) await this.provider.close();
  }

  status(): DnsStatus {
    return {
      provider: this.provider.kind,
      policy: this.o.policy,
      dryRun: this.o.dryRun,
      owner: this.o.owner,
      lastSync: this.lastSync,
      lastError: this.lastError,
      syncs: this.syncs,
      syncErrors: this.syncErrors,
      records: this.records,
      pendingDeletes: this.pendingDeletes,
      skipped: this.skipped,
      warnings: this.warnings,
      ...(this.refused !== undefined ? { refused: this.refused } : {}),
    };
  }

  /** Per HTTP router (`name@provider`): its record in the worst state (Failed > Conflict > Pending > Published). */
  routerStates(): Record<string, RouterDnsState> {
    return this.statesOf('router/');
  }

  /** The same per TCP router (`name@provider`, from its `HostSNI` hosts). */
  tcpRouterStates(): Record<string, RouterDnsState> {
    return this.statesOf('tcprouter/');
  }

  private statesOf(prefix: 'router/' | 'tcprouter/'): Record<string, RouterDnsState> {
    const out: Record<string, RouterDnsState> = Object.create(null) as Record<string, RouterDnsState>;
    for (const r of this.records) {
      for (const res of r.resources) {
        if (!res.startsWith(prefix)) continue;
        const router = res.slice(prefix.length);
        const prev = out[router];
        if (prev !== undefined && SEVERITY[prev.state] >= SEVERITY[r.state]) continue;
        out[router] = { name: r.name, type: r.type, state: r.state, ...(r.message !== undefined ? { message: r.message } : {}) };
      }
    }
    return out;
  }

  counters(): DnsMetrics {
    const records = { Published: 0, Pending: 0, Failed: 0, Conflict: 0 } as Record<RecordState, number>;
    for (const r of this.records) records[r.state]++;
    return { records, syncErrorsTotal: this.syncErrors };
  }

  /** The desired records of a snapshot: hosts of enabled HTTP and TCP routers, DNSEndpoint resources. */
  desired(snapshot: Snapshot): { records: DesiredRecord[]; skipped: Skipped[] } {
    const o = this.o;
    const routers: RouterInput[] = [...httpRouterInputs(snapshot), ...tcpRouterInputs(snapshot)];
    const filters = { domainFilters: o.domainFilters, excludeDomains: o.excludeDomains, ttl: o.ttl };
    const fromRouters = desiredFromRouters(routers, {
      ...filters,
      ...(o.targets.length > 0 ? { targets: o.targets } : {}),
      ...(o.targetHostname !== null ? { targetHostname: o.targetHostname } : {}),
    });
    const records = [...fromRouters.records];
    const skipped = [...fromRouters.skipped];
    for (const res of snapshot.resources) {
      if (res.kind !== DNS_ENDPOINT_KIND) continue;
      const resource = `dnsendpoint/${res.namespace ?? 'default'}/${res.name}`;
      const spec = res.spec as { endpoints?: unknown } | null;
      if (spec === null || typeof spec !== 'object' || (spec.endpoints !== undefined && !Array.isArray(spec.endpoints))) {
        skipped.push({ source: resource, reason: 'spec.endpoints is not a list' });
        continue;
      }
      const endpoints = (spec.endpoints ?? []).filter((e): e is object => e !== null && typeof e === 'object');
      const r = desiredFromDnsEndpoint({ endpoints } as DnsEndpointSpec, resource, filters);
      records.push(...r.records);
      skipped.push(...r.skipped);
    }
    return { records, skipped };
  }

  private schedule(at: number): void {
    if (this.closed) return;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.run();
      },
      Math.max(0, at - this.now()),
    );
    this.timer.unref();
  }

  private run(): Promise<void> {
    if (this.running !== null) {
      this.dirty = true;
      return this.running;
    }
    if (this.closed || this.snapshot === null) return Promise.resolve();
    this.running = this.pass()
      .catch((err: unknown) => this.log.error({ err }, 'DNS publisher: unexpected error in a pass'))
      .finally(() => {
        this.running = null;
        const status = this.status();
        for (const w of this.waiters.splice(0)) w(status);
        this.onMetrics?.(this.counters());
        if (!this.started || this.closed) return;
        if (this.o.once) {
          this.onceDone = true;
          if (this.timer !== null) clearTimeout(this.timer);
          this.timer = null;
          this.log.info('DNS publisher: --dns.once: one pass done, stopping');
          return;
        }
        if (this.dirty) {
          this.dirty = false;
          this.schedule(this.lastStart + this.o.minEventSyncIntervalMs);
        }
        this.schedule(this.lastStart + this.o.intervalMs);
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const snapshot = this.snapshot as Snapshot;
    const start = this.now();
    this.lastStart = start;
    const at = new Date(start).toISOString();
    const { records: desired, skipped } = this.desired(snapshot);
    this.skipped = skipped;
    let result: PublishResult;
    try {
      result = await publishOnce(this.provider, desired, {
        policy: this.o.policy,
        owner: this.o.owner,
        txtPrefix: this.o.txtPrefix,
        maxDeletes: this.o.maxDeletes,
        graceMs: this.o.intervalMs,
        now: start,
        missingSince: this.missingSince,
        dryRun: this.o.dryRun,
      });
    } catch (err) {
      // Nothing could be planned (the zones cannot be listed): nothing changed on the server.
      const e = describe(err);
      this.syncs++;
      this.syncErrors++;
      this.lastSync = at;
      this.lastError = { at, ...e };
      this.records = this.records.map((r) => ({ ...r, state: 'Failed', message: e.message }));
      // Desired records not seen before are shown too.
      const known = new Set(this.records.map((r) => recordKey(r.name, r.type)));
      for (const d of desired) {
        if (known.has(recordKey(d.name, d.type))) continue;
        known.add(recordKey(d.name, d.type));
        this.records.push({
          name: d.name,
          type: d.type,
          targets: d.targets,
          ttl: d.ttl,
          owner: this.o.owner,
          resource: d.resource,
          resources: [d.resource],
          state: 'Failed',
          message: e.message,
        });
      }
      this.log.error({ provider: this.provider.kind, reason: e.reason }, `DNS publisher: ${e.message}`);
      return;
    }

    const { plan } = result;
    this.syncs++;
    this.lastSync = at;
    this.missingSince = plan.missingSince;
    this.refused = plan.refused;
    this.warnings = [...plan.warnings, ...(plan.refused !== undefined ? [`plan refused: ${plan.refused}`] : [])];
    this.pendingDeletes = plan.pendingDeletes
      .map((p) => ({ name: p.name, type: p.type, zone: p.zone, deleteAt: new Date(p.deleteAt).toISOString() }))
      .sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1));
    const zoneErrors = result.zones.filter((z) => !z.ok);
    if (zoneErrors.length > 0) {
      this.syncErrors++;
      const first = zoneErrors[0]?.error;
      this.lastError = { at, reason: first?.reason ?? 'ERROR', message: zoneErrors.map((z) => z.error?.message ?? z.zone).join('; ') };
      for (const z of zoneErrors)
        this.log.error({ provider: this.provider.kind, zone: z.zone, reason: z.error?.reason }, `DNS publisher: ${z.error?.message ?? ''}`);
    } else this.lastError = null;
    if (plan.refused !== undefined)
      this.log.warn(
        { provider: this.provider.kind, deletions: plan.deletions, maxDeletes: this.o.maxDeletes },
        `DNS publisher: plan refused, nothing applied: ${plan.refused}`,
      );
    for (const w of plan.warnings) this.log.warn({ provider: this.provider.kind }, `DNS publisher: ${w}`);
    this.logChanges(result);

    // Answer checks: records changed in this pass first, then those never checked or checked with other targets.
    const changed = new Set<string>();
    if (result.applied)
      for (const c of plan.changes.values()) for (const rs of [...c.create, ...c.update]) changed.add(recordKey(rs.name, rs.type));
    const toCheck: RecordSet[] = [];
    if (this.o.check !== null && !this.o.dryRun) {
      const candidates = plan.records.filter((r) => r.state === 'Published');
      const sig = (r: RecordStatus): string => `${r.ttl} ${r.targets.join(',')}`;
      const order = (r: RecordStatus): number => {
        const k = recordKey(r.name, r.type);
        if (changed.has(k)) return 0;
        const c = this.checks.get(k);
        return c === undefined || c.targets !== sig(r) || !c.check.ok ? 1 : 2;
      };
      for (const r of candidates.sort((a, b) => order(a) - order(b))) {
        if (order(r) === 2 || toCheck.length >= MAX_CHECKS_PER_PASS) continue;
        toCheck.push({ name: r.name, type: r.type, ttl: r.ttl, values: r.targets });
      }
    }
    let answers = new Map<string, AnswerCheck>();
    if (toCheck.length > 0 && this.o.check !== null) {
      try {
        answers = await checkAnswers(this.o.check.host, this.o.check.port, toCheck);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'DNS publisher: answer check failed');
      }
    }
    const checkedAt = new Date(this.now()).toISOString();
    for (const rs of toCheck) {
      const a = answers.get(answerKey(rs));
      if (a === undefined) continue;
      const check: LastCheck = { at: checkedAt, ok: a.ok, answer: a.answer, ...(a.error !== undefined ? { error: a.error } : {}) };
      this.checks.set(recordKey(rs.name, rs.type), { targets: `${rs.ttl} ${rs.values.join(',')}`, check });
      if (!a.ok) this.log.warn({ record: rs.name, type: rs.type }, `DNS publisher: answer check: ${a.error ?? 'mismatch'}`);
    }

    const keys = new Set<string>();
    this.records = plan.records.map((r) => {
      const k = recordKey(r.name, r.type);
      keys.add(k);
      if (r.state === 'Published') this.published.set(k, at);
      const lastPublished = this.published.get(k);
      const c = this.checks.get(k);
      return {
        name: r.name,
        type: r.type,
        targets: r.targets,
        ttl: r.ttl,
        ...(r.zone !== undefined ? { zone: r.zone } : {}),
        owner: this.o.owner,
        resource: r.resource,
        resources: r.resources,
        state: r.state,
        ...(r.reason !== undefined && r.state !== 'Published' ? { message: r.reason } : {}),
        ...(lastPublished !== undefined ? { lastPublished } : {}),
        ...(c !== undefined ? { lastCheck: c.check } : {}),
      };
    });
    for (const k of [...this.published.keys()]) if (!keys.has(k)) this.published.delete(k);
    for (const k of [...this.checks.keys()]) if (!keys.has(k)) this.checks.delete(k);
  }

  private logChanges(result: PublishResult): void {
    const { plan } = result;
    for (const [zone, c] of plan.changes) {
      const list = (sets: readonly RecordSet[]): string[] => sets.map((s) => `${s.name} ${s.type} ${s.values.join(',')}`);
      const fields = { provider: this.provider.kind, zone, create: list(c.create), update: list(c.update), delete: list(c.delete) };
      if (this.o.dryRun) this.log.info(fields, 'DNS publisher (dry run): would apply');
      else if (result.applied && result.zones.find((z) => z.zone === zone)?.ok === true) this.log.info(fields, 'DNS publisher: applied');
    }
  }
}

/** HTTP routers of every provider but `internal` (disabled ones publish nothing), with their ExternalDNS annotations and labels. */
function httpRouterInputs(snapshot: Snapshot): RouterInput[] {
  return Object.values(snapshot.routers)
    .filter((r) => r.provider !== 'internal' && typeof r.config?.rule === 'string')
    .map((r) => ({ name: r.name, rule: r.config.rule, status: r.status, ruleSyntax: r.ruleSyntax, ...externalDnsOf(r.externalDns) }));
}

/** What the publisher reads of `snapshot.sections.tcp` (src/tcp/compile.ts `TcpSection`, a folder of the same layer). */
interface TcpRoutersView {
  readonly routers?: Readonly<
    Record<string, { name: string; provider: string; status: string; config?: { rule?: unknown }; externalDns?: ExternalDnsMetadata }>
  >;
}

/** TCP routers (their `HostSNI` hosts), with their ExternalDNS annotations and labels. */
function tcpRouterInputs(snapshot: Snapshot): RouterInput[] {
  const tcp = snapshot.sections?.[TCP_SECTION] as TcpRoutersView | undefined;
  return Object.values(tcp?.routers ?? {})
    .filter((r) => r.provider !== 'internal' && typeof r.config?.rule === 'string')
    .map((r) => ({
      name: r.name,
      rule: r.config?.rule as string,
      status: r.status,
      kind: 'tcp' as const,
      ...externalDnsOf(r.externalDns),
    }));
}

function externalDnsOf(m: ExternalDnsMetadata | undefined): Pick<RouterInput, 'annotations' | 'labels'> {
  if (m === undefined) return {};
  return {
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
    ...(m.labels !== undefined ? { labels: m.labels } : {}),
  };
}

function describe(err: unknown): { reason: string; message: string } {
  if (err instanceof DnsError) return { reason: err.reason, message: err.message };
  return { reason: 'ERROR', message: err instanceof Error ? err.message : String(err) };
}
