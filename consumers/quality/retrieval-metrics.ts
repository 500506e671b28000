// Retrieval metrics as BEIR computes them (pytrec_eval's ndcg_cut and recall, BEIR's own MRR):
// graded gains taken as the qrels scores, log2 rank discount, a document counts as relevant when
// its score is at least 1. Each function takes one query's ranking and judgements; `mean`
// averages over queries.

/** Judged documents of one query: document id -> relevance grade (0 = judged not relevant). */
export type Judgements = ReadonlyMap<string, number>;

export function dcg(gains: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 0; i < Math.min(k, gains.length); i++) sum += (gains[i] ?? 0) / Math.log2(i + 2);
  return sum;
}

/** nDCG@k; 0 when the query has no relevant document. */
export function ndcgAtK(ranking: readonly string[], judgements: Judgements, k: number): number {
  const gains = dedupe(ranking).map((id) => Math.max(0, judgements.get(id) ?? 0));
  const ideal = [...judgements.values()].map((g) => Math.max(0, g)).sort((a, b) => b - a);
  const idcg = dcg(ideal, k);
  return idcg === 0 ? 0 : dcg(gains, k) / idcg;
}

/** Share of the relevant documents found in the first k; 0 when there is none to find. */
export function recallAtK(ranking: readonly string[], judgements: Judgements, k: number): number {
  const relevant = [...judgements].filter(([, grade]) => grade >= 1).map(([id]) => id);
  if (relevant.length === 0) return 0;
  const top = new Set(dedupe(ranking).slice(0, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

/** 1 / rank of the first relevant document within the first k, else 0. */
export function reciprocalRankAtK(ranking: readonly string[], judgements: Judgements, k: number): number {
  const top = dedupe(ranking).slice(0, k);
  const index = top.findIndex((id) => (judgements.get(id) ?? 0) >= 1);
  return index < 0 ? 0 : 1 / (index + 1);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Nearest-rank percentile (p in (0, 100]): the smallest value with at least p% of values at or below it. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] ?? Number.NaN;
}

/** A document listed twice counts once, at its first rank (as in a run file keyed by document). */
function dedupe(ranking: readonly string[]): string[] {
  return [...new Set(ranking)];
}
