/**
 * Service kinds by configuration key (for the compiler) and by kind (for the
 * build). Satisfies the compiler's `KindRegistry`, so compile and build
 * dispatch through the same definitions instead of if-chains.
 */
import type { TSchema } from '@sinclair/typebox';
import type { KindRegistry, Problem, Reference } from '../config/compile/registry.js';
import { schemaProblems } from '../config/compile/validate.js';
import type { ServiceKind } from '../config/runtime.js';
import type { ServiceDefinition } from './types.js';

export class ServiceRegistry implements KindRegistry<ServiceDefinition, ServiceKind> {
  private readonly byKey = new Map<string, ServiceDefinition>();
  private readonly byType = new Map<ServiceKind, ServiceDefinition>();

  constructor(defs: readonly ServiceDefinition<TSchema>[]) {
    for (const d of defs) {
      if (d.key !== undefined) this.byKey.set(d.key, d);
      this.byType.set(d.kind, d);
    }
  }

  /** Definition for a configuration key (`loadBalancer`, …), matched exactly as Traefik's file provider does. */
  get(key: string): ServiceDefinition | undefined {
    return this.byKey.get(key);
  }

  /** Definition for a snapshot's `RuntimeService.type` (internal included). */
  kind(kind: ServiceKind): ServiceDefinition | undefined {
    return this.byType.get(kind);
  }

  /** Configuration keys, in registration order (the order error messages list them in). */
  types(): string[] {
    return [...this.byKey.keys()];
  }

  typeOf(def: ServiceDefinition): ServiceKind {
    return def.kind;
  }

  validate(def: ServiceDefinition, value: unknown): Problem[] {
    return def.schema === undefined ? [] : schemaProblems(def.schema, value);
  }

  check(def: ServiceDefinition, value: unknown): Problem[] {
    return def.validate?.(value) ?? [];
  }

  references(def: ServiceDefinition, value: unknown): Reference[] {
    return def.references(value);
  }
}
