import { homedir, hostname, tmpdir } from 'node:os';
import { isAbsolute } from 'node:path';
import { DEFAULT_COLLECTION_SETTINGS, type CollectionSettings } from './collection.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_MODEL_ID, getModelSpec, type ModelSpec } from './models.ts';
import {
  DEFAULT_ENCODER_GRAPH,
  DEFAULT_INT8_SOURCE,
  ENCODER_GRAPHS,
  INT8_SOURCES,
  type EncoderGraph,
  type Int8Source,
} from './model-variants.ts';
import { DEFAULT_ANALYZER_ID, getAnalyzerSpec, type AnalyzerSpec } from './analyzers.ts';
import { DEFAULT_NAMESPACE, isValidNamespace } from './names.ts';
import ipaddr from 'ipaddr.js';
import {
  DEFAULT_MEDIA_INLINE_MAX_BYTES,
  DEFAULT_MEDIA_URL_HOSTS,
  DEFAULT_IMAGE_LABELS,
  DEFAULT_OCR_MIN_CONFIDENCE,
  MAX_MEDIA_INLINE_MAX_BYTES,
} from './media.ts';
import { DEFAULT_SPEECH_MODEL_SIZE, SPEECH_MODEL_SIZES, SPEECH_MODELS, type SpeechModelSpec } from './media-models.ts';

// All settings, read and checked once at start-up. A bad value fails here, naming its variable,
// instead of surfacing as a timeout deep inside a consumer.

export interface SearchbusConfig {
  namespace: string;
  /**
   * Names this process' place (a host, a pod) across restarts: a query process restarted after a
   * crash removes its dead predecessor from the query group by it. Default: the host name.
   */
  instanceId: string;
  model: ModelSpec;
  /** Sparse (BM25-style) analyzer of new collections; null builds dense-only collections. */
  sparseAnalyzer: AnalyzerSpec | null;
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
  /** Layout of the collections `topology apply` and rebuilds create (shards, replicas, on-disk, quantization, HNSW). */
  qdrant: CollectionSettings;
  encoder: {
    maxBatchSize: number;
    maxWaitMs: number;
    chunkOverlapTokens: number;
    intraOpThreads: number;
    maxRetryDelayMs: number;
    /** Which ONNX file of an fp32 model runs (topology/model-variants.ts). */
    graph: EncoderGraph;
    /** Which int8 file an int8 (`-q`) model runs. */
    int8Source: Int8Source;
  };
  /** Images and audio in documents and queries (topology/media.ts). */
  media: {
    /** Largest inline (base64) medium, decoded bytes; larger content goes by uri. */
    inlineMaxBytes: number;
    /** Largest medium read from a uri (file:// or http(s)://). */
    fetchMaxBytes: number;
    /** How long reading a uri may take before the document is dead-lettered as unreachable. */
    fetchTimeoutMs: number;
    /** Absolute directories (real paths) a file:// uri may point into; anywhere else is refused. */
    fileRoots: readonly string[];
    /** Hosts an http(s) uri may name: `*`, `*.example.com` or a host name; empty: http(s) media are refused. */
    urlHosts: readonly string[];
    /** Loopback, private, link-local and reserved addresses are never fetched from, except these IPs or CIDRs. */
    urlAllowNetworks: readonly string[];
    /** OCR of images: their text (screenshots, scans) joins the text path; lines below minConfidence (0-100) are dropped. */
    ocr: { enabled: boolean; minConfidence: number };
    /**
     * What is in a photo, from the image model's ImageNet classes: at most `max` labels (0: none)
     * whose probability is at least `minPercent`, stored with the image and indexed as its text.
     */
    labels: { max: number; minPercent: number };
    /** A video frame is sampled (into an `image` vector) every this many milliseconds... */
    videoFrameIntervalMs: number;
    /** ...and at most this many per video: a longer video is sampled more sparsely. */
    videoMaxFrames: number;
    /** The Moonshine model (tiny or base) that turns speech into text. */
    speechModel: SpeechModelSpec;
    /** Whether an audio document's speech is transcribed into text chunks (with their times) beside its audio vector. */
    speechToText: boolean;
  };
  query: {
    maxTopK: number;
    defaultTimeoutMs: number;
    /** How long the CLI's and the gateway's search client wait for a reply before sending the search once more to another request partition (0: never). */
    hedgeAfterMs: number;
    /** Requests per handler call: one embedding batch and one Qdrant batch query. */
    maxBatchSize: number;
    /** Longest a fetch waits on an idle topic; a request arriving meanwhile ends the wait at once. */
    maxWaitMs: number;
    /**
     * The query group's session timeout: how long the group coordinator keeps the partitions of a
     * member that stopped heartbeating (a crashed or frozen query process) before it hands them to
     * the others. Shorter than the encoder's, since searches wait on it.
     */
    sessionTimeoutMs: number;
    /** Chunks fetched per wanted document (limit = topK x this), so collapsing chunks still leaves topK documents. */
    oversampling: number;
    /** How long an alias -> collection (and so model) resolution is reused; bounds how stale a swap can be seen. */
    aliasCacheTtlMs: number;
    /**
     * While a search with `after` waits for the index, how often the encoder groups' committed
     * offsets are read again (one read at a time, shared by every waiting request).
     */
    positionPollMs: number;
    /** How hybrid searches fuse the dense and sparse candidate lists in Qdrant. */
    fusion: FusionMethod;
    /** RRF's k: a document at rank r of a list (from 0) gets weight / (k + r) from it. */
    rrfK: number;
    /** RRF weight of the sparse list, the dense list's being 1 (rrf only; dbsf takes no weights). */
    sparseWeight: number;
    /** For a query by code: RRF weight of the dense list, the sparse (code terms) list's being 1. */
    codeDenseWeight: number;
  };
  reindex: {
    /** How long the previous collection is kept after a swap; must outlive every alias cache. */
    graceMs: number;
    /** A worker that stops renewing its lock for this long is presumed dead; its job is resumed elsewhere. */
    lockDurationMs: number;
    progressIntervalMs: number;
    attempts: number;
    /**
     * Lease of a rebuild on the write fence it closes; renewed every third of it. Once it lapses
     * (the worker died or hung), live encoders reopen the fence where the rebuild group stopped.
     */
    fenceLeaseMs: number;
    /** Times a job may stall (its worker died) and be resumed before BullMQ fails it. */
    maxStalledCount: number;
    /** Share of live searches mirrored to a rebuild's target once it tails the topic (reindex --shadow-rate). */
    shadowSampleRate: number;
  };
  /** The index change feed and the watches matched against it. */
  watches: {
    /** How long the `<namespace>.indexed` and `<namespace>.matches` topics keep events. */
    feedRetentionMs: number;
    /** How long the matcher remembers a (watch, document version) it already announced; a redelivery within it gives no second event. */
    dedupeTtlMs: number;
    /** Watches one reverse search returns at most per document, best first; more matching watches than this are cut. */
    maxMatchesPerDocument: number;
  };
  gateway: GatewayConfig;
  /**
   * The longest any consumer, worker or client may take to start (connect, join its group); past
   * it start() fails saying what it waited for, and closes what it had opened.
   */
  startTimeoutMs: number;
  /**
   * Where traces are exported over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT); null: no OpenTelemetry SDK
   * is started and tracing costs nothing. The SDK reads its other OTEL_* settings itself.
   */
  otlpEndpoint: string | null;
  metricsPort: number | null;
  /** Where /healthz, /readyz and /metrics listen; 0.0.0.0 in a container so they can be scraped. */
  metricsHost: string;
}

export type FusionMethod = 'rrf' | 'dbsf';
export const FUSION_METHODS: readonly FusionMethod[] = ['rrf', 'dbsf'];
/**
 * Hybrid fusion defaults: RRF with Qdrant's own k (2), not Cormack et al.'s 60, and the sparse list
 * at half the dense list's weight. At k 60 the first and the tenth place count nearly alike (1/60, 1/69), so
 * a document in both lists at middling ranks beat the top of either, and a sparse top hit on one
 * rare word tied the dense top hit; on a small corpus, where nearly every document is in the dense
 * list, that put lexical noise first. Measured on SciFact and the demo questions (README, Measured).
 */
export const DEFAULT_RRF_K = 2;
export const DEFAULT_SPARSE_WEIGHT = 0.5;
/**
 * A query by code leans the other way: renamed code keeps its structure terms, while the text model
 * sees other names. On 2,000 renamed functions (docs/benchmarks/code.md) recall@1 was 0.80 with the
 * dense list first (sparse weight 0.5), 0.95 with the dense list at half the sparse list's weight.
 */
export const DEFAULT_CODE_DENSE_WEIGHT = 0.5;

export const SETTINGS = {
  namespace: 'SEARCHBUS_NAMESPACE',
  instanceId: 'SEARCHBUS_INSTANCE_ID',
  model: 'SEARCHBUS_MODEL',
  sparseAnalyzer: 'SEARCHBUS_SPARSE_ANALYZER',
  queryFusion: 'SEARCHBUS_QUERY_FUSION',
  queryRrfK: 'SEARCHBUS_QUERY_RRF_K',
  queryCodeDenseWeight: 'SEARCHBUS_QUERY_CODE_DENSE_WEIGHT',
  querySparseWeight: 'SEARCHBUS_QUERY_SPARSE_WEIGHT',
  ingestPartitions: 'SEARCHBUS_INGEST_PARTITIONS',
  deleteRetentionMs: 'SEARCHBUS_DELETE_RETENTION_MS',
  topicReplicationFactor: 'SEARCHBUS_TOPIC_REPLICATION_FACTOR',
  topicMinInsyncReplicas: 'SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS',
  qdrantShards: 'SEARCHBUS_QDRANT_SHARDS',
  qdrantReplicationFactor: 'SEARCHBUS_QDRANT_REPLICATION_FACTOR',
  qdrantWriteConsistencyFactor: 'SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR',
  qdrantVectorsOnDisk: 'SEARCHBUS_QDRANT_VECTORS_ON_DISK',
  qdrantPayloadOnDisk: 'SEARCHBUS_QDRANT_PAYLOAD_ON_DISK',
  qdrantQuantization: 'SEARCHBUS_QDRANT_QUANTIZATION',
  qdrantRescoreOversampling: 'SEARCHBUS_QDRANT_RESCORE_OVERSAMPLING',
  qdrantHnswM: 'SEARCHBUS_QDRANT_HNSW_M',
  qdrantHnswEfConstruct: 'SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT',
  encoderMaxBatchSize: 'SEARCHBUS_ENCODER_MAX_BATCH_SIZE',
  mediaInlineMaxBytes: 'SEARCHBUS_MEDIA_INLINE_MAX_BYTES',
  mediaFetchMaxBytes: 'SEARCHBUS_MEDIA_FETCH_MAX_BYTES',
  mediaFetchTimeoutMs: 'SEARCHBUS_MEDIA_FETCH_TIMEOUT_MS',
  mediaFileRoots: 'SEARCHBUS_MEDIA_FILE_ROOTS',
  mediaUrlHosts: 'SEARCHBUS_MEDIA_URL_HOSTS',
  mediaUrlAllowNetworks: 'SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS',
  ocrImages: 'SEARCHBUS_OCR_IMAGES',
  ocrMinConfidence: 'SEARCHBUS_OCR_MIN_CONFIDENCE',
  imageLabelsMax: 'SEARCHBUS_IMAGE_LABELS_MAX',
  imageLabelsMinPercent: 'SEARCHBUS_IMAGE_LABELS_MIN_PERCENT',
  mediaVideoFrameIntervalMs: 'SEARCHBUS_MEDIA_VIDEO_FRAME_INTERVAL_MS',
  mediaVideoMaxFrames: 'SEARCHBUS_MEDIA_VIDEO_MAX_FRAMES',
  speechModel: 'SEARCHBUS_SPEECH_MODEL',
  speechToText: 'SEARCHBUS_SPEECH_TO_TEXT',
  encoderMaxWaitMs: 'SEARCHBUS_ENCODER_MAX_WAIT_MS',
  chunkOverlapTokens: 'SEARCHBUS_CHUNK_OVERLAP_TOKENS',
  intraOpThreads: 'SEARCHBUS_ENCODER_THREADS',
  encoderGraph: 'SEARCHBUS_ENCODER_GRAPH',
  int8Source: 'SEARCHBUS_INT8_SOURCE',
  maxRetryDelayMs: 'SEARCHBUS_MAX_RETRY_DELAY_MS',
  maxTopK: 'SEARCHBUS_MAX_TOP_K',
  queryTimeoutMs: 'SEARCHBUS_QUERY_TIMEOUT_MS',
  queryHedgeAfterMs: 'SEARCHBUS_QUERY_HEDGE_AFTER_MS',
  queryMaxBatchSize: 'SEARCHBUS_QUERY_MAX_BATCH_SIZE',
  queryMaxWaitMs: 'SEARCHBUS_QUERY_MAX_WAIT_MS',
  querySessionTimeoutMs: 'SEARCHBUS_QUERY_SESSION_TIMEOUT_MS',
  queryOversampling: 'SEARCHBUS_QUERY_OVERSAMPLING',
  feedRetentionMs: 'SEARCHBUS_FEED_RETENTION_MS',
  watchDedupeTtlMs: 'SEARCHBUS_WATCH_DEDUPE_TTL_MS',
  watchMaxMatchesPerDocument: 'SEARCHBUS_WATCH_MAX_MATCHES_PER_DOCUMENT',
  queryAliasCacheTtlMs: 'SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS',
  queryPositionPollMs: 'SEARCHBUS_QUERY_POSITION_POLL_MS',
  gatewayPort: 'SEARCHBUS_GATEWAY_PORT',
  gatewayHost: 'SEARCHBUS_GATEWAY_HOST',
  gatewayAuth: 'SEARCHBUS_GATEWAY_AUTH',
  gatewayKeysFile: 'SEARCHBUS_GATEWAY_KEYS_FILE',
  gatewayJwtSecret: 'SEARCHBUS_GATEWAY_JWT_SECRET',
  gatewayJwtJwksUrl: 'SEARCHBUS_GATEWAY_JWT_JWKS_URL',
  gatewayJwtJwksFile: 'SEARCHBUS_GATEWAY_JWT_JWKS_FILE',
  gatewayJwtIssuer: 'SEARCHBUS_GATEWAY_JWT_ISSUER',
  gatewayJwtAudience: 'SEARCHBUS_GATEWAY_JWT_AUDIENCE',
  gatewayJwtTenantClaim: 'SEARCHBUS_GATEWAY_JWT_TENANT_CLAIM',
  gatewayRatePerSecond: 'SEARCHBUS_GATEWAY_RATE_PER_SECOND',
  gatewayRateBurst: 'SEARCHBUS_GATEWAY_RATE_BURST',
  gatewayMaxBodyBytes: 'SEARCHBUS_GATEWAY_MAX_BODY_BYTES',
  gatewayMaxUrlBytes: 'SEARCHBUS_GATEWAY_MAX_URL_BYTES',
  gatewayEvalSetDirs: 'SEARCHBUS_GATEWAY_EVAL_SET_DIRS',
  gatewayMaxEvalSetBytes: 'SEARCHBUS_GATEWAY_MAX_EVAL_SET_BYTES',
  reindexGraceMs: 'SEARCHBUS_REINDEX_GRACE_MS',
  reindexLockDurationMs: 'SEARCHBUS_REINDEX_LOCK_DURATION_MS',
  reindexProgressIntervalMs: 'SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS',
  reindexAttempts: 'SEARCHBUS_REINDEX_ATTEMPTS',
  reindexMaxStalledCount: 'SEARCHBUS_REINDEX_MAX_STALLED_COUNT',
  fenceLeaseMs: 'SEARCHBUS_FENCE_LEASE_MS',
  shadowSampleRate: 'SEARCHBUS_SHADOW_SAMPLE_RATE',
  startTimeoutMs: 'SEARCHBUS_START_TIMEOUT_MS',
  metricsPort: 'SEARCHBUS_METRICS_PORT',
  metricsHost: 'SEARCHBUS_METRICS_HOST',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
} as const;

function instanceId(env: NodeJS.ProcessEnv): string {
  const raw = env[SETTINGS.instanceId]?.trim() || hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(raw))
    throw new ConfigError(SETTINGS.instanceId, `must be letters, digits, dots, dashes and underscores (got "${raw}")`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SearchbusConfig {
  const namespace = env[SETTINGS.namespace]?.trim() || DEFAULT_NAMESPACE;
  if (!isValidNamespace(namespace)) {
    throw new ConfigError(SETTINGS.namespace, `must be lowercase letters, digits and dashes, starting with a letter (got "${namespace}")`);
  }
  const modelId = env[SETTINGS.model]?.trim() || DEFAULT_MODEL_ID;
  let model: ModelSpec;
  try {
    model = getModelSpec(modelId);
  } catch (error) {
    throw new ConfigError(SETTINGS.model, (error as Error).message);
  }
  const sparseRaw = env[SETTINGS.sparseAnalyzer]?.trim() || DEFAULT_ANALYZER_ID;
  let sparseAnalyzer: AnalyzerSpec | null = null;
  if (sparseRaw !== 'none') {
    try {
      sparseAnalyzer = getAnalyzerSpec(sparseRaw);
    } catch (error) {
      throw new ConfigError(SETTINGS.sparseAnalyzer, `${(error as Error).message} Or none for dense-only collections.`);
    }
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
  const progressIntervalMs = int(env, SETTINGS.reindexProgressIntervalMs, 1_000, 50, 60_000);
  const fenceLeaseMs = int(env, SETTINGS.fenceLeaseMs, 30_000, 1_000, 3_600_000);
  // The hand-over checks its lease once per progress interval and renews it every third of it.
  if (fenceLeaseMs < 3 * progressIntervalMs) {
    throw new ConfigError(
      SETTINGS.fenceLeaseMs,
      `must be at least three times ${SETTINGS.reindexProgressIntervalMs} (${progressIntervalMs} ms), or a rebuild may lose its write fence between two checks; got ${fenceLeaseMs}`,
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
    instanceId: instanceId(env),
    model,
    sparseAnalyzer,
    ingest: {
      partitions: int(env, SETTINGS.ingestPartitions, 3, 1, 1024),
      deleteRetentionMs: int(env, SETTINGS.deleteRetentionMs, 7 * 24 * 3600 * 1000, 0, Number.MAX_SAFE_INTEGER),
    },
    topics: { replicationFactor, minInsyncReplicas },
    qdrant: loadCollectionSettings(env),
    encoder: {
      maxBatchSize: int(env, SETTINGS.encoderMaxBatchSize, 64, 1, 4096),
      maxWaitMs: int(env, SETTINGS.encoderMaxWaitMs, 50, 0, 60_000),
      chunkOverlapTokens,
      intraOpThreads: int(env, SETTINGS.intraOpThreads, 0, 0, 256),
      maxRetryDelayMs: int(env, SETTINGS.maxRetryDelayMs, 30_000, 10, 3_600_000),
      graph: oneOf(env, SETTINGS.encoderGraph, ENCODER_GRAPHS, DEFAULT_ENCODER_GRAPH),
      int8Source: oneOf(env, SETTINGS.int8Source, INT8_SOURCES, DEFAULT_INT8_SOURCE),
    },
    media: {
      inlineMaxBytes: int(env, SETTINGS.mediaInlineMaxBytes, DEFAULT_MEDIA_INLINE_MAX_BYTES, 1, MAX_MEDIA_INLINE_MAX_BYTES),
      fetchMaxBytes: int(env, SETTINGS.mediaFetchMaxBytes, 64 * 1024 * 1024, 1, 2 * 1024 * 1024 * 1024),
      fetchTimeoutMs: int(env, SETTINGS.mediaFetchTimeoutMs, 15_000, 100, 600_000),
      fileRoots: fileRoots(env, SETTINGS.mediaFileRoots),
      urlHosts: urlHosts(env, SETTINGS.mediaUrlHosts),
      urlAllowNetworks: networks(env, SETTINGS.mediaUrlAllowNetworks),
      ocr: {
        enabled: bool(env, SETTINGS.ocrImages, true),
        minConfidence: int(env, SETTINGS.ocrMinConfidence, DEFAULT_OCR_MIN_CONFIDENCE, 0, 100),
      },
      labels: imageLabelSettings(env),
      videoFrameIntervalMs: int(env, SETTINGS.mediaVideoFrameIntervalMs, 1_000, 40, 3_600_000),
      videoMaxFrames: int(env, SETTINGS.mediaVideoMaxFrames, 300, 1, 10_000),
      speechModel: SPEECH_MODELS[oneOf(env, SETTINGS.speechModel, SPEECH_MODEL_SIZES, DEFAULT_SPEECH_MODEL_SIZE)],
      speechToText: bool(env, SETTINGS.speechToText, true),
    },
    query: querySettings(env, aliasCacheTtlMs),
    reindex: {
      graceMs,
      lockDurationMs: int(env, SETTINGS.reindexLockDurationMs, 30_000, 1_000, 600_000),
      progressIntervalMs,
      attempts: int(env, SETTINGS.reindexAttempts, 3, 1, 100),
      fenceLeaseMs,
      maxStalledCount: int(env, SETTINGS.reindexMaxStalledCount, 3, 0, 100),
      shadowSampleRate: fraction(env, SETTINGS.shadowSampleRate, 0.05),
    },
    watches: loadWatchSettings(env),
    gateway: loadGatewayConfig(env),
    startTimeoutMs: int(env, SETTINGS.startTimeoutMs, 60_000, 100, 3_600_000),
    otlpEndpoint: otlpEndpoint(env),
    metricsPort: metricsRaw ? int(env, SETTINGS.metricsPort, 0, 0, 65535) : null,
    metricsHost: env[SETTINGS.metricsHost]?.trim() || '127.0.0.1',
  };
}

/** The setting behind each collection setting, for messages (drift, config errors). */
export const COLLECTION_SETTING_NAMES: Record<keyof CollectionSettings, string> = {
  shardNumber: SETTINGS.qdrantShards,
  replicationFactor: SETTINGS.qdrantReplicationFactor,
  writeConsistencyFactor: SETTINGS.qdrantWriteConsistencyFactor,
  vectorsOnDisk: SETTINGS.qdrantVectorsOnDisk,
  payloadOnDisk: SETTINGS.qdrantPayloadOnDisk,
  quantization: SETTINGS.qdrantQuantization,
  rescoreOversampling: SETTINGS.qdrantRescoreOversampling,
  hnswM: SETTINGS.qdrantHnswM,
  hnswEfConstruct: SETTINGS.qdrantHnswEfConstruct,
};

function queryFusion(env: NodeJS.ProcessEnv): FusionMethod {
  const raw = env[SETTINGS.queryFusion]?.trim().toLowerCase() || 'rrf';
  if (!(FUSION_METHODS as readonly string[]).includes(raw)) {
    throw new ConfigError(SETTINGS.queryFusion, `must be ${FUSION_METHODS.join(' or ')}, got "${raw}"`);
  }
  return raw as FusionMethod;
}

function loadCollectionSettings(env: NodeJS.ProcessEnv): CollectionSettings {
  const d = DEFAULT_COLLECTION_SETTINGS;
  const replicationFactor = int(env, SETTINGS.qdrantReplicationFactor, d.replicationFactor, 1, 64);
  const writeConsistencyFactor = int(env, SETTINGS.qdrantWriteConsistencyFactor, d.writeConsistencyFactor, 1, 64);
  // Qdrant would wait for acknowledgements from replicas that do not exist.
  if (writeConsistencyFactor > replicationFactor) {
    throw new ConfigError(
      SETTINGS.qdrantWriteConsistencyFactor,
      `must not exceed ${SETTINGS.qdrantReplicationFactor} (${replicationFactor}), or no write could be acknowledged; got ${writeConsistencyFactor}`,
    );
  }
  const quantization = env[SETTINGS.qdrantQuantization]?.trim().toLowerCase() || d.quantization;
  if (quantization !== 'none' && quantization !== 'int8') {
    throw new ConfigError(SETTINGS.qdrantQuantization, `must be none or int8, got "${quantization}"`);
  }
  return {
    shardNumber: int(env, SETTINGS.qdrantShards, d.shardNumber, 1, 1024),
    replicationFactor,
    writeConsistencyFactor,
    vectorsOnDisk: bool(env, SETTINGS.qdrantVectorsOnDisk, d.vectorsOnDisk),
    payloadOnDisk: bool(env, SETTINGS.qdrantPayloadOnDisk, d.payloadOnDisk),
    quantization,
    rescoreOversampling: int(env, SETTINGS.qdrantRescoreOversampling, d.rescoreOversampling, 1, 16),
    // m = 0 turns the HNSW graph off (exact search), as in Qdrant.
    hnswM: int(env, SETTINGS.qdrantHnswM, d.hnswM, 0, 256),
    hnswEfConstruct: int(env, SETTINGS.qdrantHnswEfConstruct, d.hnswEfConstruct, 4, 4096),
  };
}

function loadWatchSettings(env: NodeJS.ProcessEnv): SearchbusConfig['watches'] {
  const week = 7 * 24 * 3600 * 1000;
  return {
    feedRetentionMs: int(env, SETTINGS.feedRetentionMs, week, 60_000, Number.MAX_SAFE_INTEGER),
    dedupeTtlMs: int(env, SETTINGS.watchDedupeTtlMs, week, 1_000, Number.MAX_SAFE_INTEGER),
    maxMatchesPerDocument: int(env, SETTINGS.watchMaxMatchesPerDocument, 100, 1, 100_000),
  };
}

function imageLabelSettings(env: NodeJS.ProcessEnv): SearchbusConfig['media']['labels'] {
  return {
    max: int(env, SETTINGS.imageLabelsMax, DEFAULT_IMAGE_LABELS.max, 0, 10),
    minPercent: int(env, SETTINGS.imageLabelsMinPercent, DEFAULT_IMAGE_LABELS.minPercent, 1, 100),
  };
}

function bool(env: NodeJS.ProcessEnv, setting: string, fallback: boolean): boolean {
  const raw = env[setting]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(setting, `must be true or false, got "${raw}"`);
}

/** A whole number in range, or null when the setting is unset or empty. */
function optionalInt(env: NodeJS.ProcessEnv, setting: string, min: number, max: number): number | null {
  const raw = env[setting]?.trim();
  return raw === undefined || raw === '' ? null : int(env, setting, min, min, max);
}

export type GatewayAuthMode = 'api-keys' | 'jwt';

export interface GatewayConfig {
  port: number;
  /** 127.0.0.1 by default; 0.0.0.0 in a container. */
  host: string;
  /**
   * Empty: no authentication, the `tenant` parameter is trusted (only allowed on a loopback host
   * unless SEARCHBUS_GATEWAY_AUTH=none is set explicitly). Otherwise the credential kinds accepted.
   */
  auth: readonly GatewayAuthMode[];
  /** Set when SEARCHBUS_GATEWAY_AUTH=none was given although the host is not a loopback address. */
  unauthenticatedOnPublicHost: boolean;
  keysFile: string | null;
  jwt: GatewayJwtConfig | null;
  /** Default per-credential token bucket; 0 turns rate limiting off. */
  ratePerSecond: number;
  rateBurst: number;
  maxBodyBytes: number;
  maxUrlBytes: number;
  /** Absolute folders under which `POST /admin/eval-sets` may read a BEIR folder by path; empty: none. */
  evalSetDirs: readonly string[];
  /** Body limit of an uploaded eval set (queries and qrels), instead of maxBodyBytes. */
  maxEvalSetBytes: number;
}

export interface GatewayJwtConfig {
  /** Exactly one of secret, jwksUrl, jwksFile. */
  secret: string | null;
  jwksUrl: string | null;
  jwksFile: string | null;
  issuer: string | null;
  audience: string | null;
  tenantClaim: string;
}

const AUTH_MODES: readonly GatewayAuthMode[] = ['api-keys', 'jwt'];
/** HS256 needs a key at least as long as its hash (RFC 7518 3.2). */
const MIN_JWT_SECRET_BYTES = 32;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function loadGatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const host = env[SETTINGS.gatewayHost]?.trim() || '127.0.0.1';
  const rawAuth = env[SETTINGS.gatewayAuth]?.trim().toLowerCase() ?? '';
  let auth: GatewayAuthMode[];
  if (rawAuth === '' || rawAuth === 'none') {
    // An open gateway on a reachable address hands every tenant's documents to anyone who asks.
    if (rawAuth === '' && !isLoopbackHost(host)) {
      throw new ConfigError(
        SETTINGS.gatewayAuth,
        `the gateway listens on ${host} (${SETTINGS.gatewayHost}) and would trust any caller's tenant; set it to api-keys or jwt, or to none if something in front of the gateway authenticates callers`,
      );
    }
    auth = [];
  } else {
    auth = [];
    for (const part of rawAuth.split(',').map((p) => p.trim())) {
      if (!(AUTH_MODES as readonly string[]).includes(part)) {
        throw new ConfigError(SETTINGS.gatewayAuth, `must be none, api-keys, jwt or api-keys,jwt, got "${rawAuth}"`);
      }
      if (!auth.includes(part as GatewayAuthMode)) auth.push(part as GatewayAuthMode);
    }
  }
  const keysFile = env[SETTINGS.gatewayKeysFile]?.trim() || null;
  if (auth.includes('api-keys') && keysFile === null) {
    throw new ConfigError(
      SETTINGS.gatewayKeysFile,
      `must name the API keys file when ${SETTINGS.gatewayAuth} includes api-keys (create one with \`searchbus gateway key add\`)`,
    );
  }
  const ratePerSecond = int(env, SETTINGS.gatewayRatePerSecond, 20, 0, 1_000_000);
  return {
    port: int(env, SETTINGS.gatewayPort, 8080, 0, 65535),
    host,
    auth,
    unauthenticatedOnPublicHost: auth.length === 0 && !isLoopbackHost(host),
    keysFile,
    jwt: auth.includes('jwt') ? loadJwtConfig(env) : null,
    ratePerSecond,
    rateBurst: int(env, SETTINGS.gatewayRateBurst, Math.max(1, ratePerSecond * 2), 1, 1_000_000),
    maxBodyBytes: int(env, SETTINGS.gatewayMaxBodyBytes, 64 * 1024, 256, 16 * 1024 * 1024),
    // Node refuses request heads above 16 KiB on its own (answered 431).
    maxUrlBytes: int(env, SETTINGS.gatewayMaxUrlBytes, 8 * 1024, 256, 15 * 1024),
    evalSetDirs: absoluteDirs(env, SETTINGS.gatewayEvalSetDirs),
    maxEvalSetBytes: int(env, SETTINGS.gatewayMaxEvalSetBytes, 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  };
}

/** A comma-separated list of absolute paths (none when unset). */
function absoluteDirs(env: NodeJS.ProcessEnv, setting: string): string[] {
  const parts = (env[setting] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const relative = parts.find((p) => !isAbsolute(p));
  if (relative !== undefined) throw new ConfigError(setting, `must list absolute folders, separated by commas; "${relative}" is relative`);
  return parts;
}

function loadJwtConfig(env: NodeJS.ProcessEnv): GatewayJwtConfig {
  const get = (setting: string): string | null => env[setting]?.trim() || null;
  const secret = env[SETTINGS.gatewayJwtSecret] || null;
  const jwksUrl = get(SETTINGS.gatewayJwtJwksUrl);
  const jwksFile = get(SETTINGS.gatewayJwtJwksFile);
  const given = [secret, jwksUrl, jwksFile].filter((v) => v !== null).length;
  if (given !== 1) {
    throw new ConfigError(
      SETTINGS.gatewayJwtSecret,
      `${SETTINGS.gatewayAuth} includes jwt: set exactly one of ${SETTINGS.gatewayJwtSecret}, ${SETTINGS.gatewayJwtJwksUrl} or ${SETTINGS.gatewayJwtJwksFile} (${given} set)`,
    );
  }
  if (secret !== null && Buffer.byteLength(secret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(
      SETTINGS.gatewayJwtSecret,
      `must be at least ${MIN_JWT_SECRET_BYTES} bytes for HS256, got ${Buffer.byteLength(secret, 'utf8')}`,
    );
  }
  if (jwksUrl !== null) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError(SETTINGS.gatewayJwtJwksUrl, `is not a URL: "${jwksUrl}"`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new ConfigError(SETTINGS.gatewayJwtJwksUrl, `must be https:// (http:// only on a loopback host), got "${jwksUrl}"`);
    }
  }
  const issuer = get(SETTINGS.gatewayJwtIssuer);
  const audience = get(SETTINGS.gatewayJwtAudience);
  // An identity provider's keys sign tokens for every application it serves; without an audience
  // check, a token minted for any of them would open this gateway.
  if (secret === null && (issuer === null || audience === null)) {
    throw new ConfigError(
      issuer === null ? SETTINGS.gatewayJwtIssuer : SETTINGS.gatewayJwtAudience,
      'is required when tokens are verified against a JWKS (tokens the provider issues for other applications must not be accepted)',
    );
  }
  const tenantClaim = get(SETTINGS.gatewayJwtTenantClaim) ?? 'tenant';
  return { secret, jwksUrl, jwksFile, issuer, audience, tenantClaim };
}

/**
 * A comma-separated list of absolute directories. Unset: the user's home and the temp directory
 * (where `searchbus ingest <folder>` users keep media, and nothing a role's secrets live in); empty:
 * none, so file:// media are refused.
 */
function fileRoots(env: NodeJS.ProcessEnv, setting: string): readonly string[] {
  const raw = env[setting];
  if (raw === undefined) return [homedir(), tmpdir()];
  const roots = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const root of roots) if (!isAbsolute(root)) throw new ConfigError(setting, `must list absolute directories, got "${root}"`);
  return roots;
}

/** A comma-separated list of `*`, `*.domain` or host names (lowercased, as URL hostnames are). Unset: `*`. */
function urlHosts(env: NodeJS.ProcessEnv, setting: string): readonly string[] {
  const raw = env[setting];
  if (raw === undefined) return DEFAULT_MEDIA_URL_HOSTS;
  const hosts = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const host of hosts) {
    if (!/^(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/.test(host))
      throw new ConfigError(setting, `must list host names, *.domain or *, got "${host}"`);
  }
  return hosts;
}

/** A comma-separated list of IP addresses or CIDR ranges. */
function networks(env: NodeJS.ProcessEnv, setting: string): readonly string[] {
  const list = (env[setting] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const network of list)
    if (!ipaddr.isValid(network) && !ipaddr.isValidCIDR(network))
      throw new ConfigError(setting, `must list IP addresses or CIDR ranges, got "${network}"`);
  return list;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, setting: string, allowed: readonly T[], fallback: T): T {
  const raw = env[setting]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(setting, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function int(env: NodeJS.ProcessEnv, setting: string, fallback: number, min: number, max: number): number {
  const raw = env[setting]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(setting, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(setting, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A number in [0, 1]. */
function fraction(env: NodeJS.ProcessEnv, setting: string, fallback: number): number {
  const raw = env[setting]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(raw) || !(value >= 0 && value <= 1))
    throw new ConfigError(setting, `must be a number from 0 to 1, got "${raw}"`);
  return value;
}

function otlpEndpoint(env: NodeJS.ProcessEnv): string | null {
  const raw = env[SETTINGS.otlpEndpoint]?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(SETTINGS.otlpEndpoint, `must be an http(s) URL such as http://collector:4318, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(SETTINGS.otlpEndpoint, `must be an http(s) URL, got "${raw}"`);
  return raw;
}

function querySettings(env: NodeJS.ProcessEnv, aliasCacheTtlMs: number): SearchbusConfig['query'] {
  return {
    maxTopK: int(env, SETTINGS.maxTopK, 100, 1, 1000),
    defaultTimeoutMs: int(env, SETTINGS.queryTimeoutMs, 5_000, 10, 600_000),
    hedgeAfterMs: int(env, SETTINGS.queryHedgeAfterMs, 1_000, 0, 600_000),
    maxBatchSize: int(env, SETTINGS.queryMaxBatchSize, 32, 1, 1024),
    maxWaitMs: int(env, SETTINGS.queryMaxWaitMs, 20, 0, 10_000),
    // Kafka's own bounds for a group session (group.min/max.session.timeout.ms may narrow them).
    sessionTimeoutMs: int(env, SETTINGS.querySessionTimeoutMs, 10_000, 1_000, 1_800_000),
    oversampling: int(env, SETTINGS.queryOversampling, 3, 1, 100),
    aliasCacheTtlMs,
    positionPollMs: int(env, SETTINGS.queryPositionPollMs, 20, 1, 10_000),
    fusion: queryFusion(env),
    rrfK: int(env, SETTINGS.queryRrfK, DEFAULT_RRF_K, 1, 1000),
    sparseWeight: fraction(env, SETTINGS.querySparseWeight, DEFAULT_SPARSE_WEIGHT),
    codeDenseWeight: fraction(env, SETTINGS.queryCodeDenseWeight, DEFAULT_CODE_DENSE_WEIGHT),
  };
}
