/**
 * Who the callers are: the client applications of the identity section, by
 * the id a verified token names them with (`azp` / `appid`, the caller label
 * of metrics and tap), with their display names. Served by the admin API at
 * `/api/gatehouse/callers` so `gatehouse stat callers`, `edges` and `tap` show
 * names people recognise. No secret is involved: the section holds none.
 */
import type { IdentitySection } from './compile.js';

export interface CallerName {
  /** The client id (appId), as the caller label holds it. */
  id: string;
  displayName: string;
  /** The tenant's metadata name. */
  tenant: string;
}

export function callerNames(section: IdentitySection | undefined): CallerName[] {
  const out: CallerName[] = [];
  for (const t of section?.tenants ?? []) for (const a of t.apps) out.push({ id: a.appId, displayName: a.displayName, tenant: t.name });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
