/**
 * The last good revision (the last one the gateway applied), kept in the
 * data directory so that a restart with the remote unreachable serves it at
 * once: its rendered documents, written atomically (temporary file, rename).
 * The file is keyed by what selects the documents (URL, reference, paths,
 * kustomizeroot): a changed selection does not serve an old one.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SourceDocument } from '../../config/model.js';
import type { GitProviderConfig } from './options.js';

export interface SavedRevision {
  sha: string;
  revision: string;
  watched: string[];
  /** ISO 8601. */
  appliedAt: string;
  documents: SourceDocument[];
}

interface FileShape {
  version: 1;
  key: string;
  sha: string;
  revision: string;
  watched: string[];
  appliedAt: string;
  documents: Array<{ file: string; index: number; value: unknown }>;
}

export function selectionKey(cfg: GitProviderConfig): string {
  const parts = [cfg.url, cfg.branch, cfg.tag, cfg.semver, cfg.commit, cfg.paths.join(','), cfg.kustomizeRoot];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export async function saveRevision(path: string, key: string, r: SavedRevision): Promise<void> {
  const body: FileShape = {
    version: 1,
    key,
    sha: r.sha,
    revision: r.revision,
    watched: r.watched,
    appliedAt: r.appliedAt,
    documents: r.documents.map((d) => ({ file: d.file, index: d.index, value: d.value })),
  };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
  await rename(tmp, path);
}

/** The saved revision for this selection, or null (none, another selection, unreadable). */
export async function loadRevision(path: string, key: string): Promise<SavedRevision | null> {
  let body: FileShape;
  try {
    body = JSON.parse(await readFile(path, 'utf8')) as FileShape;
  } catch {
    return null;
  }
  if (body.version !== 1 || body.key !== key || !Array.isArray(body.documents)) return null;
  return {
    sha: body.sha,
    revision: body.revision,
    watched: body.watched,
    appliedAt: body.appliedAt,
    documents: body.documents.map((d) => ({ file: d.file, index: d.index, value: d.value, lineOf: () => undefined })),
  };
}
