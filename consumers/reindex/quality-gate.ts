import {
  compareRuns,
  judgementsFor,
  RANKING_DEPTH,
  scoreRankings,
  type EvalSet,
  type RunComparison,
  type RunScores,
} from '../quality/index.ts';
import { searchPinned, type PinnedDependencies } from '../query/index.ts';
import type { ResolvedCollection } from '../runtime/index.ts';
import { SEARCH_SCHEMA_VERSION, UnavailableError, type SearchRequestV1 } from '../../topology/index.ts';

// The quality gate of a rebuild: the judged queries of an evaluation set, searched on the live
// collection and on the new one through the query path (each embedded with its own collection's
// model, with the set's tenant), scored, and compared query by query. The swap goes ahead only
// if the new collection's nDCG@10 is not lower by more than the margin.

/** The default margin: the new collection may lose at most this much nDCG@10 on the gate's queries. */
export const DEFAULT_MAX_NDCG_DROP = 0.005;

/** What a rebuild asks of its gate (saved in the job). */
export interface GateRequest {
  /** A registered set (`eval-set add`) of `tenant`, or the set itself (a BEIR folder given by path). */
  set: string;
  tenant: string;
  inline?: EvalSet;
  maxNdcgDrop: number;
  /** Swap even if refused; the job records that it was forced. */
  force: boolean;
}

export interface GateSide {
  collection: string;
  model: string;
  ndcg_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
}

/** The gate's figures, kept in the job. Comparisons are of the new collection (b) against the live one (a). */
export interface GateReport {
  set: string;
  tenant: string;
  queries: number;
  live: GateSide;
  candidate: GateSide;
  /** live nDCG@10 - new nDCG@10 (positive: the new collection is worse). */
  ndcgDrop: number;
  maxNdcgDrop: number;
  passed: boolean;
  decision: 'accepted' | 'refused' | 'forced';
  comparison: RunComparison;
  seconds: number;
  at: string;
}

export interface GateDependencies extends PinnedDependencies {
  maxBatchSize: number;
  timeoutMs: number;
  signal: AbortSignal;
}

export async function runGate(
  request: GateRequest,
  set: EvalSet,
  live: ResolvedCollection,
  candidate: ResolvedCollection,
  deps: GateDependencies,
): Promise<GateReport> {
  const started = Date.now();
  const [a, b] = [await scoreCollection(set, live, deps), await scoreCollection(set, candidate, deps)];
  const ndcgDrop = Number((a.ndcg_at_10 - b.ndcg_at_10).toFixed(5));
  // A drop equal to the margin passes; rounding to 5 digits keeps float noise out of the decision.
  const passed = ndcgDrop <= request.maxNdcgDrop;
  const side = (c: ResolvedCollection, s: RunScores): GateSide => ({
    collection: c.collection,
    model: c.modelId,
    ndcg_at_10: s.ndcg_at_10,
    recall_at_100: s.recall_at_100,
    mrr_at_10: s.mrr_at_10,
  });
  return {
    set: request.set,
    tenant: set.tenant,
    queries: set.queries.length,
    live: side(live, a),
    candidate: side(candidate, b),
    ndcgDrop,
    maxNdcgDrop: request.maxNdcgDrop,
    passed,
    decision: passed ? 'accepted' : request.force ? 'forced' : 'refused',
    comparison: compareRuns(a, b),
    seconds: (Date.now() - started) / 1000,
    at: new Date().toISOString(),
  };
}

/**
 * Every judged query of the set on one collection, in batches like the query consumer's. A query
 * that fails makes the gate fail (retriable), never score 0: a refusal must come from the ranking.
 */
async function scoreCollection(set: EvalSet, collection: ResolvedCollection, deps: GateDependencies): Promise<RunScores> {
  const rankings = new Map<string, string[]>();
  for (let i = 0; i < set.queries.length; i += deps.maxBatchSize) {
    const batch = set.queries.slice(i, i + deps.maxBatchSize);
    const requests: SearchRequestV1[] = batch.map((q) => ({
      schemaVersion: SEARCH_SCHEMA_VERSION,
      id: q.id,
      query: { text: q.text },
      topK: RANKING_DEPTH,
      tenant: set.tenant,
      replyTo: '',
      deadline: deps.now() + deps.timeoutMs,
    }));
    const answers = await searchPinned(requests, collection, deps, deps.signal);
    for (const [id, answer] of answers) {
      if (answer instanceof Error)
        throw new UnavailableError('gate-query-failed', `the gate's query ${id} failed on ${collection.collection}: ${answer.message}`);
      rankings.set(
        id,
        answer.map((hit) => hit.docId),
      );
    }
  }
  return scoreRankings(set.queries, (id) => judgementsFor(set, id), rankings);
}

/** Two lines for logs and `--watch`. */
export function formatGate(report: GateReport): string {
  const verdict =
    report.decision === 'accepted' ? 'accepted' : report.decision === 'forced' ? 'refused, swapped anyway (--force)' : 'refused';
  const n = report.comparison.ndcg_at_10;
  return (
    `gate ${report.set} (tenant ${report.tenant}, ${report.queries} queries): nDCG@10 ${report.live.ndcg_at_10.toFixed(4)} live (${report.live.model}) -> ${report.candidate.ndcg_at_10.toFixed(4)} new (${report.candidate.model}), ` +
    `drop ${report.ndcgDrop.toFixed(4)} vs max ${report.maxNdcgDrop}; recall@100 ${report.live.recall_at_100.toFixed(4)} -> ${report.candidate.recall_at_100.toFixed(4)}; MRR@10 ${report.live.mrr_at_10.toFixed(4)} -> ${report.candidate.mrr_at_10.toFixed(4)}; ` +
    `per query wins ${n.wins} losses ${n.losses} ties ${n.ties}, p=${n.pValue < 0.0001 ? n.pValue.toExponential(1) : n.pValue.toFixed(4)}: ${verdict}`
  );
}
