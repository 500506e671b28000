import { CONNECTION_SETTINGS as S, kafkaSettings, qdrantSettings, redisSettings } from '../topology/index.ts';
import { endpointRejected, endpointUnreachable } from './setup-failures.ts';
import { errorCode, kafkaProbeFailure, redisProbeFailure } from './probe-failures.ts';
import { probeKafka, probeQdrant, probeQdrantKey, probeRedis } from './probes.ts';
import type { KafkaEndpoint, QdrantEndpoint, RedisEndpoint, ServiceName } from './services.ts';

export const ENDPOINT_SETTINGS: Record<ServiceName, string> = {
  kafka: S.kafkaBrokers,
  redis: S.redisUrl,
  qdrant: S.qdrantUrl,
};

const PROBE_TIMEOUT_MS = 5_000;

// Endpoints the user configured. The settings are checked first (a ConfigError names the variable),
// then each endpoint is probed once with its TLS and credentials, so a typo, a wrong password or an
// untrusted certificate fails now, naming the variable, instead of deep inside a consumer.

export async function kafkaFromEnv(env: NodeJS.ProcessEnv): Promise<KafkaEndpoint | null> {
  const endpoint = kafkaSettings(env);
  if (!endpoint) return null;
  await probeKafka(endpoint, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw kafkaProbeFailure(error, endpoint);
  });
  return endpoint;
}

export async function redisFromEnv(env: NodeJS.ProcessEnv): Promise<RedisEndpoint | null> {
  const endpoint = redisSettings(env);
  if (!endpoint) return null;
  await probeRedis(endpoint, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw redisProbeFailure(error, endpoint);
  });
  return endpoint;
}

export async function qdrantFromEnv(env: NodeJS.ProcessEnv): Promise<QdrantEndpoint | null> {
  const endpoint = qdrantSettings(env);
  if (!endpoint) return null;
  await probeQdrant(endpoint.url, endpoint.apiKey, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw qdrantUnreachable(error, endpoint.url);
  });
  const status = await probeQdrantKey(endpoint.url, endpoint.apiKey, PROBE_TIMEOUT_MS).catch((error: unknown) => {
    throw qdrantUnreachable(error, endpoint.url);
  });
  if (status === 401 || status === 403) {
    throw endpointRejected(
      S.qdrantApiKey,
      endpoint.apiKey
        ? `the server at ${endpoint.url} refused the API key (HTTP ${status})`
        : `the server at ${endpoint.url} requires an API key (HTTP ${status})`,
    );
  }
  return endpoint;
}

function qdrantUnreachable(error: unknown, url: string): Error {
  const code = errorCode((error as { cause?: unknown }).cause);
  if (/CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code)) {
    return endpointRejected(
      S.qdrantUrl,
      `the server's certificate at ${url} is not trusted by Node's CA certificates (${code}); add the CA that signed it with NODE_EXTRA_CA_CERTS=<file.pem>`,
      error,
    );
  }
  return endpointUnreachable(S.qdrantUrl, url, error);
}
