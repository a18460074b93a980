/**
 * The static configuration: `--configfile` (or GATEHOUSE_CONFIGFILE) < GATEHOUSE_*
 * environment < flags, with Traefik's names, defaults and implicit entry points.
 * Parse → merge → defaults → validate → freeze; every problem is reported at once
 * in one ConfigError.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, type ConfigIssue, type ErrorCode } from '../errors.js';
import { isRequired, kindOf, listFlags, listItem, recordValue } from './static-keys.js';
import { EntryPointSchema, StaticConfigSchema, type EntryPointConfig, type StaticConfig } from './static-schema.js';
import { fromEnv, fromFile, fromFlags, type Op } from './static-sources.js';

export { StaticConfigSchema, EntryPointSchema, type StaticConfig, type EntryPointConfig } from './static-schema.js';

export interface StaticInput {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The internal entry point (API, dashboard, ping, metrics, identity when insecure). */
export const INTERNAL_ENTRY_POINT = 'traefik';

type Tree = Record<string, unknown>;

function isObject(v: unknown): v is Tree {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Existing key equal to `key` ignoring case (record keys: `Web` and `web` are one entry point). */
function keyIn(node: Tree, key: string): string {
  if (key in node) return key;
  const lower = key.toLowerCase();
  return Object.keys(node).find((k) => k.toLowerCase() === lower) ?? key;
}

/** A mapping or a list of objects (numeric path segments index it). */
type Container = Record<string | number, unknown>;

function apply(tree: Tree, op: Op): void {
  let node: Container = tree;
  const slot = (n: Container, seg: string | number): string | number =>
    typeof seg === 'number' || Array.isArray(n) ? seg : keyIn(n as Tree, seg);
  const last = op.path.length - 1;
  for (let i = 0; i < last; i++) {
    const k = slot(node, op.path[i] as string | number);
    const list = typeof op.path[i + 1] === 'number';
    if (list ? !Array.isArray(node[k]) : !isObject(node[k])) node[k] = list ? [] : {};
    node = node[k] as Container;
  }
  const k = slot(node, op.path[last] as string | number);
  if (op.kind === 'set') node[k] = op.value;
  else if (op.kind === 'disable') delete node[k];
  else if (!isObject(node[k])) node[k] = {};
}

/** `--entrypoints.websecure.http.tls.domains[0].main` */
function flagOf(path: readonly (string | number)[]): string {
  return `--${path.reduce<string>((acc, p, i) => (typeof p === 'number' ? `${acc}[${p}]` : i === 0 ? p : `${acc}.${p}`), '').toLowerCase()}`;
}

/** Fills defaults in place; required keys without a default become issues. */
function fillDefaults(s: TSchema, node: Tree, path: (string | number)[], issues: ConfigIssue[]): void {
  const kind = kindOf(s);
  if (kind === 'record') {
    const v = recordValue(s);
    if (kindOf(v) !== 'object') return;
    for (const [k, child] of Object.entries(node)) if (isObject(child)) fillDefaults(v, child, [...path, k], issues);
    return;
  }
  for (const [key, child] of Object.entries(s.properties as Record<string, TSchema>)) {
    const ck = kindOf(child);
    if (node[key] === undefined) {
      if (child.default !== undefined) node[key] = structuredClone(child.default as unknown);
      else if (ck === 'object' && isRequired(s, key)) node[key] = {};
      else if (isRequired(s, key)) {
        issues.push({ message: `${flagOf([...path, key])} is required` });
        continue;
      } else continue;
    }
    const v = node[key];
    if ((ck === 'object' || ck === 'record') && isObject(v)) fillDefaults(child, v, [...path, key], issues);
    if (ck === 'objects' && Array.isArray(v))
      for (let i = 0; i < v.length; i++) {
        const el: unknown = v[i];
        if (isObject(el)) fillDefaults(listItem(child), el, [...path, key, i], issues);
        else issues.push({ message: `${flagOf([...path, key, i])} is missing (list elements are numbered from 0 with no gap)` });
      }
  }
}

function freeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const c of Object.values(v)) freeze(c);
    Object.freeze(v);
  }
  return v;
}

export interface ListenAddress {
  /** Host or IP to bind, '' for all interfaces. */
  host: string;
  port: number;
}

/** `:8000`, `127.0.0.1:8000`, `[::1]:8000`, `host:8000`, each with an optional `/tcp`. Throws on anything else. */
export function parseAddress(address: string): ListenAddress {
  let a = address.trim();
  const slash = a.lastIndexOf('/');
  if (slash >= 0) {
    const proto = a.slice(slash + 1).toLowerCase();
    if (proto === 'udp') throw new Error('UDP entry points are not supported');
    if (proto !== 'tcp') throw new Error(`unknown protocol "${proto}": expected /tcp`);
    a = a.slice(0, slash);
  }
  const colon = a.lastIndexOf(':');
  if (colon < 0) throw new Error('expected [host]:port, e.g. ":8000" or "127.0.0.1:8000"');
  let host = a.slice(0, colon);
  const portText = a.slice(colon + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) throw new Error('expected an IPv6 address in brackets, e.g. "[::1]:8000"');
    host = host.slice(1, -1);
  } else if (host.includes(':')) {
    throw new Error('IPv6 addresses must be in brackets, e.g. "[::1]:8000"');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new Error(`invalid port "${portText}": expected 0-65535`);
  return { host, port: Number(portText) };
}

/** Entry points a router without `entryPoints` attaches to: those with asDefault, else all but `traefik`. */
export function defaultEntryPoints(cfg: StaticConfig): string[] {
  const names = Object.keys(cfg.entryPoints);
  const marked = names.filter((n) => cfg.entryPoints[n]?.asDefault === true);
  return marked.length > 0 ? marked : names.filter((n) => n !== INTERNAL_ENTRY_POINT);
}

function newEntryPoint(address: string, issues: ConfigIssue[]): EntryPointConfig {
  const ep: Tree = { address };
  fillDefaults(EntryPointSchema, ep, ['entryPoints', address], issues);
  return ep as unknown as EntryPointConfig;
}

function absolutize(cwd: string, p: string | undefined): string | undefined {
  return p === undefined || p === '' || isAbsolute(p) ? p : resolve(cwd, p);
}

/** Sets an optional key, leaving it absent (not `undefined`) when there is no value. */
function setOrDrop<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}

/** Traefik's implicit entry points, address checks, cross references, absolute paths. */
function finish(cfg: StaticConfig, cwd: string, issues: ConfigIssue[]): void {
  const eps = cfg.entryPoints;
  if (Object.keys(eps).length === 0) eps.http = newEntryPoint(':80', issues);
  const needsInternal =
    cfg.api?.insecure === true ||
    (cfg.ping !== undefined && !cfg.ping.manualRouting && cfg.ping.entryPoint === INTERNAL_ENTRY_POINT) ||
    (cfg.metrics.prometheus !== undefined &&
      !cfg.metrics.prometheus.manualRouting &&
      cfg.metrics.prometheus.entryPoint === INTERNAL_ENTRY_POINT) ||
    cfg.identity.insecure;
  if (needsInternal && eps[INTERNAL_ENTRY_POINT] === undefined) eps[INTERNAL_ENTRY_POINT] = newEntryPoint(':8080', issues);

  const used = new Map<string, string>();
  for (const [name, ep] of Object.entries(eps)) {
    try {
      const a = parseAddress(ep.address);
      const key = `${a.host}|${a.port}`;
      const other = used.get(key);
      if (a.port !== 0 && other !== undefined)
        issues.push({ message: `--entrypoints.${name}.address=${ep.address}: the entry point "${other}" already listens there` });
      used.set(key, name);
    } catch (e) {
      issues.push({ message: `invalid value "${ep.address}" for --entrypoints.${name}.address: ${(e as Error).message}` });
    }
    const to = ep.http.redirections?.entryPoint?.to;
    if (to !== undefined && !to.startsWith(':') && eps[to] === undefined) {
      issues.push({ message: `--entrypoints.${name}.http.redirections.entrypoint.to: the entry point "${to}" does not exist` });
    }
  }
  const check = (section: string, ep: string | undefined, manual: boolean | undefined): void => {
    if (ep !== undefined && manual !== true && eps[ep] === undefined)
      issues.push({ message: `--${section.toLowerCase()}.entrypoint: the entry point "${ep}" does not exist` });
  };
  check('ping', cfg.ping?.entryPoint, cfg.ping?.manualRouting);
  check('metrics.prometheus', cfg.metrics.prometheus?.entryPoint, cfg.metrics.prometheus?.manualRouting);

  const file = cfg.providers.file;
  if (file !== undefined) {
    if ((file.directory === undefined) === (file.filename === undefined)) {
      issues.push({ message: '--providers.file needs exactly one of --providers.file.directory and --providers.file.filename' });
    }
    setOrDrop(file, 'directory', absolutize(cwd, file.directory));
    setOrDrop(file, 'filename', absolutize(cwd, file.filename));
  }
  if (cfg.accessLog !== undefined) setOrDrop(cfg.accessLog, 'filePath', absolutize(cwd, cfg.accessLog.filePath));
  setOrDrop(cfg.log, 'filePath', absolutize(cwd, cfg.log.filePath));
  setOrDrop(cfg, 'configFile', absolutize(cwd, cfg.configFile));
  cfg.dataDir = absolutize(cwd, cfg.dataDir) as string;
}

/** Parses flags, environment and the configuration file. Throws ConfigError listing every problem. */
export function parseStaticConfig(input: StaticInput): StaticConfig {
  const flags = fromFlags(input.argv);
  const env = fromEnv(input.env);
  const issues: ConfigIssue[] = [...env.issues, ...flags.issues];
  let code: ErrorCode | undefined = env.code ?? flags.code;

  const configFileOf = (ops: Op[]): string | undefined => {
    let f: string | undefined;
    for (const op of ops) if (op.path.length === 1 && op.path[0] === 'configFile' && op.kind === 'set') f = op.value as string;
    return f;
  };
  const configFile = configFileOf(flags.ops) ?? configFileOf(env.ops);
  let fileOps: Op[] = [];
  if (configFile !== undefined) {
    const file = fromFile(resolve(input.cwd, configFile));
    fileOps = file.ops;
    issues.unshift(...file.issues);
    code = file.code ?? code;
  }

  const tree: Tree = {};
  for (const op of [...fileOps, ...env.ops, ...flags.ops]) apply(tree, op);
  tree.workers ??= availableParallelism();
  tree.dataDir ??= '.gatehouse';
  if (configFile !== undefined) tree.configFile = configFile;
  const defaultIssues: ConfigIssue[] = [];
  fillDefaults(StaticConfigSchema, tree, [], defaultIssues);
  if (defaultIssues.length > 0) {
    issues.push(...defaultIssues);
    code ??= 'GH_CONFIG_INVALID';
  }
  if (issues.length > 0) throw new ConfigError(issues, code ?? 'GH_CONFIG_INVALID');

  const cfg = tree as unknown as StaticConfig;
  finish(cfg, input.cwd, issues);
  if (issues.length === 0) {
    for (const e of Value.Errors(StaticConfigSchema, cfg)) {
      issues.push({
        field: e.path
          .split('/')
          .filter((p) => p !== '')
          .join('.'),
        message: `${e.message} (internal: static configuration does not match its schema)`,
      });
      if (issues.length >= 5) break;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, 'GH_CONFIG_INVALID');
  return freeze(cfg);
}

/** Help lines for `gatehouse serve --help`: every flag with its description and default. */
export function describeStaticConfig(): string[] {
  const flags = listFlags(StaticConfigSchema, '');
  const width = Math.min(64, Math.max(...flags.map((f) => f.flag.length + 2)));
  const lines = [
    'Static configuration. Sources, lowest to highest precedence: --configfile (YAML/TOML),',
    'GATEHOUSE_* environment variables (GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS=:8000), flags.',
    'Names are matched case-insensitively. A bare flag means true; sections (--api, --ping)',
    'are enabled with their defaults by --section or --section=true, removed by --section=false.',
    'Lists of objects take an index from 0: --entrypoints.websecure.http.tls.domains[0].main=example.com',
    '(GATEHOUSE_ENTRYPOINTS_WEBSECURE_HTTP_TLS_DOMAINS_0_MAIN); lists of values are comma-separated.',
    '',
  ];
  for (const f of flags) {
    const name = `--${f.flag}`;
    const desc = f.default === undefined ? f.description : `${f.description} (default: ${f.default})`;
    lines.push(`  ${name.padEnd(width + 2)} ${desc}`);
  }
  return lines;
}
