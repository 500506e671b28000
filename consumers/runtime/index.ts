export { BatchConsumer, type BatchConsumerOptions, type ConsumerState, type Decoded, type HandlerContext } from './batch-consumer.ts';
export { PoisonMessageError, RetriableError, isRetriable } from './errors.ts';
export { deadLetterRecord, sendDeadLetters, type DeadLetter } from './dead-letter.ts';
export { retryWithBackoff, type RetryOptions } from './retry.ts';
export { jsonLogger, silentLogger, type Logger } from './logger.ts';
export { MetricsRegistry, Counter, Gauge, Histogram, SECONDS_BUCKETS, SIZE_BUCKETS } from './metrics.ts';
export { startHealthServer, type HealthSource } from './health-server.ts';
export { CollectionResolver, CollectionResolutionError, type ResolvedCollection } from './collection-resolver.ts';
export { RedisWriteFences, passesFence, type WriteFence, type WriteFences } from './write-fence.ts';
