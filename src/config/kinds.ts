/**
 * Gatehouse kinds (gatehouse.dev/v1alpha1: Tenant, Application, AlertRule, …)
 * are compiled once per revision, in the process that compiles the
 * configuration, by a registry of kind compilers. Each compiler turns the
 * resources of its kinds into one section of the snapshot: plain JSON (it
 * travels to every worker), free of secret values (secrets are referenced,
 * and resolved by the consumer where it uses them). Consumers read their
 * section and never compile again.
 */
import type { ConfigIssue } from '../errors.js';
import type { Resource } from './model.js';
import type { Snapshot } from './runtime.js';

export interface KindCompiler<S = unknown> {
  /** Key of the section in `Snapshot.sections`. */
  readonly section: string;
  /** The resource kinds it reads. */
  readonly kinds: readonly string[];
  compile(resources: readonly Resource[]): { section: S; issues: ConfigIssue[] };
}

/** Run every kind compiler over the snapshot's resources. */
export function compileKinds(
  compilers: readonly KindCompiler[],
  resources: readonly Resource[],
): { sections: Record<string, unknown>; issues: ConfigIssue[] } {
  const sections: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const c of compilers) {
    const kinds = new Set(c.kinds);
    const out = c.compile(resources.filter((r) => kinds.has(r.kind)));
    sections[c.section] = out.section;
    issues.push(...out.issues);
  }
  return { sections, issues };
}

/** The section a kind compiler put into a snapshot (undefined when it did not run). */
export function sectionOf<S>(snapshot: Snapshot, compiler: KindCompiler<S>): S | undefined {
  return snapshot.sections?.[compiler.section] as S | undefined;
}
