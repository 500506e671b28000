export { ReindexWorker } from './reindex-worker.ts';
export { ReindexQueue, type ReindexJobSummary } from './reindex-queue.ts';
export * from './reindex-types.ts';
export { DEFAULT_MAX_NDCG_DROP, formatGate, runGate, type GateDependencies, type GateReport, type GateRequest } from './quality-gate.ts';
