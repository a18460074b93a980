/**
 * Label and field selectors as the Kubernetes API parses them
 * (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`;
 * fields: `metadata.name=`, `metadata.namespace=`, `!=`).
 */
type Requirement = (labels: Record<string, string>) => boolean;

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

export class SelectorError extends Error {}

export function parseLabelSelector(selector: string | null): Requirement {
  if (selector === null || selector.trim() === '') return () => true;
  const reqs: Requirement[] = splitTop(selector).map((part) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m !== null) {
      const [, k, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in' ? (l) => l[k] !== undefined && values.has(l[k]) : (l) => l[k] === undefined || !values.has(l[k]);
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(part);
    if (m !== null) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v;
    }
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m !== null) {
      const [, not, k] = m as unknown as [string, string, string];
      return not === '!' ? (l) => l[k] === undefined : (l) => l[k] !== undefined;
    }
    throw new SelectorError(`unable to parse requirement: ${part}`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

export function parseFieldSelector(selector: string | null): (obj: Record<string, unknown>) => boolean {
  if (selector === null || selector.trim() === '') return () => true;
  const reqs = splitTop(selector).map((part) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m === null) throw new SelectorError(`invalid field selector: ${part}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (field !== 'metadata.name' && field !== 'metadata.namespace') throw new SelectorError(`field label not supported: ${field}`);
    const key = field === 'metadata.name' ? 'name' : 'namespace';
    return (obj: Record<string, unknown>) => {
      const meta = (obj.metadata ?? {}) as Record<string, unknown>;
      const actual = String(meta[key] ?? '');
      return op === '!=' ? actual !== value : actual === value;
    };
  });
  return (obj) => reqs.every((r) => r(obj));
}
