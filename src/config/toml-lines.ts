/**
 * Best-effort line index for TOML (smol-toml keeps no positions): maps a key
 * path (segments joined by NUL) to the 1-based line where it is defined.
 * Handles `[table]`, `[[array.of.tables]]` (indexed), dotted and quoted keys;
 * lines inside multi-line strings are skipped.
 */

function splitKey(raw: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (const ch of raw.trim()) {
    if (quote !== '') {
      if (ch === quote) quote = '';
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '.') {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur.trim());
  return out;
}

/** Index of the first `=` outside quotes, or -1. */
function assignAt(line: string): number {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== '') {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '=') return i;
    else if (ch === '#') return -1;
  }
  return -1;
}

export function tomlLineIndex(text: string): Map<string, number> {
  const index = new Map<string, number>([['', 1]]);
  const arrays = new Map<string, number>();
  const set = (path: readonly (string | number)[], line: number): void => {
    const k = path.join('\u0000');
    if (!index.has(k)) index.set(k, line);
  };
  let table: Array<string | number> = [];
  let inMultiline = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const n = i + 1;
    if (inMultiline !== '') {
      if (line.includes(inMultiline)) inMultiline = '';
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[[')) {
      const end = line.indexOf(']]');
      const key = splitKey(line.slice(2, end < 0 ? undefined : end));
      const k = key.join('\u0000');
      const count = arrays.get(k) ?? 0;
      arrays.set(k, count + 1);
      for (let j = 1; j <= key.length; j++) set(key.slice(0, j), n);
      table = [...key, count];
      set(table, n);
      continue;
    }
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      table = splitKey(line.slice(1, end < 0 ? undefined : end));
      for (let j = 1; j <= table.length; j++) set(table.slice(0, j), n);
      continue;
    }
    const eq = assignAt(line);
    if (eq <= 0) continue;
    const key = splitKey(line.slice(0, eq));
    for (let j = 1; j <= key.length; j++) set([...table, ...key.slice(0, j)], n);
    const rest = line.slice(eq + 1);
    for (const q of ['"""', "'''"]) {
      const c = rest.split(q).length - 1;
      if (c % 2 === 1) inMultiline = q;
    }
  }
  return index;
}
