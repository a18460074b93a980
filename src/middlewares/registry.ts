/**
 * Middleware definitions by configuration key (and alias), with option
 * validation (the shared schema-error formatter) and the references each
 * type declares. Satisfies the compiler's `KindRegistry`.
 */
import type { TSchema } from '@sinclair/typebox';
import { schemaProblems } from '../config/compile/validate.js';
import type { KindRegistry, Problem, Reference } from '../config/compile/registry.js';
import type { MiddlewareDefinition } from './types.js';

export class MiddlewareRegistry implements KindRegistry<MiddlewareDefinition> {
  private readonly byKey: Map<string, MiddlewareDefinition> = new Map();

  constructor(defs: readonly MiddlewareDefinition<TSchema>[]) {
    for (const d of defs) {
      this.byKey.set(d.type.toLowerCase(), d);
      for (const a of d.aliases ?? []) this.byKey.set(a.toLowerCase(), d);
    }
  }

  /** Definition for a config key, matched case-insensitively (Kubernetes and TOML users vary case). */
  get(key: string): MiddlewareDefinition | undefined {
    return this.byKey.get(key.toLowerCase());
  }

  types(): string[] {
    return [...new Set([...this.byKey.values()].map((d) => d.type))].sort();
  }

  typeOf(def: MiddlewareDefinition): string {
    return def.type;
  }

  schemaOf(def: MiddlewareDefinition): TSchema {
    return def.schema;
  }

  /** Validate options; returns problems with dotted paths relative to the options. */
  validate(def: MiddlewareDefinition, options: unknown): Problem[] {
    return schemaProblems(def.schema, options);
  }

  check(def: MiddlewareDefinition, options: unknown): Problem[] {
    return def.check?.(options) ?? [];
  }

  /** The services and middlewares valid `options` point to (none when the type declares no `references`). */
  references(def: MiddlewareDefinition, options: unknown): Reference[] {
    return def.references?.(options) ?? [];
  }
}
