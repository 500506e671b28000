export { QueryConsumer, type QueryConsumerOptions } from './query-consumer.ts';
export {
  handleSearchBatch,
  type BatchReport,
  type OutgoingReply,
  type QueryEncoder,
  type QueryMessage,
  type SearchDependencies,
} from './handle-search-batch.ts';
export { collapseToDocuments, snippet, initialLimit, nextLimit, needsMore, HIT_PAYLOAD_FIELDS, type ScoredChunk } from './collapse-hits.ts';
export { toQdrantFilter } from './qdrant-filter.ts';
export { queryEncoder } from './query-encoder.ts';
export { searchPinned, type PinnedDependencies } from './pinned-search.ts';
export { ShadowMirror, type LiveAnswer, type ShadowMirrorOptions } from './shadow-mirror.ts';
export { chunkQuery, effectiveMode, RRF_K, type ChunkQuery, type QueryVectors } from './qdrant-query.ts';
