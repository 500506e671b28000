export { QueryConsumer } from './query-consumer.ts';
export {
  handleSearchBatch,
  type OutgoingReply,
  type QueryEncoder,
  type QueryMessage,
  type SearchDependencies,
} from './handle-search-batch.ts';
export { collapseToDocuments, snippet, initialLimit, nextLimit, needsMore, HIT_PAYLOAD_FIELDS } from './collapse-hits.ts';
export { toQdrantFilter } from './qdrant-filter.ts';
export { queryEncoder } from './query-encoder.ts';
export { searchPinned, type PinnedDependencies } from './pinned-search.ts';
export { ShadowMirror, type LiveAnswer } from './shadow-mirror.ts';
export { chunkQuery, hybridFusion, type ChunkQuery } from './qdrant-query.ts';
