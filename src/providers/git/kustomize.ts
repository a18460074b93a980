/**
 * Kustomize, safely: which binary renders (`kustomize build` on PATH, else
 * `kubectl kustomize`), the checks made before it runs (every resource, base
 * and component a local file or folder inside the repository: remote bases
 * are refused, since kustomize has no switch for them; no helm), overlay
 * discovery (leaf kustomizations and Flux v1 `.flux.yaml` folders), and the
 * rendering itself (root-only load restrictor, bounded time and output, each
 * object traced back to the file of the repository it came from).
 */
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { SourceDocument } from '../../config/model.js';
import type { ConfigIssue } from '../../errors.js';
import { parseConfigText } from '../../config/parse-documents.js';
import { CommandError, run, which } from './run.js';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;
const ORIGIN = 'config.kubernetes.io/origin';
const MAX_DEPTH = 16;

/** A problem of the revision (path relative to the repository root). */
export class BuildError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'BuildError';
    this.issues = issues;
  }
}

export interface Kustomizer {
  /** `kustomize` or `kubectl`. */
  bin: string;
  args: string[];
}

/** `kustomize build` if on PATH, else `kubectl kustomize`; null when neither is. */
export async function findKustomize(path = process.env.PATH ?? ''): Promise<Kustomizer | null> {
  const k = await which('kustomize', path);
  if (k !== null) return { bin: k, args: ['build'] };
  const kubectl = await which('kubectl', path);
  if (kubectl !== null) return { bin: kubectl, args: ['kustomize'] };
  return null;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The kustomization file of a folder (repository-relative folder), or null. */
export async function kustomizationFile(root: string, dir: string): Promise<string | null> {
  for (const n of KUSTOMIZATION_FILES) {
    try {
      if ((await stat(join(root, dir, n))).isFile()) return dir === '' ? n : `${dir}/${n}`;
    } catch {
      /* next */
    }
  }
  return null;
}

const rel = (root: string, abs: string): string => relative(root, abs).split(sep).join('/');
const looksRemote = (s: string): boolean =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^git@|^git::|^(github|gitlab|bitbucket)\.(com|org)\//i.test(s) || /\?ref=|\.git(\/\/|$)/.test(s);

interface Inspected {
  /** Folders (repository-relative) this kustomization uses as resources, bases or components. */
  uses: string[];
  /** Every folder and file it loads, transitively (for change detection). */
  loads: Set<string>;
}

/**
 * Checks a kustomization and everything it uses before kustomize runs: each
 * entry of resources, bases, components, generators, transformers,
 * validators is a file or folder inside the repository; helm charts are refused.
 */
export async function inspectKustomization(root: string, dir: string, seen = new Map<string, Inspected>()): Promise<Inspected> {
  const cached = seen.get(dir);
  if (cached !== undefined) return cached;
  const file = await kustomizationFile(root, dir);
  if (file === null) throw new BuildError([{ file: dir || '.', code: 'GH_CONFIG_PARSE', message: 'no kustomization.yaml in this folder' }]);
  const result: Inspected = { uses: [], loads: new Set([dir, file]) };
  seen.set(dir, result);
  const parsed = parseConfigText(file, await readFile(join(root, file), 'utf8'), 'yaml');
  if (parsed.error !== undefined) throw new BuildError([parsed.error]);
  const doc = parsed.documents[0];
  if (doc === undefined) return result;
  const k = doc.value as Record<string, unknown>;
  if (k === null || typeof k !== 'object' || Array.isArray(k))
    throw new BuildError([{ file, line: doc.lineOf([]), code: 'GH_CONFIG_PARSE', message: 'a kustomization must be a mapping' }]);
  const issues: ConfigIssue[] = [];
  for (const field of ['helmCharts', 'helmGlobals', 'helmChartInflationGenerator'])
    if (k[field] !== undefined)
      issues.push({
        file,
        line: doc.lineOf([field]),
        field,
        code: 'GH_CONFIG_INVALID',
        message: 'helm charts are not rendered (no helm in Gatehouse)',
      });
  for (const field of ['resources', 'bases', 'components', 'generators', 'transformers', 'validators']) {
    const list = k[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      issues.push({ file, line: doc.lineOf([field]), field, code: 'GH_CONFIG_PARSE', message: `${field} must be a list` });
      continue;
    }
    for (let i = 0; i < list.length; i++) {
      const entry: unknown = list[i];
      if (typeof entry !== 'string') continue; // inline generator/transformer configuration
      const at = { file, line: doc.lineOf([field, i]), field: `${field}[${i}]`, code: 'GH_CONFIG_INVALID' as const };
      if (looksRemote(entry)) {
        issues.push({ ...at, message: `"${entry}" is a remote base: refused (only files and folders of this repository are rendered)` });
        continue;
      }
      if (entry.startsWith('/')) {
        issues.push({ ...at, message: `"${entry}" is an absolute path: use a path relative to the kustomization` });
        continue;
      }
      const target = posix.normalize(posix.join(dir === '' ? '.' : dir, entry));
      if (target === '..' || target.startsWith('../')) {
        issues.push({ ...at, message: `"${entry}" leaves the repository` });
        continue;
      }
      const abs = join(root, target);
      let st;
      try {
        st = await stat(abs);
      } catch {
        issues.push({ ...at, message: `"${entry}" is not a file or folder of the repository (remote bases are refused)` });
        continue;
      }
      const t = target === '.' ? '' : target;
      if (st.isDirectory()) {
        if (field === 'resources' || field === 'bases' || field === 'components') result.uses.push(t);
        try {
          const sub = await inspectKustomization(root, t, seen);
          for (const l of sub.loads) result.loads.add(l);
        } catch (e) {
          if (e instanceof BuildError) issues.push(...e.issues);
          else throw e;
        }
      } else result.loads.add(t);
    }
  }
  if (issues.length > 0) throw new BuildError(issues);
  return result;
}

/** A folder rendered by kustomize, with what Flux v1's `.flux.yaml` adds. */
export interface Overlay {
  dir: string;
  /** Flux v1 `patchUpdated.patchFile` (repository-relative), applied over the output. */
  patchFile?: string;
  /** Found by discovery under kustomizeroot (rather than named in paths). */
  discovered: boolean;
}

/** Every folder under `under` (repository-relative), hidden ones skipped. */
async function folders(root: string, under: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    out.push(d);
    if (depth >= MAX_DEPTH) return;
    let names: string[];
    try {
      names = (await readdir(join(root, d))).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const p = d === '' ? n : `${d}/${n}`;
      if (await isDir(join(root, p))) await walk(p, depth + 1);
    }
  };
  await walk(under, 0);
  return out;
}

/**
 * Overlay discovery under `kustomizeRoot`: every kustomization no other one
 * under the root uses (the leaves: dev, prod, not base), and every folder
 * with a Flux v1 `.flux.yaml` whose generator is `kustomize build`.
 */
export async function discoverOverlays(root: string, kustomizeRoot: string): Promise<{ overlays: Overlay[]; loads: Set<string> }> {
  if (!(await isDir(join(root, kustomizeRoot))))
    throw new BuildError([
      {
        file: kustomizeRoot || '.',
        field: 'providers.git.kustomizeroot',
        code: 'GH_CONFIG_PARSE',
        message: 'no such folder in this revision',
      },
    ]);
  const dirs = await folders(root, kustomizeRoot);
  const withK: string[] = [];
  const flux = new Map<string, Overlay>();
  const issues: ConfigIssue[] = [];
  for (const d of dirs) {
    if ((await kustomizationFile(root, d)) !== null) withK.push(d);
    const fluxFile = d === '' ? '.flux.yaml' : `${d}/.flux.yaml`;
    let text: string;
    try {
      text = await readFile(join(root, fluxFile), 'utf8');
    } catch {
      continue;
    }
    try {
      flux.set(d, fluxOverlay(d, fluxFile, text));
    } catch (e) {
      if (e instanceof BuildError) issues.push(...e.issues);
      else throw e;
    }
  }
  const seen = new Map<string, Inspected>();
  const used = new Set<string>();
  const loads = new Set<string>();
  for (const d of withK) {
    try {
      const r = await inspectKustomization(root, d, seen);
      for (const u of r.uses) used.add(u);
      for (const l of r.loads) loads.add(l);
    } catch (e) {
      if (e instanceof BuildError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (issues.length > 0) throw new BuildError(dedupe(issues));
  const overlays: Overlay[] = withK.filter((d) => !used.has(d) && !flux.has(d)).map((dir) => ({ dir, discovered: true }));
  overlays.push(...flux.values());
  overlays.sort((a, b) => a.dir.localeCompare(b.dir));
  return { overlays, loads };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}:${i.line}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Flux v1's `.flux.yaml`: only the generator `kustomize build .` is accepted, and Gatehouse runs kustomize itself. */
export function fluxOverlay(dir: string, file: string, text: string): Overlay {
  const parsed = parseConfigText(file, text, 'yaml');
  if (parsed.error !== undefined) throw new BuildError([parsed.error]);
  const doc = parsed.documents[0];
  const v = (doc?.value ?? {}) as Record<string, unknown>;
  const mode = v.patchUpdated !== undefined ? 'patchUpdated' : v.commandUpdated !== undefined ? 'commandUpdated' : null;
  if (doc === undefined || mode === null)
    throw new BuildError([
      {
        file,
        line: doc?.lineOf([]),
        code: 'GH_CONFIG_INVALID',
        message: 'a .flux.yaml needs patchUpdated or commandUpdated with generators',
      },
    ]);
  const body = (v[mode] ?? {}) as Record<string, unknown>;
  const gens = Array.isArray(body.generators) ? (body.generators as unknown[]) : [];
  if (gens.length === 0)
    throw new BuildError([
      { file, line: doc.lineOf([mode]), field: `${mode}.generators`, code: 'GH_CONFIG_INVALID', message: 'no generator' },
    ]);
  const issues: ConfigIssue[] = [];
  gens.forEach((g, i) => {
    const command = typeof g === 'object' && g !== null ? (g as Record<string, unknown>).command : undefined;
    const words = typeof command === 'string' ? command.trim().split(/\s+/) : [];
    const ok = words[0] === 'kustomize' && words[1] === 'build' && (words.length === 2 || (words.length === 3 && words[2] === '.'));
    if (!ok)
      issues.push({
        file,
        line: doc.lineOf([mode, 'generators', i, 'command']) ?? doc.lineOf([mode, 'generators', i]),
        field: `${mode}.generators[${i}].command`,
        code: 'GH_CONFIG_INVALID',
        message: `generator command ${JSON.stringify(command ?? null)} refused: only "kustomize build ." is accepted (Gatehouse runs kustomize itself and never executes a generator command)`,
      });
  });
  if (mode === 'commandUpdated' && body.updaters !== undefined)
    issues.push({
      file,
      line: doc.lineOf([mode, 'updaters']),
      field: `${mode}.updaters`,
      severity: 'warning',
      message: 'updaters are not run (Gatehouse never writes to the repository)',
    });
  if (issues.some((i) => i.severity !== 'warning')) throw new BuildError(issues);
  const out: Overlay = { dir, discovered: true };
  if (mode === 'patchUpdated' && typeof body.patchFile === 'string')
    out.patchFile = posix.normalize(posix.join(dir || '.', body.patchFile));
  return out;
}

/** The rendered objects of an overlay, each with the repository file it came from and a line there. */
export async function renderOverlay(opts: {
  kustomizer: Kustomizer;
  root: string;
  /** A scratch folder next to the working copy (same parent, so relative paths reach it). */
  scratch: string;
  overlay: Overlay;
  timeoutMs: number;
}): Promise<SourceDocument[]> {
  const { root, overlay, scratch } = opts;
  const kfile = (await kustomizationFile(root, overlay.dir)) ?? `${overlay.dir}/kustomization.yaml`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  // A wrapper kustomization: asks kustomize for each object's origin, and applies Flux v1's patch file.
  const target = relative(scratch, join(root, overlay.dir)).split(sep).join('/');
  const lines = [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    `resources: [${JSON.stringify(target)}]`,
    'buildMetadata: [originAnnotations]',
  ];
  if (overlay.patchFile !== undefined) {
    let patch: string;
    try {
      patch = await readFile(join(root, overlay.patchFile), 'utf8');
    } catch {
      throw new BuildError([{ file: overlay.patchFile, code: 'GH_CONFIG_PARSE', message: 'the patchFile of .flux.yaml is missing' }]);
    }
    await writeFile(join(scratch, 'flux-patch.yaml'), patch);
    lines.push('patchesStrategicMerge: [flux-patch.yaml]');
  }
  await writeFile(join(scratch, 'kustomization.yaml'), lines.join('\n') + '\n');
  let out: string;
  try {
    const r = await run(opts.kustomizer.bin, [...opts.kustomizer.args, '--load-restrictor', 'LoadRestrictionsRootOnly', scratch], {
      cwd: scratch,
      timeoutMs: opts.timeoutMs,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dirname(scratch) },
    });
    out = r.stdout;
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    throw new BuildError([kustomizeIssue(e, root, scratch, kfile)]);
  }
  const docs = parseAllDocuments(out);
  const list = Array.isArray(docs) ? docs : [];
  const sources = new Map<string, SourceDocument[]>();
  const result: SourceDocument[] = [];
  let index = 0;
  for (const d of list) {
    if (d.errors.length > 0)
      throw new BuildError([
        { file: kfile, code: 'GH_CONFIG_PARSE', message: `kustomize output does not parse: ${d.errors[0]?.message ?? ''}` },
      ]);
    const value = d.toJS() as unknown;
    if (value === null || typeof value !== 'object') continue;
    const obj = value as Record<string, unknown>;
    const meta = (obj.metadata ?? {}) as Record<string, unknown>;
    const ann = (meta.annotations ?? {}) as Record<string, unknown>;
    const origin = typeof ann[ORIGIN] === 'string' ? /^path:\s*(.+)$/m.exec(ann[ORIGIN])?.[1]?.trim() : undefined;
    if (ann[ORIGIN] !== undefined) {
      delete ann[ORIGIN];
      if (Object.keys(ann).length === 0) delete meta.annotations;
    }
    let file = kfile;
    if (origin !== undefined) {
      const r = rel(root, join(scratch, origin));
      if (!r.startsWith('..')) file = r;
    }
    const originDoc = await findOriginDoc(root, file, obj, sources);
    result.push({
      file,
      index: index++,
      value: obj,
      lineOf: (path) => originDoc?.lineOf(path) ?? originDoc?.lineOf([]),
    });
  }
  return result;
}

/** The document of `file` the rendered object came from (same kind, and the same name when there are several). */
async function findOriginDoc(
  root: string,
  file: string,
  obj: Record<string, unknown>,
  cache: Map<string, SourceDocument[]>,
): Promise<SourceDocument | undefined> {
  let docs = cache.get(file);
  if (docs === undefined) {
    try {
      docs = parseConfigText(file, await readFile(join(root, file), 'utf8'), 'yaml').documents;
    } catch {
      docs = [];
    }
    cache.set(file, docs);
  }
  const kind = obj.kind;
  const name = (obj.metadata as Record<string, unknown> | undefined)?.name;
  const sameKind = docs.filter((d) => (d.value as Record<string, unknown> | null)?.kind === kind);
  if (sameKind.length === 1) return sameKind[0];
  const named = sameKind.find((d) => {
    const n = ((d.value as Record<string, unknown>).metadata as Record<string, unknown> | undefined)?.name;
    return typeof n === 'string' && typeof name === 'string' && name.includes(n);
  });
  return named ?? sameKind[0] ?? docs[0];
}

/** A kustomize failure as an issue: paths made relative to the repository, the kustomization named. */
function kustomizeIssue(e: CommandError, root: string, scratch: string, kfile: string): ConfigIssue {
  let text = e.timedOut || e.stderr.trim() === '' ? e.message : e.stderr;
  text = text
    .split('\n')
    .map((l) => l.replace(/^Error:\s*/, '').replace(/^E\d{4} [\d:.]+\s+\d+ \S+\] "command failed" err=/, ''))
    .filter((l) => l.trim() !== '' && !/^warning: /i.test(l))
    .join('; ');
  const toRel = relative(scratch, root).split(sep).join('/');
  text = text
    .split(root + '/')
    .join('')
    .split(root)
    .join('.')
    .split(toRel + '/')
    .join('')
    .split(scratch)
    .join('(kustomize)');
  const line = /line (\d+)/.exec(text);
  const fileMatch = /'([^'\s]+\.ya?ml)'/.exec(text) ?? /([\w./-]+\/(?:kustomization\.ya?ml|Kustomization))/.exec(text);
  const file = fileMatch !== null && !fileMatch[1]!.startsWith('/') ? fileMatch[1]! : kfile;
  return {
    file,
    ...(line !== null ? { line: Number(line[1]) } : {}),
    code: 'GH_CONFIG_PARSE',
    message: `kustomize build ${dirname(kfile) === '.' ? '.' : dirname(kfile)} failed: ${text.slice(0, 2000)}`,
  };
}
