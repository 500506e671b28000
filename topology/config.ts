import { ConfigError } from './errors.ts';
import { getModelSpec, type ModelSpec } from './models.ts';
import { DEFAULT_NAMESPACE, isValidNamespace } from './names.ts';

// All settings, read and checked once at start-up. A bad value fails here, naming its variable,
// instead of surfacing as a timeout deep inside a consumer.

export interface SearchbusConfig {
  namespace: string;
  model: ModelSpec;
  ingest: {
    partitions: number;
    /** Keeps tombstones long enough for every consumer (and a rebuild) to see a delete. */
    deleteRetentionMs: number;
  };
  /** Replication of the topics `topology apply` creates; null leaves it to the broker's defaults. */
  topics: {
    replicationFactor: number | null;
    minInsyncReplicas: number | null;
  };
  encoder: {
    maxBatchSize: number;
    maxWaitMs: number;
    chunkOverlapTokens: number;
    intraOpThreads: number;
    maxRetryDelayMs: number;
  };
  query: {
    maxTopK: number;
    defaultTimeoutMs: number;
    /** Requests per handler call: one embedding batch and one Qdrant batch query. */
    maxBatchSize: number;
    /** Longest a fetch waits on an idle topic; a request arriving meanwhile ends the wait at once. */
    maxWaitMs: number;
    /** Chunks fetched per wanted document (limit = topK x this), so collapsing chunks still leaves topK documents. */
    oversampling: number;
    /** How long an alias -> collection (and so model) resolution is reused; bounds how stale a swap can be seen. */
    aliasCacheTtlMs: number;
  };
  reindex: {
    /** How long the previous collection is kept after a swap; must outlive every alias cache. */
    graceMs: number;
    /** A worker that stops renewing its lock for this long is presumed dead; its job is resumed elsewhere. */
    lockDurationMs: number;
    progressIntervalMs: number;
    attempts: number;
  };
  gateway: {
    port: number;
    /** 127.0.0.1 by default; 0.0.0.0 in a container. The gateway trusts its `tenant` parameter, so put authentication in front of it. */
    host: string;
  };
  metricsPort: number | null;
  /** Where /healthz, /readyz and /metrics listen; 0.0.0.0 in a container so they can be scraped. */
  metricsHost: string;
}

export const SETTINGS = {
  namespace: 'SEARCHBUS_NAMESPACE',
  model: 'SEARCHBUS_MODEL',
  ingestPartitions: 'SEARCHBUS_INGEST_PARTITIONS',
  deleteRetentionMs: 'SEARCHBUS_DELETE_RETENTION_MS',
  topicReplicationFactor: 'SEARCHBUS_TOPIC_REPLICATION_FACTOR',
  topicMinInsyncReplicas: 'SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS',
  encoderMaxBatchSize: 'SEARCHBUS_ENCODER_MAX_BATCH_SIZE',
  encoderMaxWaitMs: 'SEARCHBUS_ENCODER_MAX_WAIT_MS',
  chunkOverlapTokens: 'SEARCHBUS_CHUNK_OVERLAP_TOKENS',
  intraOpThreads: 'SEARCHBUS_ENCODER_THREADS',
  maxRetryDelayMs: 'SEARCHBUS_MAX_RETRY_DELAY_MS',
  maxTopK: 'SEARCHBUS_MAX_TOP_K',
  queryTimeoutMs: 'SEARCHBUS_QUERY_TIMEOUT_MS',
  queryMaxBatchSize: 'SEARCHBUS_QUERY_MAX_BATCH_SIZE',
  queryMaxWaitMs: 'SEARCHBUS_QUERY_MAX_WAIT_MS',
  queryOversampling: 'SEARCHBUS_QUERY_OVERSAMPLING',
  queryAliasCacheTtlMs: 'SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS',
  gatewayPort: 'SEARCHBUS_GATEWAY_PORT',
  gatewayHost: 'SEARCHBUS_GATEWAY_HOST',
  reindexGraceMs: 'SEARCHBUS_REINDEX_GRACE_MS',
  reindexLockDurationMs: 'SEARCHBUS_REINDEX_LOCK_DURATION_MS',
  reindexProgressIntervalMs: 'SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS',
  reindexAttempts: 'SEARCHBUS_REINDEX_ATTEMPTS',
  metricsPort: 'SEARCHBUS_METRICS_PORT',
  metricsHost: 'SEARCHBUS_METRICS_HOST',
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SearchbusConfig {
  const namespace = env[SETTINGS.namespace]?.trim() || DEFAULT_NAMESPACE;
  if (!isValidNamespace(namespace)) {
    throw new ConfigError(SETTINGS.namespace, `must be lowercase letters, digits and dashes, starting with a letter (got "${namespace}")`);
  }
  const modelId = env[SETTINGS.model]?.trim() || 'all-minilm-l6-v2';
  let model: ModelSpec;
  try {
    model = getModelSpec(modelId);
  } catch (error) {
    throw new ConfigError(SETTINGS.model, (error as Error).message);
  }
  const chunkOverlapTokens = int(env, SETTINGS.chunkOverlapTokens, 32, 0, 1024);
  // Each window holds [CLS] and [SEP] and must advance by at least one token.
  if (chunkOverlapTokens >= model.maxTokens - 2) {
    throw new ConfigError(
      SETTINGS.chunkOverlapTokens,
      `must be smaller than the model's window (${model.maxTokens - 2} tokens for ${model.id}), got ${chunkOverlapTokens}`,
    );
  }
  const metricsRaw = env[SETTINGS.metricsPort]?.trim();
  const aliasCacheTtlMs = int(env, SETTINGS.queryAliasCacheTtlMs, 1_000, 0, 600_000);
  const graceMs = int(env, SETTINGS.reindexGraceMs, 60_000, 0, 7 * 24 * 3600 * 1000);
  // Consumers may keep using the previous collection for one cache lifetime after a swap.
  if (graceMs < 2 * aliasCacheTtlMs) {
    throw new ConfigError(
      SETTINGS.reindexGraceMs,
      `must be at least twice ${SETTINGS.queryAliasCacheTtlMs} (${aliasCacheTtlMs} ms), or searches may hit a dropped collection; got ${graceMs}`,
    );
  }
  const replicationFactor = optionalInt(env, SETTINGS.topicReplicationFactor, 1, 32_767);
  const minInsyncReplicas = optionalInt(env, SETTINGS.topicMinInsyncReplicas, 1, 32_767);
  // A topic whose writes need more in-sync replicas than it has refuses every acks=all write.
  if (replicationFactor !== null && minInsyncReplicas !== null && minInsyncReplicas > replicationFactor) {
    throw new ConfigError(
      SETTINGS.topicMinInsyncReplicas,
      `must not exceed ${SETTINGS.topicReplicationFactor} (${replicationFactor}), or no write could be acknowledged; got ${minInsyncReplicas}`,
    );
  }
  return {
    namespace,
    model,
    ingest: {
      partitions: int(env, SETTINGS.ingestPartitions, 3, 1, 1024),
      deleteRetentionMs: int(env, SETTINGS.deleteRetentionMs, 7 * 24 * 3600 * 1000, 0, Number.MAX_SAFE_INTEGER),
    },
    topics: { replicationFactor, minInsyncReplicas },
    encoder: {
      maxBatchSize: int(env, SETTINGS.encoderMaxBatchSize, 64, 1, 4096),
      maxWaitMs: int(env, SETTINGS.encoderMaxWaitMs, 50, 0, 60_000),
      chunkOverlapTokens,
      intraOpThreads: int(env, SETTINGS.intraOpThreads, 0, 0, 256),
      maxRetryDelayMs: int(env, SETTINGS.maxRetryDelayMs, 30_000, 10, 3_600_000),
    },
    query: {
      maxTopK: int(env, SETTINGS.maxTopK, 100, 1, 1000),
      defaultTimeoutMs: int(env, SETTINGS.queryTimeoutMs, 5_000, 10, 600_000),
      maxBatchSize: int(env, SETTINGS.queryMaxBatchSize, 32, 1, 1024),
      maxWaitMs: int(env, SETTINGS.queryMaxWaitMs, 20, 0, 10_000),
      oversampling: int(env, SETTINGS.queryOversampling, 3, 1, 100),
      aliasCacheTtlMs,
    },
    reindex: {
      graceMs,
      lockDurationMs: int(env, SETTINGS.reindexLockDurationMs, 30_000, 1_000, 600_000),
      progressIntervalMs: int(env, SETTINGS.reindexProgressIntervalMs, 1_000, 50, 60_000),
      attempts: int(env, SETTINGS.reindexAttempts, 3, 1, 100),
    },
    gateway: {
      port: int(env, SETTINGS.gatewayPort, 8080, 0, 65535),
      host: env[SETTINGS.gatewayHost]?.trim() || '127.0.0.1',
    },
    metricsPort: metricsRaw ? int(env, SETTINGS.metricsPort, 0, 0, 65535) : null,
    metricsHost: env[SETTINGS.metricsHost]?.trim() || '127.0.0.1',
  };
}

/** A whole number in range, or null when the setting is unset or empty. */
function optionalInt(env: NodeJS.ProcessEnv, setting: string, min: number, max: number): number | null {
  const raw = env[setting]?.trim();
  return raw === undefined || raw === '' ? null : int(env, setting, min, min, max);
}

function int(env: NodeJS.ProcessEnv, setting: string, fallback: number, min: number, max: number): number {
  const raw = env[setting]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(setting, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(setting, `must be between ${min} and ${max}, got ${value}`);
  return value;
}
