export { seededUint32, seededUnit } from './seeded-random.ts';
export { pairedRandomizationTest } from './paired-test.ts';
export { overlapAtK, rankBiasedOverlap } from './rank-overlap.ts';
export {
  compareRuns,
  formatComparison,
  RANKING_DEPTH,
  scoreRankings,
  type QueryScores,
  type RunComparison,
  type RunScores,
} from './judged-scores.ts';
export { dcg, ndcgAtK, recallAtK, reciprocalRankAtK, mean, percentile, type Judgements } from './retrieval-metrics.ts';
export {
  EvalSetStore,
  EVAL_SET_NAME_PATTERN,
  judgementsFor,
  summariseEvalSet,
  type EvalSet,
  type EvalSetSummary,
} from './eval-set-store.ts';
export { formatShadow, ShadowBoard, type ShadowSample, type ShadowStats, type ShadowTarget } from './shadow-board.ts';
