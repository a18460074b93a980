/**
 * Accept-Encoding negotiation with Traefik's rules: q=0 entries are refused,
 * the highest q wins, ties go to the earliest entry of `encodings`, a winning
 * `*` means defaultEncoding (or the first encoding), an empty header means no
 * compression. Results are memoised per header value (clients repeat them).
 */
export type Encoding = 'gzip' | 'br' | 'zstd' | 'deflate';

const MEMO_MAX = 256;

export class Negotiator {
  private readonly rank: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly memo = new Map<string, Encoding | null>();

  constructor(
    private readonly encodings: readonly Encoding[],
    private readonly defaultEncoding: Encoding | null,
  ) {
    encodings.forEach((e, i) => {
      this.rank[e] = i;
    });
  }

  /** The encoding to use, or null for none. `header` undefined means the client sent no Accept-Encoding. */
  choose(header: string | undefined): Encoding | null {
    if (header === undefined) return this.defaultEncoding;
    const hit = this.memo.get(header);
    if (hit !== undefined) return hit;
    const result = this.compute(header);
    if (header.length <= 256) {
      if (this.memo.size >= MEMO_MAX) this.memo.clear();
      this.memo.set(header, result);
    }
    return result;
  }

  private compute(header: string): Encoding | null {
    if (header.trim() === '') return null;
    let best: string | null = null;
    let bestQ = 0;
    let bestRank = Infinity;
    for (const part of header.split(',')) {
      const semi = part.indexOf(';');
      const name = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
      const rank = name === '*' ? -1 : this.rank[name];
      if (rank === undefined) continue;
      let q = 1;
      if (semi >= 0) {
        const m = /q\s*=\s*([0-9.]+)/i.exec(part.slice(semi + 1));
        if (m !== null) q = Number(m[1]);
        if (!Number.isFinite(q)) continue;
      }
      if (q <= 0) continue;
      // '*' ties with named encodings lose to them: give it the lowest priority.
      const r = rank === -1 ? this.encodings.length : rank;
      if (q > bestQ || (q === bestQ && r < bestRank)) {
        best = name;
        bestQ = q;
        bestRank = r;
      }
    }
    if (best === null) return null;
    if (best === '*') return this.defaultEncoding ?? this.encodings[0] ?? null;
    return best as Encoding;
  }
}
