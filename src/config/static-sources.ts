/**
 * The three sources of the static configuration (file, GATEHOUSE_* environment,
 * flags) turned into one list of operations on canonical key paths. Keys are
 * matched case-insensitively against the schema; unknown keys and bad values
 * become issues that name the closest known key and what was expected.
 */
import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import type { ConfigIssue, ErrorCode } from '../errors.js';
import { parseConfigText } from './parse-documents.js';
import { convert, kindOf, recordValue, step, suggest, ValueError } from './static-keys.js';
import { StaticConfigSchema } from './static-schema.js';

export interface Op {
  /** Canonical key path (record keys as written). */
  path: string[];
  kind: 'set' | 'enable' | 'disable';
  value?: unknown;
}

export interface Collected {
  ops: Op[];
  issues: ConfigIssue[];
  /** The error code of the first issue. */
  code?: ErrorCode;
}

const ROOT: TSchema = StaticConfigSchema;
export const ENV_PREFIX = 'GATEHOUSE_';
/** Static configuration files are small; anything larger is refused. */
const MAX_CONFIG_BYTES = 1024 * 1024;

interface Resolved {
  path: string[];
  schema: TSchema;
  section: boolean;
}
interface Unresolved {
  /** Index of the first segment that is not a known key. */
  at: number;
  suggestion?: string;
}

/** Resolves `segs` from the root; in env mode a record key may span several `_`-separated segments. */
function resolve(segs: readonly string[], env: boolean, s: TSchema = ROOT, i = 0): Resolved | Unresolved {
  if (i === segs.length) return { path: [], schema: s, section: false };
  const seg = segs[i] as string;
  if (env && kindOf(s) === 'record') {
    let deepest: Unresolved = { at: i };
    // An entry point (object) needs a key after its name; a leaf-valued record may take the rest.
    const last = kindOf(recordValue(s)) === 'object' ? segs.length - 1 : segs.length;
    for (let j = i + 1; j <= last; j++) {
      const key = segs.slice(i, j).join('_');
      const st = step(s, key) as NonNullable<ReturnType<typeof step>>;
      const r = resolve(segs, env, st.schema, j);
      if (!('at' in r)) return { ...r, path: [key, ...r.path] };
      if (r.at >= deepest.at) deepest = r;
    }
    return deepest;
  }
  const st = step(s, seg);
  if (st === undefined) {
    const sg = suggest(s, seg);
    return sg === undefined ? { at: i } : { at: i, suggestion: sg };
  }
  const r = resolve(segs, env, st.schema, i + 1);
  if ('at' in r) return r;
  return { path: [st.key, ...r.path], schema: r.schema, section: r.path.length === 0 ? st.section : r.section };
}

/** The op for setting `raw` at a resolved key, or an error message. */
function toOp(r: Resolved, raw: unknown): Op | string {
  const kind = kindOf(r.schema);
  if (kind === 'object' || kind === 'record') {
    let on: boolean;
    if (raw === null || raw === undefined) on = true;
    else {
      try {
        on = convert(BOOL, raw) as boolean;
      } catch {
        return 'expected true or false (this is a section)';
      }
    }
    if (kind === 'record') return on ? { path: r.path, kind: 'enable' } : 'cannot be disabled';
    if (!on && !r.section) return 'cannot be disabled';
    return { path: r.path, kind: on ? 'enable' : 'disable' };
  }
  try {
    return { path: r.path, kind: 'set', value: convert(r.schema, raw) };
  } catch (e) {
    if (e instanceof ValueError) return e.message;
    throw e;
  }
}
const BOOL: TSchema = Type.Boolean();

function push(out: Collected, issue: ConfigIssue, code: ErrorCode): void {
  out.issues.push(issue);
  out.code ??= code;
}

function flagName(segs: readonly string[]): string {
  return `--${segs.join('.')}`;
}

function envName(segs: readonly string[]): string {
  return `${ENV_PREFIX}${segs.join('_').toUpperCase()}`;
}

/** `--a.b.c=value`, bare `--a.b` (true), and `--name value` for undotted non-boolean flags. */
export function fromFlags(argv: readonly string[]): Collected {
  const out: Collected = { ops: [], issues: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg.length === 2) {
      push(out, { message: `unexpected argument "${arg}": flags look like --name=value` }, 'GH_FLAG_INVALID');
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let raw: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    const segs = name.split('.');
    const r = resolve(segs, false);
    if ('at' in r) {
      const hint =
        r.suggestion === undefined
          ? ''
          : `: did you mean ${flagName([...segs.slice(0, r.at), r.suggestion.toLowerCase(), ...segs.slice(r.at + 1)])}?`;
      push(out, { message: `unknown flag --${name}${hint}` }, 'GH_FLAG_UNKNOWN');
      continue;
    }
    const kind = kindOf(r.schema);
    if (raw === undefined && kind === 'boolean') raw = 'true';
    else if (raw === undefined && kind !== 'object') {
      const next = argv[i + 1];
      if (segs.length === 1 && next !== undefined && !next.startsWith('--')) {
        raw = next;
        i++;
      } else {
        push(out, { message: `flag --${name} needs a value (--${name}=…)` }, 'GH_FLAG_INVALID');
        continue;
      }
    }
    const op = toOp(r, raw);
    if (typeof op === 'string')
      push(out, { message: `invalid value ${raw === undefined ? '' : `"${raw}" `}for --${name}: ${op}` }, 'GH_FLAG_INVALID');
    else out.ops.push(op);
  }
  return out;
}

/** `GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS=:8000` (Traefik's TRAEFIK_* convention). */
/** GATEHOUSE_* variables that are not static configuration (CLI and process plumbing). */
const NOT_STATIC = new Set(['GATEHOUSE_ADMIN', 'GATEHOUSE_WORKER', 'GATEHOUSE_TEST_LOG', 'GATEHOUSE_DIR', 'GATEHOUSE_SERVICEACCOUNT_DIR']);

export function fromEnv(env: NodeJS.ProcessEnv): Collected {
  const out: Collected = { ops: [], issues: [] };
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(ENV_PREFIX) || NOT_STATIC.has(key)) continue;
    const raw = env[key];
    if (raw === undefined) continue;
    const segs = key.slice(ENV_PREFIX.length).toLowerCase().split('_');
    const r = resolve(segs, true);
    if ('at' in r) {
      const hint =
        r.suggestion === undefined ? '' : `: did you mean ${envName([...segs.slice(0, r.at), r.suggestion, ...segs.slice(r.at + 1)])}?`;
      push(out, { message: `unknown environment variable ${key}${hint}` }, 'GH_FLAG_UNKNOWN');
      continue;
    }
    const op = toOp(r, raw);
    if (typeof op === 'string') push(out, { message: `invalid value "${raw}" for ${key}: ${op}` }, 'GH_FLAG_INVALID');
    else out.ops.push(op);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The static configuration file (YAML, TOML or JSON), with file and line in every issue. */
export function fromFile(file: string): Collected {
  const out: Collected = { ops: [], issues: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    push(
      out,
      { file, message: `cannot read the configuration file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` },
      'GH_CONFIG_PARSE',
    );
    return out;
  }
  if (text.length > MAX_CONFIG_BYTES) {
    push(out, { file, message: `the configuration file is larger than ${MAX_CONFIG_BYTES} bytes` }, 'GH_CONFIG_PARSE');
    return out;
  }
  const parsed = parseConfigText(file, text);
  if (parsed.error !== undefined) {
    push(out, parsed.error, 'GH_CONFIG_PARSE');
    return out;
  }
  const doc = parsed.documents[0];
  if (doc === undefined) return out;
  if (parsed.documents.length > 1)
    push(
      out,
      { file, line: parsed.documents[1]?.lineOf([]), message: 'expected one YAML document in the static configuration file' },
      'GH_CONFIG_INVALID',
    );
  const walk = (s: TSchema, value: unknown, user: string[], canon: string[], section: boolean): void => {
    const at = (message: string): void =>
      push(out, { file, line: doc.lineOf(user), ...(user.length > 0 ? { field: user.join('.') } : {}), message }, 'GH_CONFIG_INVALID');
    const kind = kindOf(s);
    if (kind === 'object' || kind === 'record') {
      if (!isObject(value)) {
        const op = toOp({ path: canon, schema: s, section }, value);
        if (typeof op === 'string') at(`expected a mapping or true/false, got ${JSON.stringify(value)}`);
        else if (canon.length > 0) out.ops.push(op);
        return;
      }
      if (canon.length > 0 && kind === 'object') out.ops.push({ path: canon, kind: 'enable' });
      for (const [k, v] of Object.entries(value)) {
        const st = step(s, k);
        if (st === undefined) {
          const sg = suggest(s, k);
          push(
            out,
            {
              file,
              line: doc.lineOf([...user, k]),
              field: [...user, k].join('.'),
              message: `unknown key "${k}"${sg === undefined ? '' : `: did you mean "${sg}"?`}`,
            },
            'GH_CONFIG_INVALID',
          );
          continue;
        }
        walk(st.schema, v, [...user, k], [...canon, st.key], st.section);
      }
      return;
    }
    const op = toOp({ path: canon, schema: s, section: false }, value);
    if (typeof op === 'string') at(`invalid value ${JSON.stringify(value)}: ${op}`);
    else out.ops.push(op);
  };
  walk(ROOT, doc.value, [], [], false);
  return out;
}
