// Recall@1, recall@10 and MRR of a retrieval run, from where each query's target landed. A ranking may tie
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

/** Expected recall@k: the share of the target's equally likely positions (closer+1 … closer+tied+1) that lie within the top k. */
export function hitWithin(p: Placement, k: number): number {
  if (p.closer >= k) return 0;
  return Math.min(k - p.closer, p.tied + 1) / (p.tied + 1);
}

export interface RetrievalScore {
  queries: number;
  recallAt1: number;
  recallAt10: number;
  mrr: number;
}

export function score(placements: readonly Placement[], cutoff: number): RetrievalScore {
  if (placements.length === 0) return { queries: 0, recallAt1: Number.NaN, recallAt10: Number.NaN, mrr: Number.NaN };
  const mean = (f: (p: Placement) => number): number => placements.reduce((sum, p) => sum + f(p), 0) / placements.length;
  return {
    queries: placements.length,
    recallAt1: mean(firstHit),
    recallAt10: mean((p) => hitWithin(p, 10)),
    mrr: mean((p) => reciprocalRank(p, cutoff)),
  };
}

/**
 * What a ranking that knows nothing scores: each query's targets (`targets[i]` of them, any one
 * counts) among `candidates` items in a uniformly random order. The first target lands at rank r with
 * probability P(the r-1 before it are all non-targets) x m/(n-r+1).
 */
export function chanceScore(candidates: number, targets: readonly number[], cutoff: number): RetrievalScore {
  const one = (m: number): { at1: number; at10: number; rr: number } => {
    if (!Number.isInteger(m) || m < 1 || m > candidates) throw new RangeError(`targets must be 1..${candidates}, got ${m}`);
    let noneYet = 1;
    const out = { at1: 0, at10: 0, rr: 0 };
    for (let r = 1; r <= Math.min(cutoff, candidates - m + 1); r++) {
      const p = noneYet * (m / (candidates - r + 1));
      if (r === 1) out.at1 += p;
      if (r <= 10) out.at10 += p;
      out.rr += p / r;
      noneYet *= (candidates - m - (r - 1)) / (candidates - (r - 1));
    }
    return out;
  };
  if (targets.length === 0) return { queries: 0, recallAt1: Number.NaN, recallAt10: Number.NaN, mrr: Number.NaN };
  const each = targets.map(one);
  const mean = (f: (x: { at1: number; at10: number; rr: number }) => number): number => each.reduce((s, x) => s + f(x), 0) / each.length;
  return { queries: targets.length, recallAt1: mean((x) => x.at1), recallAt10: mean((x) => x.at10), mrr: mean((x) => x.rr) };
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
