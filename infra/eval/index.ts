export { runEval, type EvalOptions, type EvalReport } from './run-eval.ts';
export { loadBeirSplit, parseBeirSplit, readEvalSet, toEvalSet, judgementsOf, type BeirLines, type BeirSplit } from './beir-dataset.ts';
export { dcg, ndcgAtK, recallAtK, reciprocalRankAtK, mean, percentile, type Judgements } from '../../consumers/quality/index.ts';
