/**
 * Walks the static-configuration schema: case-insensitive key resolution
 * (canonical names are Traefik's), value conversion from flag/env strings or
 * file values, and the flag list for `--help`.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { parseDuration } from '../util/duration.js';
import { closest } from '../util/closest.js';
import { DURATION } from './static-schema.js';

/** `array`: a list of scalars (comma-separated in flags); `objects`: a list of objects (indexed keys). */
export type NodeKind = 'object' | 'record' | 'boolean' | 'integer' | 'number' | 'string' | 'enum' | 'array' | 'objects';

export function kindOf(s: TSchema): NodeKind {
  switch (s[Kind]) {
    case 'Object':
      return 'object';
    case 'Record':
      return 'record';
    case 'Boolean':
      return 'boolean';
    case 'Integer':
      return 'integer';
    case 'Number':
      return 'number';
    case 'Union':
      return 'enum';
    case 'Array':
      return (s.items as TSchema)[Kind] === 'Object' ? 'objects' : 'array';
    default:
      return 'string';
  }
}

export function recordValue(s: TSchema): TSchema {
  return Object.values(s.patternProperties as Record<string, TSchema>)[0] as TSchema;
}

/** The element schema of a list of objects. */
export function listItem(s: TSchema): TSchema {
  return s.items as TSchema;
}

/** Largest list index accepted in a flag or variable name (lists of objects are short). */
export const MAX_LIST_INDEX = 999;

/**
 * The element index in a flag segment (`[0]`) or an environment segment (`0`):
 * a number, `NaN` when the segment has the index shape with something else in it
 * (`[a]`, `[01]`), undefined when it is no index at all.
 */
export function listIndex(seg: string, env: boolean): number | undefined {
  const inner = env ? seg : /^\[(.*)\]$/.exec(seg)?.[1];
  if (inner === undefined) return undefined;
  if (!/^(0|[1-9]\d{0,8})$/.test(inner)) return env && !/^\d+$/.test(inner) ? undefined : NaN;
  return Number(inner);
}

export function isRequired(parent: TSchema, key: string): boolean {
  return Array.isArray(parent.required) && (parent.required as string[]).includes(key);
}

export interface Step {
  /** Canonical key (or the record key as written). */
  key: string;
  schema: TSchema;
  /** An optional object: a section that can be enabled and disabled. */
  section: boolean;
}

/** Resolves one key below `parent`; undefined when unknown. Record keys are kept as written. */
export function step(parent: TSchema, seg: string): Step | undefined {
  const kind = kindOf(parent);
  if (kind === 'record') {
    if (seg === '') return undefined;
    return { key: seg, schema: recordValue(parent), section: false };
  }
  if (kind !== 'object') return undefined;
  const props = parent.properties as Record<string, TSchema>;
  const lower = seg.toLowerCase();
  for (const key of Object.keys(props)) {
    if (key.toLowerCase() === lower) {
      const schema = props[key] as TSchema;
      return { key, schema, section: kindOf(schema) === 'object' && !isRequired(parent, key) };
    }
  }
  return undefined;
}

/** The known key closest to `seg` below `parent`. */
export function suggest(parent: TSchema, seg: string): string | undefined {
  if (kindOf(parent) !== 'object') return undefined;
  return closest(seg, Object.keys(parent.properties as Record<string, TSchema>));
}

export class ValueError extends Error {}

function expected(s: TSchema): string {
  switch (kindOf(s)) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return 'an integer';
    case 'number':
      return s[DURATION] === true ? 'a duration like "10s", "250ms", "1m30s" or a number of seconds' : 'a number';
    case 'enum':
      return `one of ${enumValues(s).join(', ')}`;
    case 'array':
      return 'a comma-separated list';
    case 'objects':
      return 'a list of mappings';
    default:
      return 'a string';
  }
}

export function enumValues(s: TSchema): string[] {
  return (s.anyOf as TSchema[]).map((l) => String(l.const));
}

function bounds(s: TSchema, n: number): number {
  if (typeof s.minimum === 'number' && n < s.minimum) throw new ValueError(`expected a value of at least ${s.minimum}`);
  if (typeof s.maximum === 'number' && n > s.maximum) throw new ValueError(`expected a value of at most ${s.maximum}`);
  return n;
}

/**
 * Converts a flag/env string or a file value to the schema's type. Durations
 * become milliseconds, lists accept arrays or comma-separated strings, enums
 * match case-insensitively. Throws ValueError saying what was expected.
 */
export function convert(s: TSchema, raw: unknown): unknown {
  const kind = kindOf(s);
  const bad = (): never => {
    throw new ValueError(`expected ${expected(s)}`);
  };
  switch (kind) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw !== 'string') return bad();
      const v = raw.trim().toLowerCase();
      if (v === 'true' || v === '') return true;
      if (v === 'false') return false;
      return bad();
    }
    case 'integer':
    case 'number': {
      if (s[DURATION] === true) {
        if (typeof raw !== 'string' && typeof raw !== 'number') return bad();
        try {
          return bounds(s, parseDuration(raw));
        } catch (e) {
          if (e instanceof ValueError) throw e;
          return bad();
        }
      }
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;
      if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) return bad();
      return bounds(s, n);
    }
    case 'enum': {
      if (typeof raw !== 'string') return bad();
      const v = raw.trim().toLowerCase();
      return enumValues(s).find((e) => e.toLowerCase() === v) ?? bad();
    }
    case 'array': {
      const items = s.items as TSchema;
      const parts = Array.isArray(raw)
        ? raw
        : typeof raw === 'string'
          ? raw
              .split(',')
              .map((p) => p.trim())
              .filter((p) => p !== '')
          : bad();
      return parts.map((p: unknown) => convert(items, p));
    }
    case 'string':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number') return String(raw);
      return bad();
    default:
      return bad();
  }
}

export interface FlagHelp {
  flag: string;
  description: string;
  default?: string;
}

function showDefault(s: TSchema): string | undefined {
  const d: unknown = s.default;
  if (d === undefined) return undefined;
  if (s[DURATION] === true && typeof d === 'number') return d === 0 ? '0' : d % 1000 === 0 ? `${d / 1000}s` : `${d}ms`;
  if (Array.isArray(d)) return d.length === 0 ? undefined : d.join(',');
  if (typeof d === 'object') return undefined;
  return String(d);
}

/** Every flag below `s`, lowercase, records shown as `<name>`. */
export function listFlags(s: TSchema, prefix: string, out: FlagHelp[] = []): FlagHelp[] {
  const kind = kindOf(s);
  if (kind === 'objects') return listFlags(listItem(s), `${prefix}[n]`, out);
  if (kind === 'record') {
    const v = recordValue(s);
    if (kindOf(v) === 'object') listFlags(v, `${prefix}.<name>`, out);
    else out.push({ flag: `${prefix}.<name>`, description: String(s.description ?? '') });
    return out;
  }
  if (kind !== 'object') {
    const d = showDefault(s);
    out.push({ flag: prefix, description: String(s.description ?? ''), ...(d === undefined ? {} : { default: d }) });
    return out;
  }
  for (const [key, child] of Object.entries(s.properties as Record<string, TSchema>)) {
    const name = prefix === '' ? key.toLowerCase() : `${prefix}.${key.toLowerCase()}`;
    if (kindOf(child) === 'object' && !isRequired(s, key))
      out.push({ flag: name, description: 'enable this section with its defaults (=false disables it)' });
    listFlags(child, name, out);
  }
  return out;
}
