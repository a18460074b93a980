/**
 * Multi-document YAML text → SourceDocuments with line look-up, for
 * Kubernetes manifests (`---`-separated objects, as `kubectl apply -f`).
 * Parse errors are returned as issues; the documents that parse are kept.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { ConfigIssue } from '../../../errors.js';
import type { SourceDocument } from '../../../config/model.js';

const MAX_DOCUMENTS = 10_000;

function keyLine(root: Node | null, path: readonly (string | number)[], lines: LineCounter): number | undefined {
  let node: unknown = root;
  let at: number | undefined = root?.range?.[0];
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === step);
      if (pair === undefined) return undefined;
      at = isScalar(pair.key) ? pair.key.range?.[0] : at;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step] as Node | undefined;
      if (item === undefined) return undefined;
      at = item.range?.[0];
      node = item;
    } else return undefined;
  }
  return at === undefined ? undefined : lines.linePos(at).line;
}

export function parseYamlDocuments(text: string, file: string): { documents: SourceDocument[]; issues: ConfigIssue[] } {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false });
  const all = Array.isArray(parsed) ? parsed : [];
  const documents: SourceDocument[] = [];
  const issues: ConfigIssue[] = [];
  all.slice(0, MAX_DOCUMENTS).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        issues.push({ file, line: e.linePos?.[0]?.line, message: `YAML: ${e.message.split('\n')[0] ?? e.message}`, severity: 'error' });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    documents.push({ file, index, value, lineOf: (path) => keyLine(doc.contents as Node | null, path, lines) });
  });
  if (all.length > MAX_DOCUMENTS)
    issues.push({ file, message: `more than ${MAX_DOCUMENTS} YAML documents: the rest are ignored`, severity: 'error' });
  return { documents, issues };
}
