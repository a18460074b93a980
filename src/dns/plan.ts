/**
 * The record planner: what to create, update and delete so that a zone holds the
 * desired records, touching only record sets this Gatehouse owns (ExternalDNS's
 * TXT registry, ./ownership.ts). Pure: the caller reads the zones, keeps
 * `missingSince` between runs and applies `changes`. See docs/dns.md.
 */
import { isIP } from 'node:net';
import { DEFAULT_TXT_PREFIX, formatOwnership, ownershipName, parseOwnership } from './ownership.js';
import { zoneOf, type DnsCapabilities, type RecordChanges, type RecordSet, type RecordType } from './types.js';

export type DesiredType = 'A' | 'AAAA' | 'CNAME' | 'ALIAS';

/** One record a router (or a DNSEndpoint) asks for. */
export interface DesiredRecord {
  readonly name: string;
  readonly type: DesiredType;
  readonly targets: readonly string[];
  readonly ttl: number;
  /** Who asks: `router/<name@provider>`, `dnsendpoint/<namespace>/<name>`. */
  readonly resource: string;
}

export type Policy = 'sync' | 'upsert-only' | 'create-only';
export const POLICIES: readonly Policy[] = ['sync', 'upsert-only', 'create-only'];

export interface PlanOptions {
  readonly policy: Policy;
  /** `--dns.txtowner`; default `default`. */
  readonly owner?: string;
  /** `--dns.txtprefix`; default `%{record_type}-gh.`. */
  readonly txtPrefix?: string;
  /** `--dns.maxdeletes`; default 10; a negative value means no limit. */
  readonly maxDeletes?: number;
  readonly capabilities: DnsCapabilities;
  /** The provider kind, for messages (`pdns`, `rfc2136`). */
  readonly providerKind?: string;
  /** How long an owned record must be missing from the desired set before it is deleted; default 60 s (one `--dns.interval`). */
  readonly graceMs?: number;
  /** Now, in ms since the epoch; default `Date.now()`. */
  readonly now?: number;
  /** From the previous plan's `missingSince` (empty on the first run). */
  readonly missingSince?: ReadonlyMap<string, number>;
}

export type RecordState = 'Published' | 'Pending' | 'Failed' | 'Conflict';

/** The state of one desired record (after merging duplicates), for /api/dns. */
export interface RecordStatus {
  readonly name: string;
  /** The type published (a CNAME at the apex becomes ALIAS). */
  readonly type: DesiredType;
  readonly targets: readonly string[];
  readonly ttl: number;
  /** The first asking resource (in sort order): the one written in the ownership record. */
  readonly resource: string;
  /** Every resource asking for this record. */
  readonly resources: readonly string[];
  readonly zone?: string;
  state: RecordState;
  reason?: string;
}

export interface Conflict {
  readonly name: string;
  readonly type: RecordType;
  readonly reason: string;
  /** The resource whose record could not be published, when one asked. */
  readonly resource?: string;
}

export interface PendingDelete {
  readonly name: string;
  readonly type: RecordType;
  readonly zone: string;
  readonly since: number;
  readonly deleteAt: number;
}

export interface Plan {
  /** The effective policy (create-only when the provider cannot read zones). */
  readonly policy: Policy;
  /** Per zone, only zones with changes; empty when the plan is refused. */
  readonly changes: Map<string, RecordChanges>;
  readonly records: RecordStatus[];
  readonly conflicts: Conflict[];
  /** Owned record sets this plan deletes because nothing asks for them any more (ownership TXT and replaced types not counted). */
  readonly deletions: number;
  /** Set when the plan is refused: `N deletions exceed --dns.maxdeletes=M`. Nothing may be applied. */
  readonly refused?: string;
  /** Owned records missing from the desired set, kept until the grace has passed. */
  readonly pendingDeletes: PendingDelete[];
  /** Pass to the next plan (`PlanOptions.missingSince`). */
  readonly missingSince: Map<string, number>;
  readonly warnings: string[];
}

/** Key of a record set in `missingSince`: `<name> <type>`. */
export function recordKey(name: string, type: RecordType): string {
  return `${name} ${type}`;
}

const ADDRESS: ReadonlySet<RecordType> = new Set(['A', 'AAAA']);
const HOSTLIKE: ReadonlySet<RecordType> = new Set(['CNAME', 'ALIAS']);
const MANAGED: ReadonlySet<RecordType> = new Set(['A', 'AAAA', 'CNAME', 'ALIAS']);

type Ownership =
  | { readonly kind: 'ours'; readonly txt: RecordSet; readonly labels: Map<string, string> }
  | { readonly kind: 'other'; readonly owner: string; readonly txt: RecordSet }
  | { readonly kind: 'none'; readonly txt?: RecordSet };

interface ZoneIndex {
  /** name → type → record set */
  readonly byName: Map<string, Map<RecordType, RecordSet>>;
  readonly changes: { create: RecordSet[]; update: RecordSet[]; delete: RecordSet[] };
}

export function planChanges(
  desired: readonly DesiredRecord[],
  current: ReadonlyMap<string, readonly RecordSet[]>,
  opts: PlanOptions,
): Plan {
  const owner = opts.owner ?? 'default';
  const prefix = opts.txtPrefix ?? DEFAULT_TXT_PREFIX;
  const maxDeletes = opts.maxDeletes ?? 10;
  const graceMs = opts.graceMs ?? 60_000;
  const now = opts.now ?? Date.now();
  const provider = opts.providerKind ?? 'the DNS provider';
  const warnings: string[] = [];
  let policy = opts.policy;
  if (!opts.capabilities.read && policy !== 'create-only') {
    warnings.push(`${provider} cannot list zone records: planning as create-only (policy ${policy} needs to read the zone)`);
    policy = 'create-only';
  }
  if (owner.includes(',') || owner.includes('=') || owner === '')
    throw new TypeError(`the TXT owner id "${owner}" must be non-empty without "," or "="`);

  // Index the zones.
  const zones = [...current.keys()].map((z) => z.toLowerCase());
  const index = new Map<string, ZoneIndex>();
  for (const [zone, sets] of current) {
    const byName = new Map<string, Map<RecordType, RecordSet>>();
    for (const rs of sets) {
      const name = normName(rs.name);
      let m = byName.get(name);
      if (m === undefined) byName.set(name, (m = new Map()));
      m.set(rs.type, rs);
    }
    index.set(zone.toLowerCase(), { byName, changes: { create: [], update: [], delete: [] } });
  }
  const lookup = (zone: string, name: string, type: RecordType): RecordSet | undefined => index.get(zone)?.byName.get(name)?.get(type);
  const ownershipOf = (zone: string, name: string, type: RecordType): Ownership => {
    const txt = lookup(zone, ownershipName(name, type, prefix), 'TXT');
    if (txt === undefined) return { kind: 'none' };
    for (const v of txt.values) {
      const labels = parseOwnership(v);
      if (labels === null) continue;
      const o = labels.get('owner') ?? '';
      return o === owner ? { kind: 'ours', txt, labels } : { kind: 'other', owner: o, txt };
    }
    return { kind: 'none', txt };
  };
  const conflictReason = (o: Ownership): string =>
    o.kind === 'other' ? `owned by ${o.owner === '' ? '(no owner)' : o.owner}` : 'not managed (no ownership record)';

  const records = mergeDesired(desired, zones, opts.capabilities, provider);
  const conflicts: Conflict[] = [];
  const wanted = new Set<string>(); // record keys asked for (valid records)
  const keepTxt = new Set<string>(); // ownership TXT names still in use
  const replaced = new Set<string>(); // record keys deleted to make room for another type

  const txtFor = (r: RecordStatus, previous?: Map<string, string>): RecordSet => {
    const labels = new Map(previous ?? []);
    labels.set('owner', owner);
    labels.set('resource', r.resource);
    return { name: ownershipName(r.name, r.type, prefix), type: 'TXT', ttl: r.ttl, values: [formatOwnership(labels)] };
  };
  const replace = (zi: ZoneIndex, zone: string, sets: readonly RecordSet[]): void => {
    for (const rs of sets) {
      zi.changes.delete.push(rs);
      replaced.add(recordKey(rs.name, rs.type));
      const t = lookup(zone, ownershipName(rs.name, rs.type, prefix), 'TXT');
      if (t !== undefined) zi.changes.delete.push(t);
    }
  };
  const conflict = (r: RecordStatus, type: RecordType, reason: string, state: RecordState = 'Conflict'): void => {
    r.state = state;
    r.reason = reason;
    conflicts.push({ name: r.name, type, reason, resource: r.resource });
  };

  for (const r of records) {
    if (r.zone === undefined || r.state === 'Failed') continue;
    const zi = index.get(r.zone) as ZoneIndex;
    const key = recordKey(r.name, r.type);
    wanted.add(key);
    const txtName = ownershipName(r.name, r.type, prefix);
    keepTxt.add(txtName);
    if (!txtName.endsWith(`.${r.zone}`)) {
      r.state = 'Failed';
      r.reason = `the ownership record ${txtName} would be outside zone ${r.zone} (check --dns.txtprefix)`;
      continue;
    }

    // Record sets at the same name that cannot coexist with this one.
    const atName = zi.byName.get(r.name) ?? new Map<RecordType, RecordSet>();
    const incompatible: RecordSet[] = [];
    for (const [t, rs] of atName) {
      if (t === r.type) continue;
      if (HOSTLIKE.has(r.type) ? MANAGED.has(t) || (r.type === 'CNAME' && t === 'TXT') : HOSTLIKE.has(t)) incompatible.push(rs);
    }
    let blocked = false;
    const toReplace: RecordSet[] = [];
    for (const rs of incompatible) {
      const o = rs.type === 'TXT' ? ({ kind: 'none' } as const) : ownershipOf(r.zone, r.name, rs.type);
      if (o.kind !== 'ours') {
        conflict(r, r.type, `${r.name} holds ${rs.type} data ${conflictReason(o)}; a ${r.type} cannot coexist with it`);
        blocked = true;
        break;
      }
      if (policy === 'create-only') {
        conflict(
          r,
          r.type,
          `${r.name} holds our ${rs.type} record; replacing it by a ${r.type} is an update (policy create-only)`,
          'Failed',
        );
        blocked = true;
        break;
      }
      toReplace.push(rs);
    }
    if (blocked) continue;

    const txtOwn = ownershipOf(r.zone, r.name, r.type);
    const cur = atName.get(r.type);
    if (cur === undefined) {
      if (txtOwn.kind === 'other' || (txtOwn.kind === 'none' && txtOwn.txt !== undefined)) {
        conflict(r, 'TXT', `the ownership record ${txtName} is ${conflictReason(txtOwn)}`);
        continue;
      }
      replace(zi, r.zone, toReplace);
      zi.changes.create.push({ name: r.name, type: r.type, ttl: r.ttl, values: [...r.targets] });
      const txt = txtFor(r, txtOwn.kind === 'ours' ? txtOwn.labels : undefined);
      if (txtOwn.kind === 'ours') {
        if (!sameValues('TXT', txtOwn.txt.values, txt.values) || txtOwn.txt.ttl !== txt.ttl) zi.changes.update.push(txt);
      } else zi.changes.create.push(txt);
      r.state = 'Pending';
      r.reason = toReplace.length > 0 ? `replaces ${toReplace.map((x) => x.type).join(', ')}` : 'to be created';
      continue;
    }
    if (txtOwn.kind !== 'ours') {
      conflict(r, r.type, conflictReason(txtOwn));
      continue;
    }
    replace(zi, r.zone, toReplace);
    const same = sameValues(r.type, cur.values, r.targets) && cur.ttl === r.ttl;
    if (!same && policy === 'create-only') {
      r.state = 'Failed';
      r.reason = `differs from what is published (${cur.values.join(', ')}, ttl ${cur.ttl}); policy create-only never updates`;
      continue;
    }
    const txt = txtFor(r, txtOwn.labels);
    const txtChanged = !sameValues('TXT', txtOwn.txt.values, txt.values) || txtOwn.txt.ttl !== txt.ttl;
    if (txtChanged && policy !== 'create-only') zi.changes.update.push(txt);
    if (same) {
      r.state = 'Published';
      continue;
    }
    zi.changes.update.push({ name: r.name, type: r.type, ttl: r.ttl, values: [...r.targets] });
    r.state = 'Pending';
    r.reason = 'to be updated';
  }

  // Owned record sets nobody asks for: deleted under sync once the grace has passed.
  const missingSince = new Map<string, number>();
  const pendingDeletes: PendingDelete[] = [];
  let deletions = 0;
  for (const [zone, zi] of index) {
    for (const [name, types] of zi.byName) {
      for (const [type, rs] of types) {
        if (!MANAGED.has(type)) continue;
        const key = recordKey(name, type);
        if (wanted.has(key) || replaced.has(key)) continue;
        const o = ownershipOf(zone, name, type);
        if (o.kind !== 'ours') continue;
        keepTxt.add(ownershipName(name, type, prefix));
        if (policy !== 'sync') continue;
        const since = opts.missingSince?.get(key) ?? now;
        if (now - since >= graceMs) {
          zi.changes.delete.push(rs);
          zi.changes.delete.push(o.txt);
          keepTxt.delete(ownershipName(name, type, prefix));
          deletions++;
        } else pendingDeletes.push({ name, type, zone, since, deleteAt: since + graceMs });
        missingSince.set(key, since);
      }
    }
  }
  // Our ownership records left without their record set (sync only).
  if (policy === 'sync') {
    for (const zi of index.values()) {
      for (const [name, types] of zi.byName) {
        const txt = types.get('TXT');
        if (txt === undefined || keepTxt.has(name)) continue;
        if (zi.changes.delete.includes(txt)) continue;
        if (!txt.values.some((v) => parseOwnership(v)?.get('owner') === owner)) continue;
        if (!looksLikeOwnershipName(name, prefix)) continue;
        zi.changes.delete.push(txt);
      }
    }
  }

  const changes = new Map<string, RecordChanges>();
  for (const [zone, zi] of index) {
    const c = zi.changes;
    if (c.create.length + c.update.length + c.delete.length === 0) continue;
    changes.set(zone, { create: sortSets(c.create), update: sortSets(c.update), delete: sortSets(c.delete) });
  }

  let refused: string | undefined;
  if (maxDeletes >= 0 && deletions > maxDeletes) {
    refused = `${deletions} deletions exceed --dns.maxdeletes=${maxDeletes}`;
    changes.clear();
    for (const r of records) {
      if (r.state === 'Pending') {
        r.state = 'Failed';
        r.reason = `plan refused: ${refused}`;
      }
    }
  }
  return {
    policy,
    changes,
    records,
    conflicts,
    deletions,
    ...(refused === undefined ? {} : { refused }),
    pendingDeletes,
    missingSince,
    warnings,
  };
}

/** Whether a TXT name could be one of ours (`ownershipName` of some name and type with this prefix). */
function looksLikeOwnershipName(name: string, prefix: string): boolean {
  const p = prefix.toLowerCase();
  for (const t of ['a', 'aaaa', 'cname']) {
    if (p.includes('%{record_type}')) {
      if (name.startsWith(p.split('%{record_type}').join(t))) return true;
    } else if (name.startsWith(p) && name.slice(p.length).startsWith(`${t}-`)) return true;
  }
  return false;
}

/** Merges duplicates (same name and type), resolves apex CNAMEs, flags what cannot be published. */
function mergeDesired(
  desired: readonly DesiredRecord[],
  zones: readonly string[],
  caps: DnsCapabilities,
  provider: string,
): RecordStatus[] {
  const sorted = [...desired].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  const byKey = new Map<string, RecordStatus & { targets: string[]; resources: string[] }>();
  const failed: RecordStatus[] = [];
  for (const d of sorted) {
    const name = normName(d.name);
    const zone = zoneOf(name, zones);
    let type: DesiredType = d.type;
    const targets = [...new Set(d.targets.map((t) => normTarget(type, t)))].sort();
    const base = { name, targets, ttl: d.ttl, resource: d.resource, resources: [d.resource] };
    if (zone === undefined) {
      failed.push({ ...base, type, state: 'Failed', reason: `no zone of the provider holds ${name}` });
      continue;
    }
    if (HOSTLIKE.has(type)) {
      if (name === zone) {
        if (!caps.alias) {
          failed.push({ ...base, type, zone, state: 'Failed', reason: `the apex cannot hold a CNAME; ${provider} has no ALIAS` });
          continue;
        }
        type = 'ALIAS';
      } else if (type === 'ALIAS' && !caps.alias) type = 'CNAME';
    }
    const bad = targets.find((t) => !validTarget(type, t));
    if (bad !== undefined || targets.length === 0) {
      failed.push({
        ...base,
        type,
        zone,
        state: 'Failed',
        reason: bad === undefined ? 'no targets' : `"${bad}" is not a valid ${type} target`,
      });
      continue;
    }
    const key = recordKey(name, type);
    const prev = byKey.get(key);
    if (prev === undefined) {
      byKey.set(key, { ...base, type, zone, state: 'Pending' });
      continue;
    }
    for (const t of targets) if (!prev.targets.includes(t)) prev.targets.push(t);
    prev.targets.sort();
    if (!prev.resources.includes(d.resource)) prev.resources.push(d.resource);
  }
  const out: RecordStatus[] = [];
  const names = new Map<string, RecordStatus[]>();
  for (const r of byKey.values()) {
    const list = names.get(r.name) ?? [];
    list.push(r);
    names.set(r.name, list);
  }
  for (const list of names.values()) {
    const hostlike = list.filter((r) => HOSTLIKE.has(r.type));
    const addresses = list.filter((r) => ADDRESS.has(r.type));
    for (const r of list) {
      if (HOSTLIKE.has(r.type) && addresses.length > 0) {
        r.state = 'Failed';
        r.reason = `desired records disagree at ${r.name}: ${addresses.map((a) => `${a.type} (${a.resources.join(', ')})`).join(', ')} and ${r.type} (${r.resources.join(', ')}); the addresses win`;
      } else if (HOSTLIKE.has(r.type) && hostlike.length > 1) {
        r.state = 'Failed';
        r.reason = `desired records disagree at ${r.name}: both CNAME and ALIAS`;
      } else if (r.type === 'CNAME' && r.targets.length > 1) {
        r.state = 'Failed';
        r.reason = `a CNAME has one target; ${r.resources.join(', ')} ask for ${r.targets.join(', ')}`;
      }
      out.push(r);
    }
  }
  return [...out, ...failed].sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1));
}

function normName(n: string): string {
  const l = n.trim().toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

function normTarget(type: RecordType, t: string): string {
  const v = t.trim();
  if (type === 'AAAA' && isIP(v) === 6) return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  if (type === 'A' || type === 'AAAA' || type === 'TXT') return v;
  return normName(v);
}

function validTarget(type: DesiredType, t: string): boolean {
  if (type === 'A') return isIP(t) === 4;
  if (type === 'AAAA') return isIP(t) === 6;
  return isIP(t) === 0 && /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(t);
}

function sameValues(type: RecordType, a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a.map((v) => normTarget(type, v)))].sort();
  const y = [...new Set(b.map((v) => normTarget(type, v)))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function sortSets(list: RecordSet[]): RecordSet[] {
  return [...list].sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) : a.name < b.name ? -1 : 1));
}
