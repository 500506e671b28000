export { runEval, type EvalReport } from './run-eval.ts';
export { loadBeirSplit, parseBeirSplit, readEvalSet, toEvalSet } from './beir-dataset.ts';
export { percentile } from '../../consumers/quality/index.ts';
