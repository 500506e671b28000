import { QdrantClient } from '@qdrant/js-client-rest';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { reportRedisErrors } from './redis-errors.ts';
import type { KafkaEndpoint, QdrantEndpoint, RedisEndpoint } from './services.ts';

// One place that turns endpoints into clients, with the settings every role wants.

export function createKafka(endpoint: KafkaEndpoint, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: endpoint.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      // kafkajs logs expected, retried conditions (coordinator loading, rebalances) as errors.
      if (entry.level <= logLevel.WARN && process.env.SEARCHBUS_KAFKA_LOG !== 'off') {
        const { message, error } = entry.log as { message?: string; error?: string };
        // Expected and retried: coordinators loading after a broker start, rebalances, and the
        // idempotent producer's note on bounded retries (a failed send surfaces to the caller).
        if (/coordinator is (loading|not available)|not the correct coordinator|rebalanc|Limiting retries for the idempotent producer/i.test(`${message} ${error}`)) return;
        process.stderr.write(`[kafkajs] ${entry.namespace} ${message ?? ''}${error ? `: ${error}` : ''}\n`);
      }
    },
  });
}

export function createQdrant(endpoint: QdrantEndpoint): QdrantClient {
  const url = new URL(endpoint.url);
  return new QdrantClient({
    url: endpoint.url,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}),
  });
}

export function createRedis(endpoint: RedisEndpoint, name: string): Redis {
  // maxRetriesPerRequest null: commands wait for the reconnect instead of failing; subscriptions
  // are renewed on it (ioredis' autoResubscribe).
  const redis = new Redis(endpoint.url, { connectionName: name, maxRetriesPerRequest: null, enableReadyCheck: true });
  reportRedisErrors(redis, name);
  return redis;
}
