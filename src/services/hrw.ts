/**
 * Highest random weight (rendezvous hashing) as Traefik scores it
 * (`pkg/server/service/loadbalancer/hrw`): FNV-1a 64 of `key + name` read as a
 * number in [0, 1), `1 / -ln(score)` times the weight; the highest score wins.
 * The same key (the client's IP) always lands on the same member while the
 * members stay, and only the keys of a member that leaves move.
 */
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const TWO_64 = 2 ** 64;

export function fnv1a64(s: string): bigint {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * FNV_PRIME);
  }
  return h;
}

export function hrwScore(key: string, name: string, weight: number): number {
  const score = Number(fnv1a64(key + name)) / TWO_64;
  return (1 / -Math.log(score)) * weight;
}
