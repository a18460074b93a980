/**
 * The three sources of the static configuration (file, GATEHOUSE_* environment,
 * flags) turned into one list of operations on canonical key paths. Keys are
 * matched case-insensitively against the schema; unknown keys and bad values
 * become issues that name the closest known key and what was expected.
 *
 * Lists of objects (`entryPoints.<name>.http.tls.domains`) take an element index:
 * `--…domains[0].main` in flags, `…_DOMAINS_0_MAIN` in the environment, a list in
 * the file. Indexes start at 0 with no gap; a source that sets elements of a list
 * replaces the list of the lower sources as a whole.
 */
import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import type { ConfigIssue, ErrorCode } from '../errors.js';
import { parseConfigText } from './parse-documents.js';
import { convert, kindOf, listIndex, listItem, MAX_LIST_INDEX, recordValue, step, suggest, ValueError } from './static-keys.js';
import { StaticConfigSchema } from './static-schema.js';

export interface Op {
  /** Canonical key path (record keys as written); a number is an element of a list of objects. */
  path: (string | number)[];
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
  path: (string | number)[];
  schema: TSchema;
  section: boolean;
}
interface Unresolved {
  /** Index of the first segment that is not a known key. */
  at: number;
  suggestion?: string;
  /** Why the segment at `at` is wrong when it is a list index problem rather than an unknown key. */
  index?: 'missing' | 'invalid' | 'too large' | 'not a list';
}

/** Index segments as written in flags: `[0]`. */
const isBracket = (seg: string): boolean => seg.startsWith('[');

/** Resolves `segs` from the root; in env mode a record key may span several `_`-separated segments. */
function resolve(segs: readonly string[], env: boolean, s: TSchema = ROOT, i = 0): Resolved | Unresolved {
  if (i === segs.length) return { path: [], schema: s, section: false };
  const seg = segs[i] as string;
  if (kindOf(s) === 'objects') {
    const idx = listIndex(seg, env);
    if (idx === undefined) return { at: i, index: 'missing' };
    if (Number.isNaN(idx)) return { at: i, index: 'invalid' };
    if (idx > MAX_LIST_INDEX) return { at: i, index: 'too large' };
    const r = resolve(segs, env, listItem(s), i + 1);
    if ('at' in r) return r;
    return { path: [idx, ...r.path], schema: r.schema, section: r.path.length === 0 ? false : r.section };
  }
  if (!env && isBracket(seg)) return { at: i, index: 'not a list' };
  if (env && kindOf(s) === 'record') {
    let deepest: Unresolved = { at: i };
    // An entry point (object) needs a key after its name; a leaf-valued record may take the rest.
    const last = kindOf(recordValue(s)) === 'object' ? segs.length - 1 : segs.length;
    for (let j = i + 1; j <= last; j++) {
      const key = segs.slice(i, j).join('_');
      const st = step(s, key) as NonNullable<ReturnType<typeof step>>;
      const r = resolve(segs, env, st.schema, j);
      if (!('at' in r)) return { ...r, path: [key, ...r.path] };
      // A failure that explains itself (a suggestion, an index problem) wins, then the deepest; on a tie the shortest record key.
      const informative = (u: Unresolved): boolean => u.suggestion !== undefined || u.index !== undefined;
      if (informative(r) !== informative(deepest) ? informative(r) : r.at > deepest.at) deepest = r;
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
  if (kind === 'objects') {
    const field = Object.keys(listItem(r.schema).properties as Record<string, TSchema>)[0] ?? 'field';
    return `this is a list: set its elements by index, e.g. ${String(r.path[r.path.length - 1])}[0].${field.toLowerCase()}=…`;
  }
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

/** `--a.list[0].b` from its segments (index segments written `[0]`). */
function flagName(segs: readonly string[]): string {
  return `--${segs.reduce((acc, seg, i) => (i === 0 ? seg : isBracket(seg) ? `${acc}${seg}` : `${acc}.${seg}`), '')}`;
}

function envName(segs: readonly string[]): string {
  return `${ENV_PREFIX}${segs.join('_').toUpperCase()}`;
}

/** Flag name → segments, `domains[0]` giving `domains`, `[0]`; null when a bracket is malformed. */
function flagSegments(name: string): string[] | null {
  const out: string[] = [];
  for (const part of name.split('.')) {
    const m = /^([^[\]]*)((?:\[[^[\]]*\])*)$/.exec(part);
    if (m === null) return null;
    const [, base = '', brackets = ''] = m;
    if (base !== '' || brackets === '') out.push(base);
    for (const b of brackets.match(/\[[^[\]]*\]/g) ?? []) out.push(b);
  }
  return out;
}

/** The issue for a name that does not resolve: unknown key (with the closest one) or a list index problem. */
function unresolvedMessage(r: Unresolved, segs: readonly string[], show: (segs: readonly string[]) => string, env: boolean): string {
  const list = show(segs.slice(0, r.at));
  const at = segs[r.at] ?? '';
  const example = env ? `${list}_0_…` : `${list}[0].…`;
  switch (r.index) {
    case 'missing':
      return `${list} is a list: give the element index after it, e.g. ${example}`;
    case 'invalid':
      return `invalid list index "${at}": expected a number from 0, e.g. ${example}`;
    case 'too large':
      return `list index ${at} is larger than ${MAX_LIST_INDEX}`;
    case 'not a list':
      return `${list} is not a list: it takes no index ${at}`;
    default:
      return r.suggestion === undefined
        ? ''
        : `did you mean ${show([...segs.slice(0, r.at), env ? r.suggestion : r.suggestion.toLowerCase(), ...segs.slice(r.at + 1)])}?`;
  }
}

/**
 * Indexes of every list a source sets must run from 0 with no gap: an element after a gap
 * is an issue naming its flag (or variable) and is dropped. Each list set by the source starts
 * empty (it replaces the list of lower sources).
 */
function checkLists(out: Collected, names: readonly string[], code: ErrorCode): void {
  interface ListSeen {
    prefix: (string | number)[];
    indexes: Map<number, string>;
  }
  const lists = new Map<string, ListSeen>();
  const keyOf = (path: readonly (string | number)[]): string =>
    JSON.stringify(path.map((p) => (typeof p === 'string' ? p.toLowerCase() : p)));
  out.ops.forEach((op, n) => {
    op.path.forEach((p, i) => {
      if (typeof p !== 'number') return;
      const prefix = op.path.slice(0, i);
      const key = keyOf(prefix);
      const seen = lists.get(key) ?? { prefix, indexes: new Map<number, string>() };
      lists.set(key, seen);
      if (!seen.indexes.has(p)) seen.indexes.set(p, names[n] as string);
    });
  });
  const dropped = new Set<string>();
  for (const seen of lists.values()) {
    let missing = 0;
    while (seen.indexes.has(missing)) missing++;
    for (const [idx, name] of [...seen.indexes].sort((a, b) => a[0] - b[0])) {
      if (idx < missing) continue;
      push(out, { message: `${name}: list index ${idx} without ${missing}: elements are numbered from 0 with no gap` }, code);
      dropped.add(keyOf([...seen.prefix, idx]));
    }
  }
  const isDropped = (op: Op): boolean => op.path.some((p, i) => typeof p === 'number' && dropped.has(keyOf(op.path.slice(0, i + 1))));
  // Each list starts empty just before the first op that sets one of its elements (outer lists first).
  const ops: Op[] = [];
  const reset = new Set<string>();
  for (const op of out.ops) {
    if (isDropped(op)) continue;
    op.path.forEach((p, i) => {
      if (typeof p !== 'number') return;
      const key = keyOf(op.path.slice(0, i));
      if (reset.has(key)) return;
      reset.add(key);
      ops.push({ path: op.path.slice(0, i), kind: 'set', value: [] });
    });
    ops.push(op);
  }
  out.ops = ops;
}

/** `--a.b.c=value`, bare `--a.b` (true), and `--name value` for undotted non-boolean flags. */
export function fromFlags(argv: readonly string[]): Collected {
  const out: Collected = { ops: [], issues: [] };
  const names: string[] = [];
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
    const segs = flagSegments(name);
    if (segs === null) {
      push(out, { message: `malformed list index in --${name}: expected name[N], e.g. domains[0]` }, 'GH_FLAG_INVALID');
      continue;
    }
    const r = resolve(segs, false);
    if ('at' in r) {
      const hint = unresolvedMessage(r, segs, flagName, false);
      if (r.index !== undefined) push(out, { message: `invalid flag --${name}: ${hint}` }, 'GH_FLAG_INVALID');
      else push(out, { message: `unknown flag --${name}${hint === '' ? '' : `: ${hint}`}` }, 'GH_FLAG_UNKNOWN');
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
    else {
      out.ops.push(op);
      names.push(`--${name}`);
    }
  }
  checkLists(out, names, 'GH_FLAG_INVALID');
  return out;
}

/** `GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS=:8000` (Traefik's TRAEFIK_* convention). */
/** GATEHOUSE_* variables that are not static configuration (CLI and process plumbing). */
const NOT_STATIC = new Set(['GATEHOUSE_ADMIN', 'GATEHOUSE_WORKER', 'GATEHOUSE_TEST_LOG', 'GATEHOUSE_DIR', 'GATEHOUSE_SERVICEACCOUNT_DIR']);

export function fromEnv(env: NodeJS.ProcessEnv): Collected {
  const out: Collected = { ops: [], issues: [] };
  const names: string[] = [];
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(ENV_PREFIX) || NOT_STATIC.has(key)) continue;
    const raw = env[key];
    if (raw === undefined) continue;
    const segs = key.slice(ENV_PREFIX.length).toLowerCase().split('_');
    const r = resolve(segs, true);
    if ('at' in r) {
      const hint = unresolvedMessage(r, segs, envName, true);
      if (r.index !== undefined) push(out, { message: `invalid environment variable ${key}: ${hint}` }, 'GH_FLAG_INVALID');
      else push(out, { message: `unknown environment variable ${key}${hint === '' ? '' : `: ${hint}`}` }, 'GH_FLAG_UNKNOWN');
      continue;
    }
    const op = toOp(r, raw);
    if (typeof op === 'string') push(out, { message: `invalid value "${raw}" for ${key}: ${op}` }, 'GH_FLAG_INVALID');
    else {
      out.ops.push(op);
      names.push(key);
    }
  }
  checkLists(out, names, 'GH_FLAG_INVALID');
  return out;
}

/** `entryPoints.websecure.http.tls.domains[0].main` */
function fieldName(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, p, i) => (typeof p === 'number' ? `${acc}[${p}]` : i === 0 ? p : `${acc}.${p}`), '');
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
  const walk = (s: TSchema, value: unknown, user: (string | number)[], canon: (string | number)[], section: boolean): void => {
    const at = (message: string): void =>
      push(out, { file, line: doc.lineOf(user), ...(user.length > 0 ? { field: fieldName(user) } : {}), message }, 'GH_CONFIG_INVALID');
    const kind = kindOf(s);
    if (kind === 'objects') {
      if (!Array.isArray(value)) {
        at(`expected a list of mappings, got ${JSON.stringify(value)}`);
        return;
      }
      out.ops.push({ path: canon, kind: 'set', value: [] });
      value.forEach((el: unknown, i) => {
        if (isObject(el)) walk(listItem(s), el, [...user, i], [...canon, i], false);
        else
          push(
            out,
            {
              file,
              line: doc.lineOf([...user, i]),
              field: fieldName([...user, i]),
              message: `expected a mapping, got ${JSON.stringify(el)}`,
            },
            'GH_CONFIG_INVALID',
          );
      });
      return;
    }
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
              field: fieldName([...user, k]),
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
