/**
 * One revision of the working copy → the documents it configures: each path
 * of `--providers.git.paths` (a kustomization folder is rendered, any other
 * folder read as the file provider reads files), plus the overlays discovered
 * under `--providers.git.kustomizeroot`. Anything wrong is a BuildError with
 * every problem (file relative to the repository, line, field): the revision
 * is refused whole. Two folders producing the same object is such an error.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { SourceDocument } from '../../config/model.js';
import type { ConfigIssue } from '../../errors.js';
import { parseConfigText } from '../../config/parse-documents.js';
import { scanDirectory } from '../file/scan.js';
import { MAX_FILE_BYTES } from '../file/file-source.js';
import {
  BuildError,
  discoverOverlays,
  inspectKustomization,
  kustomizationFile,
  renderOverlay,
  type Kustomizer,
  type Overlay,
} from './kustomize.js';
import type { GitProviderConfig } from './options.js';

export interface BuiltRevision {
  documents: SourceDocument[];
  /** Folders and files (repository-relative) whose change means a new reconcile. */
  watched: string[];
  /** What was rendered or read, for status and docs: `kustomize/dev (kustomize)`, `config`. */
  sources: string[];
  warnings: ConfigIssue[];
}

export interface BuildContext {
  cfg: GitProviderConfig;
  /** The working copy at the revision. */
  root: string;
  /** Scratch folder beside the working copy. */
  scratch: string;
  /** Finds kustomize (called only when a kustomization must be rendered). */
  kustomizer: () => Promise<Kustomizer | null>;
}

/** Whether a changed file (repository-relative) is under one of the watched entries. */
export function isWatched(watched: readonly string[], file: string): boolean {
  return watched.some((w) => w === '' || file === w || file.startsWith(`${w}/`));
}

const under = (dir: string, p: string): boolean => dir === '' || p === dir || p.startsWith(`${dir}/`);

export async function buildRevision(ctx: BuildContext): Promise<BuiltRevision> {
  const { cfg, root } = ctx;
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const watched = new Set<string>();
  const overlays: Overlay[] = [];
  const plain: string[] = [];
  const catchBuild = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof BuildError) issues.push(...e.issues);
      else throw e;
    }
  };
  for (const p of cfg.paths) {
    watched.add(p);
    await catchBuild(async () => {
      let st;
      try {
        st = await stat(join(root, p));
      } catch {
        throw new BuildError([
          { file: p || '.', field: 'providers.git.paths', code: 'GH_CONFIG_PARSE', message: 'no such folder in this revision' },
        ]);
      }
      if (!st.isDirectory())
        throw new BuildError([{ file: p, field: 'providers.git.paths', code: 'GH_CONFIG_PARSE', message: 'not a folder' }]);
      if ((await kustomizationFile(root, p)) !== null) {
        const r = await inspectKustomization(root, p);
        for (const l of r.loads) watched.add(l);
        overlays.push({ dir: p, discovered: false });
      } else plain.push(p);
    });
  }
  if (cfg.kustomizeRoot !== undefined) {
    watched.add(cfg.kustomizeRoot);
    await catchBuild(async () => {
      const found = await discoverOverlays(root, cfg.kustomizeRoot as string);
      for (const l of found.loads) watched.add(l);
      for (const o of found.overlays) if (!overlays.some((x) => x.dir === o.dir)) overlays.push(o);
      if (found.overlays.length === 0)
        warnings.push({
          file: cfg.kustomizeRoot || '.',
          severity: 'warning',
          message: 'no overlay found under --providers.git.kustomizeroot',
        });
    });
  }
  if (issues.length > 0) throw new BuildError(issues);

  const bySource: Array<{ source: string; docs: SourceDocument[] }> = [];
  for (const p of plain)
    await catchBuild(async () => {
      bySource.push({ source: p || '.', docs: await readPlainFolder(ctx, p, warnings) });
    });
  if (overlays.length > 0) {
    const k = await ctx.kustomizer();
    if (k === null)
      throw new BuildError([
        {
          file: overlays[0]!.dir || '.',
          code: 'GH_PROVIDER_UNAVAILABLE',
          message: 'kustomize is needed to render this folder, but neither `kustomize` nor `kubectl` (with kustomize) is on PATH',
        },
      ]);
    for (const o of overlays)
      await catchBuild(async () => {
        if (o.patchFile !== undefined) watched.add(o.patchFile);
        bySource.push({
          source: o.dir || '.',
          docs: await renderOverlay({ kustomizer: k, root, scratch: ctx.scratch, overlay: o, timeoutMs: cfg.timeoutMs }),
        });
      });
  }
  if (issues.length > 0) throw new BuildError(issues);
  issues.push(...conflicts(bySource));
  if (issues.length > 0) throw new BuildError(issues);
  return {
    documents: bySource.flatMap((s) => s.docs),
    watched: [...watched].sort(),
    sources: bySource.map((s) => s.source),
    warnings,
  };
}

/** The files of a plain folder, as the file provider reads them (folders holding a kustomization and the kustomizeroot are left to kustomize). */
async function readPlainFolder(ctx: BuildContext, dir: string, warnings: ConfigIssue[]): Promise<SourceDocument[]> {
  const { root, cfg } = ctx;
  const scan = await scanDirectory(join(root, dir));
  const issues: ConfigIssue[] = [];
  for (const i of scan.issues) {
    const file =
      i.file !== undefined && i.file.startsWith(root)
        ? i.file
            .slice(root.length + 1)
            .split(sep)
            .join('/') || '.'
        : i.file;
    (i.severity === 'warning' ? warnings : issues).push({ ...i, ...(file !== undefined ? { file } : {}) });
  }
  const rootReal = await realpath(root);
  const kdirs = new Map<string, boolean>();
  const inKustomization = async (relFile: string): Promise<string | null> => {
    const parts = relFile.split('/').slice(0, -1);
    for (let n = dir === '' ? 0 : dir.split('/').length; n <= parts.length; n++) {
      const d = parts.slice(0, n).join('/');
      if (!kdirs.has(d)) kdirs.set(d, (await kustomizationFile(root, d)) !== null);
      if (kdirs.get(d) === true) return d;
    }
    return null;
  };
  const skipped = new Set<string>();
  const docs: SourceDocument[] = [];
  for (const abs of scan.files) {
    const relFile = abs
      .slice(root.length + 1)
      .split(sep)
      .join('/');
    if (cfg.kustomizeRoot !== undefined && under(cfg.kustomizeRoot, relFile) && !under(cfg.kustomizeRoot, dir)) continue;
    const k = await inKustomization(relFile);
    if (k !== null) {
      skipped.add(k);
      continue;
    }
    const real = await realpath(abs).catch(() => abs);
    if (real !== rootReal && !real.startsWith(rootReal + sep)) {
      issues.push({ file: relFile, code: 'GH_CONFIG_PARSE', message: 'a symbolic link that leaves the repository: refused' });
      continue;
    }
    const st = await stat(abs);
    if (st.size > MAX_FILE_BYTES) {
      issues.push({ file: relFile, code: 'GH_CONFIG_PARSE', message: `file is larger than ${MAX_FILE_BYTES} bytes` });
      continue;
    }
    const parsed = parseConfigText(relFile, await readFile(abs, 'utf8'));
    if (parsed.error !== undefined) issues.push(parsed.error);
    else docs.push(...parsed.documents);
  }
  for (const k of skipped)
    warnings.push({
      file: k || '.',
      severity: 'warning',
      message: `holds a kustomization: not read as plain files (name it in --providers.git.paths or use --providers.git.kustomizeroot)`,
    });
  if (issues.length > 0) throw new BuildError(issues);
  return docs;
}

/** Kubernetes objects produced by two folders: Flux v1's "conflict", explained. */
function conflicts(bySource: Array<{ source: string; docs: SourceDocument[] }>): ConfigIssue[] {
  const first = new Map<string, { source: string; doc: SourceDocument }>();
  const out: ConfigIssue[] = [];
  for (const { source, docs } of bySource) {
    const mine = new Set<string>();
    for (const doc of docs) {
      const v = doc.value as Record<string, unknown> | null;
      if (v === null || typeof v !== 'object' || typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') continue;
      const meta = (v.metadata ?? {}) as Record<string, unknown>;
      if (typeof meta.name !== 'string') continue;
      const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
      const id = `${v.apiVersion} ${v.kind} ${ns}/${meta.name}`;
      if (mine.has(id)) continue;
      mine.add(id);
      const prev = first.get(id);
      if (prev === undefined) {
        first.set(id, { source, doc });
        continue;
      }
      out.push({
        file: doc.file,
        line: doc.lineOf([]),
        object: `${v.kind} ${ns}/${meta.name}`,
        code: 'GH_CONFIG_INVALID',
        message: `${v.kind} ${ns}/${meta.name} (${v.apiVersion}) is produced by both ${prev.source} and ${source}: two folders must not produce the same object (give each overlay its own namespace or name, or read only one of them)`,
      });
    }
  }
  return out;
}
