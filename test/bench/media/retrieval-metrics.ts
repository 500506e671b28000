// Recall@1 and MRR of a retrieval run, from where each query's target landed. A ranking may tie
// (a perceptual hash's Hamming distances often do): a tie is scored as the expectation over a
// random order of the tied items, so neither side gains from how its sort breaks ties.

/** Where the target of one query landed: `closer` items ranked strictly before it, `tied` others level with it. */
export interface Placement {
  closer: number;
  tied: number;
}

/** A target the ranking did not return within its cut-off. */
export const NOT_FOUND: Placement = { closer: Number.POSITIVE_INFINITY, tied: 0 };

/** A plain ranked list (scores from a vector search do not tie in practice): 1-based rank, or null if absent. */
export function placementOfRank(rank: number | null): Placement {
  if (rank === null) return NOT_FOUND;
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`a rank is a whole number from 1, got ${rank}`);
  return { closer: rank - 1, tied: 0 };
}

/** Expected reciprocal rank, counting positions beyond `cutoff` as 0 (MRR@cutoff). */
export function reciprocalRank(p: Placement, cutoff: number): number {
  let sum = 0;
  for (let i = 0; i <= p.tied; i++) {
    const rank = p.closer + 1 + i;
    if (rank <= cutoff) sum += 1 / rank;
  }
  return sum / (p.tied + 1);
}

/** Expected recall@1: the target is first only if nothing is closer, and then with chance 1/(tied+1). */
export function firstHit(p: Placement): number {
  return p.closer === 0 ? 1 / (p.tied + 1) : 0;
}

export interface RetrievalScore {
  queries: number;
  recallAt1: number;
  mrr: number;
}

export function score(placements: readonly Placement[], cutoff: number): RetrievalScore {
  if (placements.length === 0) return { queries: 0, recallAt1: Number.NaN, mrr: Number.NaN };
  const mean = (f: (p: Placement) => number): number => placements.reduce((sum, p) => sum + f(p), 0) / placements.length;
  return { queries: placements.length, recallAt1: mean(firstHit), mrr: mean((p) => reciprocalRank(p, cutoff)) };
}

/** Expected recall@k of a query with one right answer: the share of random orders of the tied items that put it within k. */
export function hitWithin(p: Placement, k: number): number {
  if (p.closer >= k) return 0;
  return Math.min(p.tied + 1, k - p.closer) / (p.tied + 1);
}

/**
 * What a random ranking of `n` items scores on a query with `relevant` right answers, when the
 * first right one counts: the chance that it is within k, and its expected reciprocal rank up to
 * `cutoff` (P(first right at rank r) = C(n-r, relevant-1) / C(n, relevant)).
 */
export function chance(n: number, relevant: number, k: number, cutoff: number): { recallAtK: number; mrr: number } {
  if (relevant < 1 || relevant > n) throw new RangeError(`${relevant} right answers among ${n} items`);
  let recallAtK = 0;
  let mrr = 0;
  // P(first right at rank r), by the ratio of consecutive terms, to keep clear of huge binomials.
  let p = relevant / n;
  for (let r = 1; r <= Math.min(cutoff, n - relevant + 1); r++) {
    if (r <= k) recallAtK += p;
    mrr += p / r;
    p *= (n - r - relevant + 1) / (n - r);
  }
  return { recallAtK, mrr };
}
