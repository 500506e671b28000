export { BatchConsumer, type Decoded, type HandlerContext } from './batch-consumer.ts';
export { RewindError, isRetriable } from '../../topology/index.ts';
export { deadLetterRecord, type DeadLetter } from './dead-letter.ts';
export { retryWithBackoff } from './retry.ts';
export { jsonLogger, serialiseError, silentLogger, type Logger } from './logger.ts';
export { MetricsRegistry, Counter, Histogram, FRESHNESS_BUCKETS, SECONDS_BUCKETS } from './metrics.ts';
export { startHealthServer } from './health-server.ts';
export { CollectionResolver, describeCollection, type ResolvedCollection } from './collection-resolver.ts';
export {
  RedisWriteFences,
  leaseLapsed,
  passesFence,
  rewindAction,
  rewindPending,
  type WriteFence,
  type WriteFences,
} from './write-fence.ts';
export { groupPosition, handoverOffsets } from './group-position.ts';
export { BatchTrace } from './tracing.ts';
export { LazyAdmin } from './lazy-admin.ts';
export { GroupMemberRegistry } from './group-member-registry.ts';
