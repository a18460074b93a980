/**
 * Runs one golden case: a YAML file (Traefik file format and/or Kubernetes
 * objects, multi-document) through the real pipeline (parse → format
 * converters → compileConfig → buildRuntime with the real registries) and
 * returns what the golden `.out.json` records: per router, service,
 * middleware and serversTransport its status, errors and usedBy (routers:
 * what they resolved to), the compile issues, and the issues the build added.
 *
 * A case may start with comment lines `# key: value` setting compile options:
 * entryPoints, defaultEntryPoints, ruleSyntax, internalServices,
 * internalHandlers (default: internalServices), api / ping / metrics /
 * identity (entry point of the internal router), dashboard,
 * entryPointMiddlewares (`web=a@file,b@file`), allowCrossNamespace, and
 * raw (`file`: the documents' `http` section is handed to the compiler as
 * that provider's fragment without the converter, to reach the compiler's own
 * checks of what converters already refuse).
 */
import { basename } from 'node:path';
import { tmpdir } from 'node:os';
import type { ConfigIssue } from '../../src/errors.js';
import { compileConfig } from '../../src/config/compile.js';
import { internalFragment } from '../../src/config/internal.js';
import { emptyFragment, type ConfigFragment, type Item, type SourceDocument } from '../../src/config/model.js';
import { parseConfigText } from '../../src/config/parse-documents.js';
import type { Snapshot } from '../../src/config/runtime.js';
import { pino } from 'pino';
import { builtinRegistry } from '../../src/middlewares/builtin.js';
import { fromKubernetesObjects } from '../../src/providers/formats/kubernetes/convert.js';
import { fromTraefikFileDocuments } from '../../src/providers/formats/traefik-file.js';
import { buildRuntime } from '../../src/server/build.js';
import { builtinServices } from '../../src/services/builtin.js';

type Header = Record<string, string>;

const KEYS = new Set([
  'entryPoints',
  'defaultEntryPoints',
  'ruleSyntax',
  'internalServices',
  'internalHandlers',
  'api',
  'ping',
  'metrics',
  'identity',
  'dashboard',
  'entryPointMiddlewares',
  'allowCrossNamespace',
  'raw',
]);

/** `# key: value` lines among the comments at the top of the file (other comments describe the case). */
export function readHeader(text: string): Header {
  const out: Header = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const m = /^#\s*([A-Za-z]+):\s*(.*)$/.exec(line);
    if (m !== null && KEYS.has(m[1] as string)) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

const list = (v: string | undefined, fallback: string[]): string[] =>
  v === undefined
    ? fallback
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

function fragments(h: Header, docs: SourceDocument[]): ConfigFragment[] {
  const out: ConfigFragment[] = [];
  if (h.raw !== undefined) out.push(rawFragment(h.raw, docs));
  else out.push(fromTraefikFileDocuments(docs));
  out.push(fromKubernetesObjects(docs, { allowCrossNamespace: h.allowCrossNamespace === 'true' }));
  if (h.api !== undefined || h.ping !== undefined || h.metrics !== undefined || h.identity !== undefined) {
    out.push(
      internalFragment({
        api: h.api ?? null,
        dashboard: h.dashboard === 'true',
        ping: h.ping ?? null,
        metrics: h.metrics ?? null,
        identity: h.identity ?? null,
      }),
    );
  }
  return out;
}

/** The `http` sections as they are, each item with its file and line: what a converter-less provider would hand over. */
function rawFragment(provider: string, docs: SourceDocument[]): ConfigFragment {
  const f = emptyFragment(provider);
  const sections = ['routers', 'services', 'middlewares', 'serversTransports'] as const;
  for (const doc of docs) {
    const http = (doc.value as { http?: Record<string, Record<string, unknown>> }).http ?? {};
    for (const s of sections) {
      for (const [name, value] of Object.entries(http[s] ?? {})) {
        const item: Item<unknown> = { value, source: { file: doc.file, line: doc.lineOf(['http', s, name]) } };
        (f[s] as Record<string, Item<unknown>>)[name] = item;
      }
    }
  }
  return f;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const issueJson = (i: ConfigIssue): Record<string, unknown> => ({
  file: i.file === undefined ? undefined : basename(i.file),
  line: i.line,
  object: i.object,
  field: i.field,
  severity: i.severity,
  code: i.code ?? 'GH_CONFIG_INVALID',
  message: i.message,
});

const byName = <T extends { name: string }>(
  table: Record<string, T>,
  keep: (t: T) => boolean,
  f: (t: T) => Record<string, unknown>,
): Record<string, unknown> =>
  Object.fromEntries(
    Object.values(table)
      .filter(keep)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((t) => [t.name, f(t)]),
  );

/** What the golden file records of a runtime view (and of the build's warnings and errors in the log). */
function record(view: Snapshot, compileIssues: number, log: readonly string[]): Record<string, unknown> {
  const all = (): boolean => true;
  const refs = (r: { refs: ReadonlyArray<{ field: string; name: string }> }): string[] => r.refs.map((x) => `${x.field} → ${x.name}`);
  return JSON.parse(
    JSON.stringify({
      routers: byName(view.routers, all, (r) => ({
        status: r.status,
        errors: r.errors,
        entryPoints: r.entryPoints,
        priority: r.priority,
        service: r.service,
        middlewares: r.middlewares,
      })),
      services: byName(
        view.services,
        (s) => s.type !== 'internal' || s.usedBy.length > 0 || s.status !== 'enabled',
        (s) => ({ type: s.type, status: s.status, errors: s.errors, usedBy: s.usedBy, refs: refs(s) }),
      ),
      middlewares: byName(view.middlewares, all, (m) => ({
        type: m.type,
        status: m.status,
        errors: m.errors,
        usedBy: m.usedBy,
        refs: refs(m),
      })),
      serversTransports: byName(view.serversTransports, all, (t) => ({ status: t.status, errors: t.errors, usedBy: t.usedBy })),
      issues: view.issues.slice(0, compileIssues).map(issueJson),
      buildIssues: view.issues.slice(compileIssues).map(issueJson),
      buildLog: log.map((l) => {
        const { level: _l, time: _t, pid: _p, hostname: _h, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return rest;
      }),
    }),
  ) as Record<string, unknown>;
}

export async function runCase(file: string, text: string): Promise<Record<string, unknown>> {
  const h = readHeader(text);
  const parsed = parseConfigText(file, text);
  if (parsed.error !== undefined) throw new Error(`the case does not parse: ${parsed.error.message}`);
  const entryPoints = list(h.entryPoints, ['web', 'websecure']);
  const internalServices = list(h.internalServices, ['noop@internal']);
  const snapshot = deepFreeze(
    compileConfig({
      fragments: fragments(h, parsed.documents),
      entryPoints,
      defaultEntryPoints: list(h.defaultEntryPoints, ['web']),
      defaultRuleSyntax: h.ruleSyntax === 'v2' ? 'v2' : 'v3',
      registry: builtinRegistry(),
      services: builtinServices(),
      revision: 1,
      internalServices,
    }),
  );
  const handlers = Object.fromEntries(list(h.internalHandlers, internalServices).map((n) => [n, () => undefined]));
  const epMws = Object.fromEntries(
    (h.entryPointMiddlewares ?? '')
      .split(/\s+/)
      .filter((s) => s !== '')
      .map((s) => [s.split('=')[0], list(s.split('=')[1], [])]),
  );
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const runtime = buildRuntime(snapshot, {
    registry: builtinRegistry(),
    services: builtinServices(),
    internal: handlers,
    entryPoints,
    entryPointMiddlewares: epMws,
    rateLimitStore: { take: () => Promise.resolve({ allowed: true, retryAfterMs: 0 }) },
    log,
    dataDir: tmpdir(),
  });
  try {
    return record(runtime.view, snapshot.issues.length, lines);
  } finally {
    await runtime.close(0);
  }
}
