export { ReindexWorker, type ReindexWorkerOptions } from './reindex-worker.ts';
export { ReindexQueue, cancelKey, type ReindexJobSummary } from './reindex-queue.ts';
export { runRebuild, discardTarget, abandonRebuild, type RebuildContext, type RebuildPhase } from './rebuild/index.ts';
export { reconcile, type ReconcileReport } from './reconcile.ts';
export { checkHistory, type HistoryReport } from './history-check.ts';
export * from './reindex-types.ts';
export { DEFAULT_MAX_NDCG_DROP, formatGate, runGate, type GateDependencies, type GateReport, type GateRequest, type GateSide } from './quality-gate.ts';
export { documentsLost, recordUnwritten, unwrittenDocument, describeLoss, MAX_RECORDED_UNWRITTEN, type UnwrittenDocument, type UnwrittenRecord } from './document-loss.ts';
