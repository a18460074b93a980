import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { MiddlewareDefinition } from './types.js';

/** Middleware definitions by config key (and alias), with option validation. */
export class MiddlewareRegistry {
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

  /** Validate options; returns problems as `{ path, message }` with dotted paths relative to the options. */
  validate(def: MiddlewareDefinition, options: unknown): Array<{ path: string; message: string }> {
    const out: Array<{ path: string; message: string }> = [];
    for (const e of Value.Errors(def.schema, options)) {
      const path = e.path.split('/').filter((p) => p !== '').join('.');
      out.push({ path, message: describeSchemaError(e.message, e.value) });
      if (out.length >= 20) break;
    }
    return out;
  }
}

function describeSchemaError(message: string, value: unknown): string {
  const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 60) ?? String(value);
  return `${message.replace(/^Expected/, 'expected')} (got ${got})`;
}
