/**
 * What each watched IngressRoute, Middleware and TraefikService's Ready
 * condition says, from the compiled snapshot's issues. One code path: every
 * document the provider sends is named `Kind/namespace/name (server)`
 * (`sourceFileOf`), the translation and the compiler carry that name in each
 * issue's `file`, and this maps the issues back to the objects by it. The
 * message is the text the gateway reports for the object (`formatIssue`
 * without the file, which is the object itself).
 */
import { formatIssue, type ConfigIssue } from '../../errors.js';
import { isNoEndpointsMessage } from '../formats/kubernetes/services.js';
import type { Obj } from './informer.js';

/** The kinds whose status is written (both API groups). */
export const STATUS_KINDS: ReadonlySet<string> = new Set(['IngressRoute', 'Middleware', 'TraefikService']);

const MAX_MESSAGE = 1024;

/** The document name of an object: `IngressRoute/add/calc (https://10.0.0.1:443)`. */
export function sourceFileOf(o: Obj, server: string): string {
  return `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''} (${server})`;
}

export interface ReadyCondition {
  readonly type: 'Ready';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
}

/** A short reason (CamelCase, as Kubernetes reasons are) for an issue. */
function reasonOf(issue: ConfigIssue): string {
  // A Service without endpoints (allowemptyservices=false): not a typo to fix but pods to start, so a reason of its own.
  if (isNoEndpointsMessage(issue.message)) return 'NoEndpoints';
  switch (issue.code) {
    case 'GH_RULE_SYNTAX':
      return 'InvalidRule';
    case 'GH_CONFIG_REFERENCE':
      return 'MissingReference';
    default:
      return 'InvalidConfiguration';
  }
}

const clip = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s);

/** The object's issues (errors and warnings) from a snapshot's issues, by document name. */
export function issuesByFile(issues: readonly ConfigIssue[]): Map<string, ConfigIssue[]> {
  const out = new Map<string, ConfigIssue[]>();
  for (const i of issues) {
    if (i.file === undefined) continue;
    const list = out.get(i.file) ?? [];
    list.push(i);
    out.set(i.file, list);
  }
  return out;
}

/** The Ready condition of one object given its issues. */
export function readyCondition(o: Obj, issues: readonly ConfigIssue[]): ReadyCondition {
  const generation = Number(o.metadata?.generation ?? 0);
  const text = (i: ConfigIssue): string => formatIssue({ ...i, file: undefined });
  const errors = issues.filter((i) => i.severity !== 'warning');
  if (errors.length > 0)
    return {
      type: 'Ready',
      status: 'False',
      reason: reasonOf(errors[0]!),
      message: clip(errors.map(text).join('; ')),
      observedGeneration: generation,
    };
  const warnings = issues.filter((i) => i.severity === 'warning');
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Accepted',
    message: clip(warnings.length > 0 ? `accepted, with warnings: ${warnings.map(text).join('; ')}` : 'accepted by gatehouse'),
    observedGeneration: generation,
  };
}

/** The same condition, ignoring lastTransitionTime. */
export function sameCondition(a: Partial<ReadyCondition> | undefined, b: ReadyCondition): boolean {
  return (
    a !== undefined &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    Number(a.observedGeneration) === b.observedGeneration
  );
}

/** The Ready condition an object carries now (undefined: none). */
export function currentReady(o: Obj): (Partial<ReadyCondition> & { lastTransitionTime?: string }) | undefined {
  const status = o.status as { conditions?: unknown } | undefined;
  const list = Array.isArray(status?.conditions) ? (status.conditions as Array<Record<string, unknown>>) : [];
  return list.find((c) => c.type === 'Ready') as (Partial<ReadyCondition> & { lastTransitionTime?: string }) | undefined;
}
