/**
 * How the build follows the compiler's resolution: a name as written in an
 * item's options maps to the qualified name recorded in its `refs`. Nothing is
 * qualified or looked up by convention here.
 */
import type { ResolvedRef } from '../../config/runtime.js';
import { disabledBecause, type StatusItem } from '../../config/compile/status.js';

/** The qualified name the compiler recorded for `ref`; throws when the item's kind did not declare it. */
export function resolvedName(
  item: { readonly name: string; readonly refs: readonly ResolvedRef[] },
  kind: ResolvedRef['kind'],
  ref: string,
): string {
  for (const r of item.refs) if (r.kind === kind && r.ref === ref) return r.name;
  throw new Error(`${kind} "${ref}" is not among the references declared for "${item.name}" (its kind's references() must name it)`);
}

/** Why a target cannot be used: it does not exist, or it is disabled (with its first error). */
export function unavailable(kind: string, name: string, target: StatusItem | undefined): string {
  return target === undefined ? `the ${kind} "${name}" does not exist` : disabledBecause(kind, target);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
