/**
 * Ownership records in ExternalDNS's TXT registry format, so Gatehouse and
 * ExternalDNS can share a zone: a TXT record beside each managed record set, at
 * a name derived from the record's name and type, holding
 * `heritage=external-dns,external-dns/owner=<id>,external-dns/resource=<resource>`.
 * Written from ExternalDNS's documented behaviour (endpoint/labels.go,
 * registry/mapper): see docs/dns.md, "Ownership and plans".
 */
import type { RecordType } from './types.js';

export const HERITAGE = 'external-dns';
export const DEFAULT_TXT_PREFIX = '%{record_type}-gh.';
const TEMPLATE = '%{record_type}';

/**
 * The labels of an ownership text (`owner`, `resource`, and any other label kept
 * as found), or null when the text is not one: `heritage=external-dns` missing or
 * another heritage. Surrounding quotes are dropped; tokens that are not exactly
 * `key=value` are skipped; keys are taken after the `external-dns/` prefix.
 */
export function parseOwnership(text: string): Map<string, string> | null {
  const labels = new Map<string, string>();
  let heritage = false;
  const body = text.replace(/^"+/, '').replace(/"+$/, '');
  for (const token of body.split(',')) {
    const parts = token.split('=');
    if (parts.length !== 2) continue;
    const [key, value] = parts as [string, string];
    if (key === 'heritage') {
      if (value !== HERITAGE) return null;
      heritage = true;
      continue;
    }
    if (key.startsWith(`${HERITAGE}/`)) labels.set(key.slice(HERITAGE.length + 1), value);
  }
  return heritage ? labels : null;
}

/** The ownership text: `heritage=external-dns` then `external-dns/<key>=<value>` for each label, keys sorted. */
export function formatOwnership(labels: ReadonlyMap<string, string>): string {
  const keys = [...labels.keys()].sort();
  return [`heritage=${HERITAGE}`, ...keys.map((k) => `${HERITAGE}/${k}=${labels.get(k) ?? ''}`)].join(',');
}

/**
 * The name of the ownership TXT for a record set, as ExternalDNS's prefix mapper
 * computes it: `%{record_type}` in the prefix becomes the lower-case type
 * (`a-gh.app.example.com`); a prefix without it gets `<type>-` in front of the
 * first label instead (`gh.a-app.example.com`). ALIAS is labelled `cname`, as
 * ExternalDNS sees a PowerDNS ALIAS as a CNAME.
 */
export function ownershipName(name: string, type: RecordType, prefix: string = DEFAULT_TXT_PREFIX): string {
  const t = (type === 'ALIAS' ? 'CNAME' : type).toLowerCase();
  const p = prefix.toLowerCase();
  const dot = name.indexOf('.');
  let first = dot < 0 ? name : name.slice(0, dot);
  const rest = dot < 0 ? '' : name.slice(dot + 1);
  if (!p.includes(TEMPLATE)) first = `${t}-${first}`;
  const out = `${p.split(TEMPLATE).join(t)}${first}`;
  return rest === '' ? out : `${out}.${rest}`;
}
