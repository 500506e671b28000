import { EndpointUnreachableError, InfraError } from './errors.ts';
import { probeKafka, probeQdrant, probeRedis } from './probes.ts';
import type { KafkaEndpoint, QdrantEndpoint, RedisEndpoint, ServiceName } from './services.ts';

export const ENDPOINT_SETTINGS: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  redis: 'REDIS_URL',
  qdrant: 'QDRANT_URL',
};

const PROBE_TIMEOUT_MS = 5_000;

/** Endpoints the user configured; each is checked once so a typo fails now, naming the setting. */
export async function kafkaFromEnv(env: NodeJS.ProcessEnv): Promise<KafkaEndpoint | null> {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return null;
  const brokers = raw.split(',').map((b) => b.trim()).filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(broker)) {
      throw new InfraError(`KAFKA_BROKERS must be a comma-separated list of host:port, got "${broker}"`);
    }
  }
  await probeKafka(brokers, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw new EndpointUnreachableError('KAFKA_BROKERS', raw, error);
  });
  return { brokers };
}

export async function redisFromEnv(env: NodeJS.ProcessEnv): Promise<RedisEndpoint | null> {
  const url = env.REDIS_URL?.trim();
  if (!url) return null;
  if (!/^rediss?:\/\//.test(url)) throw new InfraError(`REDIS_URL must start with redis:// or rediss://, got "${url}"`);
  if (url.startsWith('redis://')) {
    await probeRedis(url, PROBE_TIMEOUT_MS).catch((error: unknown) => {
      throw new EndpointUnreachableError('REDIS_URL', url, error);
    });
  }
  return { url };
}

export async function qdrantFromEnv(env: NodeJS.ProcessEnv): Promise<QdrantEndpoint | null> {
  const url = env.QDRANT_URL?.trim();
  if (!url) return null;
  if (!/^https?:\/\//.test(url)) throw new InfraError(`QDRANT_URL must start with http:// or https://, got "${url}"`);
  const apiKey = env.QDRANT_API_KEY?.trim() || undefined;
  await probeQdrant(url, apiKey, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw new EndpointUnreachableError('QDRANT_URL', url, error);
  });
  return apiKey ? { url, apiKey } : { url };
}
