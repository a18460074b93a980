/**
 * The one schema-error formatter: TypeBox errors → `{ path, message }` with a
 * dotted path and a message that says what was expected and what was found.
 * Routers, services, transports (here) and middleware options
 * (`src/middlewares/registry.ts`) all read alike.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { didYouMean } from '../../util/closest.js';
import type { Problem } from './registry.js';

/** At most this many problems per value: past that, more lines do not help anyone fix it. */
export const MAX_SCHEMA_PROBLEMS = 10;

/** The problems of `value` against `schema`, one per path (the first TypeBox reports), at most `limit`. */
export function schemaProblems(schema: TSchema, value: unknown, limit = MAX_SCHEMA_PROBLEMS): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push({ path: dottedPath(e.path), message: describeSchemaError(e) });
    if (out.length >= limit) break;
  }
  return out;
}

/** `/servers/0/url` → `servers.0.url` (JSON-pointer escapes undone). */
export function dottedPath(pointer: string): string {
  return pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** One TypeBox error as a sentence: what was expected, and what was there. */
export function describeSchemaError(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const field = e.path.slice(e.path.lastIndexOf('/') + 1);
      const known = Object.keys((e.schema as { properties?: Record<string, unknown> }).properties ?? {});
      return `unknown field${didYouMean(field, known)}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'required field is missing';
    case ValueErrorType.Union:
      return withGot(`expected ${describeUnion(e.schema)}`, e.value);
    default:
      return withGot(e.message.replace(/^Expected/, 'expected'), e.value);
  }
}

function withGot(message: string, value: unknown): string {
  if (value === undefined) return message;
  const got = JSON.stringify(value);
  return `${message}, got ${got === undefined ? String(value) : got.length > 60 ? `${got.slice(0, 57)}...` : got}`;
}

/** `one of "v2", "v3"` for literal unions, `string or number` for type unions. */
function describeUnion(schema: TSchema): string {
  const members = ((schema as { anyOf?: TSchema[] }).anyOf ?? []) as Array<{ const?: unknown; type?: unknown }>;
  if (members.length > 0 && members.every((m) => 'const' in m)) return `one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}`;
  const types = [...new Set(members.map((m) => (typeof m.type === 'string' ? m.type : 'value')))];
  return types.length > 0 ? types.join(' or ') : 'a valid value';
}
