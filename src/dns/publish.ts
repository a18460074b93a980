/**
 * One publishing pass: read the provider's zones, plan (./plan.ts), apply one
 * change per zone. The publisher loop (interval, snapshot listener, /api/dns)
 * calls `publishOnce` and keeps `missingSince` between passes.
 */
import { planChanges, type DesiredRecord, type Plan, type PlanOptions } from './plan.js';
import { DnsError, type DnsProvider, type RecordSet } from './types.js';

export interface PublishOptions extends Omit<PlanOptions, 'capabilities' | 'providerKind'> {
  /** `--dns.dryrun`: plan only, apply nothing. */
  readonly dryRun?: boolean;
}

export interface ZoneResult {
  readonly zone: string;
  /** Read and (unless dry run or refused) applied without error. */
  readonly ok: boolean;
  readonly error?: { readonly reason: string; readonly message: string };
}

export interface PublishResult {
  readonly plan: Plan;
  readonly zones: ZoneResult[];
  readonly applied: boolean;
}

/**
 * Plans against the zones the provider lists and applies the changes, zone by
 * zone; records of a zone applied without error become Published. A zone that cannot be read is left out of the plan (its desired records
 * become Failed, its records are not touched); a zone whose apply fails marks its
 * Pending records Failed with the provider's message. Never throws a DnsError for
 * one zone; a zone listing failure rejects (nothing can be planned).
 */
export async function publishOnce(provider: DnsProvider, desired: readonly DesiredRecord[], opts: PublishOptions): Promise<PublishResult> {
  const zones = await provider.zones();
  const current = new Map<string, readonly RecordSet[]>();
  const results = new Map<string, ZoneResult>();
  for (const zone of zones) {
    if (!provider.capabilities.read) {
      current.set(zone, []);
      continue;
    }
    try {
      current.set(zone, await provider.records(zone));
    } catch (err) {
      results.set(zone, { zone, ok: false, error: describe(err) });
    }
  }
  const plan = planChanges(desired, current, { ...opts, capabilities: provider.capabilities, providerKind: provider.kind });
  for (const [zone, r] of results) {
    for (const rec of plan.records) {
      if (rec.state !== 'Failed' || rec.zone !== undefined) continue;
      if (rec.name === zone || rec.name.endsWith(`.${zone}`)) rec.reason = `zone ${zone} cannot be read: ${r.error?.message ?? ''}`;
    }
  }
  const applying = opts.dryRun !== true && plan.refused === undefined;
  for (const [zone, changes] of plan.changes) {
    if (!applying) continue;
    try {
      await provider.apply(zone, changes);
      results.set(zone, { zone, ok: true });
      for (const rec of plan.records) {
        if (rec.zone === zone && rec.state === 'Pending') {
          rec.state = 'Published';
          delete rec.reason;
        }
      }
    } catch (err) {
      const error = describe(err);
      results.set(zone, { zone, ok: false, error });
      for (const rec of plan.records) {
        if (rec.zone === zone && rec.state === 'Pending') {
          rec.state = 'Failed';
          rec.reason = error.message;
        }
      }
    }
  }
  for (const zone of current.keys()) if (!results.has(zone)) results.set(zone, { zone, ok: true });
  return { plan, zones: [...results.values()].sort((a, b) => (a.zone < b.zone ? -1 : 1)), applied: applying };
}

function describe(err: unknown): { reason: string; message: string } {
  if (err instanceof DnsError) return { reason: err.reason, message: err.message };
  return { reason: 'ERROR', message: err instanceof Error ? err.message : String(err) };
}
