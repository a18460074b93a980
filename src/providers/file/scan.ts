/**
 * Lists the configuration files under a directory, recursively: `.yaml`,
 * `.yml`, `.toml`, `.json`; hidden entries (dot files and directories, which
 * also hides Kubernetes ConfigMap `..data` folders and editor swap files) are
 * skipped. Symbolic links are followed, with cycle protection and bounds.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigIssue } from '../../errors.js';
import { formatOf } from '../../config/parse-documents.js';

export const MAX_FILES = 1000;
export const MAX_DEPTH = 16;

export interface ScanResult {
  files: string[];
  /** Every directory visited (the watcher watches each one). */
  dirs: string[];
  issues: ConfigIssue[];
  /** Directories that could not be listed: what was read under them before is kept, not dropped. */
  unreadable: Array<{ dir: string; issue: ConfigIssue }>;
}

/** Names an editor or tool writes next to the real file while saving. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('#') || name.endsWith('~');
}

export async function scanDirectory(root: string): Promise<ScanResult> {
  const out: ScanResult = { files: [], dirs: [], issues: [], unreadable: [] };
  const seen = new Set<string>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (e) {
      if (depth === 0) {
        const issue: ConfigIssue = {
          file: root,
          code: 'GH_CONFIG_PARSE',
          message: `cannot read directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        };
        out.issues.push(issue);
        out.unreadable.push({ dir: root, issue });
      }
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    out.dirs.push(dir);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      const issue: ConfigIssue = {
        file: dir,
        code: 'GH_CONFIG_PARSE',
        message: `cannot read directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      };
      out.issues.push(issue);
      out.unreadable.push({ dir, issue });
      return;
    }
    for (const name of names) {
      if (isIgnoredName(name)) continue;
      const p = join(dir, name);
      let st;
      try {
        st = await stat(p);
      } catch {
        continue; // dangling link or removed meanwhile
      }
      if (st.isDirectory()) {
        if (depth + 1 > MAX_DEPTH) {
          out.issues.push({ file: p, severity: 'warning', message: `directory nested deeper than ${MAX_DEPTH} levels: ignored` });
          continue;
        }
        await walk(p, depth + 1);
      } else if (st.isFile() && formatOf(name) !== undefined) {
        if (out.files.length >= MAX_FILES) {
          out.issues.push({ file: p, severity: 'warning', message: `more than ${MAX_FILES} configuration files: ignored` });
          continue;
        }
        out.files.push(p);
      }
    }
  };
  await walk(root, 0);
  return out;
}
