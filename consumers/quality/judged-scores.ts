// Scores rankings of judged queries and compares two systems on the same queries: what `eval`
// prints and what the re-index gate decides on, computed by the same code.
import { pairedRandomizationTest, type PairedComparison, type PairedTestOptions } from './paired-test.ts';
import { mean, ndcgAtK, recallAtK, reciprocalRankAtK, type Judgements } from './retrieval-metrics.ts';

export interface QueryScores {
  id: string;
  ndcg_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
}

export interface RunScores {
  ndcg_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
  queries: number;
  perQuery: QueryScores[];
}

export const METRICS = ['ndcg_at_10', 'recall_at_100', 'mrr_at_10'] as const;
export type MetricName = (typeof METRICS)[number];

/** Rankings need this many documents per query for recall@100. */
export const RANKING_DEPTH = 100;

/** Per-query and mean scores; a query without a ranking (it failed) scores 0. */
export function scoreRankings(
  queries: ReadonlyArray<{ id: string }>,
  judgementsOf: (queryId: string) => Judgements,
  rankings: ReadonlyMap<string, readonly string[]>,
): RunScores {
  const perQuery = queries.map(({ id }) => {
    const ranking = rankings.get(id) ?? [];
    const judged = judgementsOf(id);
    return {
      id,
      ndcg_at_10: ndcgAtK(ranking, judged, 10),
      recall_at_100: recallAtK(ranking, judged, 100),
      mrr_at_10: reciprocalRankAtK(ranking, judged, 10),
    };
  });
  return {
    ndcg_at_10: round(mean(perQuery.map((q) => q.ndcg_at_10))),
    recall_at_100: round(mean(perQuery.map((q) => q.recall_at_100))),
    mrr_at_10: round(mean(perQuery.map((q) => q.mrr_at_10))),
    queries: perQuery.length,
    perQuery,
  };
}

export type RunComparison = Record<MetricName, PairedComparison>;

/** Each metric of b against a, query by query (both scored on the same queries). */
export function compareRuns(a: RunScores, b: RunScores, options: PairedTestOptions = {}): RunComparison {
  const byId = new Map(b.perQuery.map((q) => [q.id, q]));
  const missing = a.perQuery.filter((q) => !byId.has(q.id)).map((q) => q.id);
  if (missing.length > 0 || a.perQuery.length !== b.perQuery.length) {
    throw new RangeError(`the two runs scored different queries (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
  }
  const pair = (metric: MetricName): PairedComparison =>
    pairedRandomizationTest(
      a.perQuery.map((q) => q[metric]),
      a.perQuery.map((q) => byId.get(q.id)![metric]),
      options,
    );
  return { ndcg_at_10: pair('ndcg_at_10'), recall_at_100: pair('recall_at_100'), mrr_at_10: pair('mrr_at_10') };
}

/** One line per metric: "nDCG@10  0.6512 -> 0.6033 (-0.0479)  wins 21 losses 48 ties 131  p=0.0012". */
export function formatComparison(comparison: RunComparison): string[] {
  const labels: Record<MetricName, string> = { ndcg_at_10: 'nDCG@10', recall_at_100: 'recall@100', mrr_at_10: 'MRR@10' };
  return METRICS.map((metric) => {
    const c = comparison[metric];
    const sign = c.meanDifference >= 0 ? '+' : '';
    return `${labels[metric].padEnd(11)}${c.meanA.toFixed(4)} -> ${c.meanB.toFixed(4)} (${sign}${c.meanDifference.toFixed(4)})  wins ${c.wins} losses ${c.losses} ties ${c.ties}  p=${formatP(c.pValue)} (${c.method === 'exact' ? 'exact' : `${c.permutations} permutations`})`;
  });
}

function formatP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

function round(x: number): number {
  return Number(x.toFixed(5));
}
