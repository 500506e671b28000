// How much two rankings of the same query agree, for shadow comparison of live traffic.

/** Share of the first k ids of `a` that are also in the first k of `b`; 1 when both are empty. */
export function overlapAtK(a: readonly string[], b: readonly string[], k: number): number {
  const depth = Math.min(k, Math.max(a.length, b.length));
  if (depth === 0) return 1;
  const top = new Set(a.slice(0, depth));
  return b.slice(0, depth).filter((id) => top.has(id)).length / depth;
}

/**
 * Rank-biased overlap (Webber, Moffat and Zobel, TOIS 2010), extrapolated to full depth (their
 * equation 30, RBO_EXT) over the first `k` of each list: agreement at the top weighs most, by the
 * persistence `p`. 1 for identical rankings, 0 for disjoint ones; both empty counts as identical.
 */
export function rankBiasedOverlap(a: readonly string[], b: readonly string[], k: number, p = 0.9): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`RBO persistence must be in (0, 1), got ${p}`);
  const depth = Math.min(k, a.length, b.length);
  if (depth === 0) return a.length === 0 && b.length === 0 ? 1 : 0;
  const seenA = new Set<string>();
  const seenB = new Set<string>();
  let overlap = 0;
  let weighted = 0;
  for (let d = 1; d <= depth; d++) {
    const x = a[d - 1]!;
    const y = b[d - 1]!;
    if (x === y) overlap += 1;
    else {
      if (seenB.has(x)) overlap += 1;
      if (seenA.has(y)) overlap += 1;
    }
    seenA.add(x);
    seenB.add(y);
    weighted += (overlap / d) * p ** d;
  }
  return (overlap / depth) * p ** depth + ((1 - p) / p) * weighted;
}
