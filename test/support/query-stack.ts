import type { Redis } from 'ioredis';
import { QueryConsumer, queryEncoder } from '../../consumers/query/index.ts';
import type { MediaEncoder, OnnxEncoder } from '../../consumers/embedding/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { closeAll } from '../../topology/index.ts';
import type { Harness } from './harness.ts';

// The query path of one test namespace: a query consumer and a search client on real services.

export interface QueryStack {
  consumer: QueryConsumer;
  client: SearchClient;
  metrics: MetricsRegistry;
  /** A plain connection for tests that publish or subscribe by hand. */
  redis: Redis;
  /** Model ids the consumer asked an encoder for. */
  modelsRequested: string[];
  close(): Promise<void>;
}

export async function startQueryStack(
  h: Harness,
  encoders: OnnxEncoder[],
  options: { timeoutMs?: number; media?: MediaEncoder } = {},
): Promise<QueryStack> {
  const publisher = createRedis(h.services.redis, `test-${h.namespace}-query`);
  const redis = createRedis(h.services.redis, `test-${h.namespace}-plain`);
  const metrics = new MetricsRegistry();
  const modelsRequested: string[] = [];
  const consumer = new QueryConsumer({
    kafka: h.kafka,
    qdrant: h.qdrant,
    redis: publisher,
    topology: h.topology,
    config: h.config,
    encoder: (modelId) => {
      modelsRequested.push(modelId);
      const encoder = encoders.find((e) => e.spec.id === modelId);
      if (!encoder) return Promise.reject(new Error(`test stack has no encoder for ${modelId}`));
      return Promise.resolve(queryEncoder(encoder));
    },
    metrics,
    ...(options.media ? { media: options.media } : {}),
  });
  await consumer.start();
  const client = new SearchClient({
    kafka: h.kafka,
    redis: createRedis(h.services.redis, `test-${h.namespace}-client`),
    topology: h.topology,
    defaultTimeoutMs: options.timeoutMs ?? 15_000,
  });
  await client.connect();
  return {
    consumer,
    client,
    metrics,
    redis,
    modelsRequested,
    close: () =>
      closeAll('the query test stack', [
        { name: 'close the search client', run: () => client.close() },
        { name: 'close the query consumer', run: () => consumer.close() },
        { name: 'quit the reply publisher', run: () => publisher.quit() },
        { name: 'quit the Redis client', run: () => redis.quit() },
      ]),
  };
}
