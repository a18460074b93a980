/**
 * Traefik's file provider (paerser) matches field names case-insensitively:
 * `entrypoints`, `EntryPoints` and `entryPoints` are the same field, and so are
 * `healthcheck` and `healthCheck`. Map keys (router names, header names, the
 * keys of `statusRewrites`) keep their case. `canonicalFields` rewrites a value
 * so that every field name is spelled as the schema spells it; what has no
 * match (an unknown field) is left as written, so validation still reports it
 * with a "did you mean" hint. Kubernetes objects are not passed through here:
 * the API server matches fields exactly.
 */
import { Kind, type TSchema } from '@sinclair/typebox';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The object members of a schema (itself, or the members of a union or intersection). */
function objectMembers(schema: TSchema): TSchema[] {
  const kind = schema[Kind] as string | undefined;
  if (kind === 'Object') return [schema];
  if (kind === 'Union' || kind === 'Intersect') {
    const members = ((schema as { anyOf?: TSchema[]; allOf?: TSchema[] }).anyOf ??
      (schema as { allOf?: TSchema[] }).allOf ??
      []) as TSchema[];
    return members.flatMap(objectMembers);
  }
  return [];
}

function recordValueSchema(schema: TSchema): TSchema | undefined {
  if ((schema[Kind] as string | undefined) !== 'Record') return undefined;
  const pp = (schema as { patternProperties?: Record<string, TSchema> }).patternProperties ?? {};
  return Object.values(pp)[0];
}

function arrayItems(schema: TSchema): TSchema[] {
  const kind = schema[Kind] as string | undefined;
  if (kind === 'Array') return [(schema as unknown as { items: TSchema }).items];
  if (kind === 'Union') return ((schema as { anyOf?: TSchema[] }).anyOf ?? []).flatMap(arrayItems);
  return [];
}

/**
 * `value` with every field name in the schema's spelling (case-insensitive
 * match). Returns the same object when nothing changes. Two fields that differ
 * only in case (`entrypoints` and `entryPoints`) are both kept as written.
 */
export function canonicalFields(schema: TSchema, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = arrayItems(schema);
    if (items.length !== 1) return value;
    const item = items[0] as TSchema;
    let changed = false;
    const out = value.map((v) => {
      const c = canonicalFields(item, v);
      if (c !== v) changed = true;
      return c;
    });
    return changed ? out : value;
  }
  if (!isPlainObject(value)) return value;
  const rec = recordValueSchema(schema);
  if (rec !== undefined) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = canonicalFields(rec, v);
      if (c !== v) changed = true;
      out[k] = c;
    }
    return changed ? out : value;
  }
  const members = objectMembers(schema);
  if (members.length === 0) return value;
  // Field name (lower case) → its spelling and schema, first member first.
  const known = new Map<string, { name: string; schema: TSchema }>();
  for (const m of members)
    for (const [name, s] of Object.entries((m as { properties?: Record<string, TSchema> }).properties ?? {})) {
      const low = name.toLowerCase();
      if (!known.has(low)) known.set(low, { name, schema: s });
    }
  const lowCount = new Map<string, number>();
  for (const k of Object.keys(value)) lowCount.set(k.toLowerCase(), (lowCount.get(k.toLowerCase()) ?? 0) + 1);
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const low = k.toLowerCase();
    const field = known.get(low);
    if (field === undefined) {
      out[k] = v;
      continue;
    }
    const name = lowCount.get(low) === 1 ? field.name : k;
    const c = canonicalFields(field.schema, v);
    if (name !== k || c !== v) changed = true;
    out[name] = c;
  }
  return changed ? out : value;
}
