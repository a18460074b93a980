/** Traefik's HTTP status lists: "500", "500-599", "404,418,500-599" (ranges inclusive). */
export type CodeRanges = ReadonlyArray<readonly [number, number]>;

export function parseCodeRanges(entries: readonly string[]): CodeRanges {
  const out: Array<[number, number]> = [];
  for (const entry of entries) {
    for (const part of entry.split(',')) {
      const p = part.trim();
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(p);
      if (m === null) throw new Error(`"${p}" is not a status code or a range like "500-599"`);
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      if (lo < 100 || hi > 599 || hi < lo) throw new Error(`"${p}" is not a valid status range (100-599, low-high)`);
      out.push([lo, hi]);
    }
  }
  return out;
}

export function inRanges(ranges: CodeRanges, code: number): boolean {
  for (const r of ranges) if (code >= r[0] && code <= r[1]) return true;
  return false;
}
