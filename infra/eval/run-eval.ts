import type { QdrantClient } from '@qdrant/js-client-rest';
import { setTimeout as delay } from 'node:timers/promises';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { encoderCache } from '../models/index.ts';
import { QueryConsumer, queryEncoder } from '../../consumers/query/index.ts';
import { groupPosition, jsonLogger, MetricsRegistry } from '../../consumers/runtime/index.ts';
import { createKafka, createRedis, type ServiceEndpoints } from '../index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import { writeFile } from 'node:fs/promises';
import { RANKING_DEPTH, percentile, scoreRankings, type RunScores } from '../../consumers/quality/index.ts';
import {
  applyTopology,
  DEFAULT_TENANT,
  parseCollectionName,
  RejectedError,
  type SearchbusConfig,
  type SearchMode,
  type Topology,
} from '../../topology/index.ts';
import { IngestProducer, openDocumentSource, type DocumentInput } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { judgementsOf, loadBeirSplit, type BeirSplit } from './beir-dataset.ts';

export interface EvalOptions {
  dir: string;
  split: string;
  services: Pick<ServiceEndpoints, 'kafka' | 'redis' | 'qdrant'>;
  config: SearchbusConfig;
  topology: Topology;
  /** Searches in flight at once. */
  concurrency: number;
  timeoutMs: number;
  /** dense, sparse or hybrid; default: the collection's (hybrid where it has sparse vectors). */
  mode?: SearchMode;
  /** Writes each query's nDCG@10, recall@100 and RR@10 here (JSON), for paired comparisons between runs. */
  perQueryFile?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Refuse to score a collection built with another model (an existing namespace keeps its model). */
  expectModel?: string;
}

export interface EvalReport {
  ndcg_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
  queries: number;
  latency_ms: { p50: number; p95: number; p99: number };
  /** Not part of the --json contract; printed in the human summary. */
  details: {
    collection: string;
    model: string;
    reusedIndex: boolean;
    documents: number;
    indexSeconds: number;
    /** Documents per second through ingest topic, encoder and Qdrant (those indexed by this run); null when the index was reused. */
    ingestDocsPerSecond: number | null;
    /** Documents the collection already held when this run started indexing (an earlier, interrupted run's). */
    resumedAt: number;
    /** The mode the queries ran in, as the query consumer reported it. */
    mode: SearchMode | null;
    searchSeconds: number;
    failedQueries: number;
    /** Per-query scores, for comparing two runs query by query. */
    scores: RunScores;
  };
}

const STALL_TIMEOUT_MS = 5 * 60_000;

/**
 * The full pipeline on a BEIR folder: the corpus goes through the ingest topic and an encoder
 * consumer into the collection behind the alias (skipped when it already holds every document),
 * then every query of the split goes through the request topic, a query consumer and a Redis
 * reply. Encoder and query consumers run in this process, in the topology given.
 */
export async function runEval(options: EvalOptions): Promise<EvalReport> {
  const { config, topology, services, log } = options;
  const split = await loadBeirSplit(options.dir, options.split);
  const documents = await readCorpus(options.dir, log);
  const kafka = createKafka(services.kafka, 'searchbus-eval');
  const qdrant = createQdrant(services.qdrant);
  const { collection, modelId } = await servingCollection(options, kafka, qdrant);
  const encoders = encoderCache(config, log);
  const redis = createRedis(services.redis, 'searchbus-eval-replies');
  const subscriber = createRedis(services.redis, 'searchbus-eval-client');
  let queryConsumer: QueryConsumer | undefined;
  let client: SearchClient | undefined;
  try {
    const indexStarted = performance.now();
    const wanted = new Set(documents.map((d) => d.id));
    const present = await indexedDocuments(qdrant, collection, DEFAULT_TENANT);
    const resumedAt = [...wanted].filter((id) => present.has(id)).length;
    const reusedIndex = resumedAt === wanted.size;
    if (reusedIndex) {
      log(`${collection} already holds all ${wanted.size} documents: reusing it`);
    } else {
      log(`${collection} holds ${resumedAt} of ${wanted.size} documents: ingesting the rest`);
      await ingestAndWait({ ...options, documents, wanted, collection, qdrant, kafka, encoder: await encoders.get(modelId) });
    }
    const indexSeconds = (performance.now() - indexStarted) / 1000;

    queryConsumer = new QueryConsumer({
      kafka,
      qdrant,
      redis,
      topology,
      config,
      encoder: async (id) => queryEncoder(await encoders.get(id)),
      logger: jsonLogger('query'),
      metrics: new MetricsRegistry(),
    });
    await queryConsumer.start();
    // No hedging: the evaluation's own query consumer answers every partition, so a slow reply here
    // is queueing behind its batch, which a second copy of the search would only lengthen.
    client = new SearchClient({ kafka, redis: subscriber, topology, defaultTimeoutMs: options.timeoutMs, hedgeAfterMs: 0 });
    await client.connect();

    log(`Searching ${split.queries.length} queries of split "${split.split}" (${options.concurrency} at a time)…`);
    const searched = await searchAll(client, split, options);
    const { mode } = searched;
    const scores = scoreRankings(split.queries, (id) => judgementsOf(split, id), searched.rankings);
    if (options.perQueryFile)
      await writeFile(options.perQueryFile, `${JSON.stringify({ collection, model: modelId, mode, queries: scores.perQuery })}\n`);
    const { latencies } = searched;
    return {
      ndcg_at_10: scores.ndcg_at_10,
      recall_at_100: scores.recall_at_100,
      mrr_at_10: scores.mrr_at_10,
      queries: split.queries.length,
      latency_ms: {
        p50: round(percentile(latencies, 50), 1),
        p95: round(percentile(latencies, 95), 1),
        p99: round(percentile(latencies, 99), 1),
      },
      details: {
        collection,
        model: modelId,
        reusedIndex,
        documents: wanted.size,
        indexSeconds,
        ingestDocsPerSecond: reusedIndex ? null : round((wanted.size - resumedAt) / indexSeconds, 1),
        resumedAt,
        mode,
        searchSeconds: searched.seconds,
        failedQueries: searched.failedQueries,
        scores,
      },
    };
  } finally {
    if (client) await client.close().catch(() => undefined);
    else subscriber.disconnect();
    await queryConsumer?.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    await encoders.close().catch(() => undefined);
  }
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/** The corpus's documents; lines the ingest schema rejects are counted and left out. */
async function readCorpus(dir: string, log: (line: string) => void): Promise<DocumentInput[]> {
  const documents: DocumentInput[] = [];
  let rejected = 0;
  for await (const record of openDocumentSource(dir).records()) {
    if ('document' in record) documents.push(record.document);
    else rejected += 1;
  }
  if (rejected > 0) log(`${rejected} corpus lines were rejected by the ingest schema and are not indexed`);
  return documents;
}

/** Applies the topology, then names the collection behind the alias and the model it was built with. */
async function servingCollection(
  options: EvalOptions,
  kafka: ReturnType<typeof createKafka>,
  qdrant: QdrantClient,
): Promise<{ collection: string; modelId: string }> {
  const { config, topology, log } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const report = await applyTopology({ admin, qdrant, topology, config });
    for (const action of report.actions) log(`topology: ${action}`);
    for (const drift of report.drift) log(`topology drift: ${drift}`);
  } finally {
    await admin.disconnect();
  }
  const { aliases } = await qdrant.getAliases();
  const collection = aliases.find((a) => a.alias_name === topology.qdrant.alias)?.collection_name;
  if (!collection) throw new Error(`alias ${topology.qdrant.alias} points at no collection after applying the topology`);
  const modelId = parseCollectionName(collection)?.modelId ?? config.model.id;
  if (options.expectModel !== undefined && modelId !== options.expectModel) {
    // The namespace's collection was built with another model than the run asked for.
    throw new RejectedError(
      'eval-model-mismatch',
      `namespace ${topology.namespace} serves ${collection}, built with ${modelId}, not ${options.expectModel}: give another --namespace, or rebuild it with \`searchbus reindex --model ${options.expectModel}\` in that namespace`,
    );
  }
  return { collection, modelId };
}

interface SearchedQueries {
  rankings: Map<string, string[]>;
  latencies: number[];
  failedQueries: number;
  /** The mode the queries ran in, as the query consumer reported it. */
  mode: SearchMode | null;
  seconds: number;
}

/** Every query of the split through the search client, `options.concurrency` at a time; a failed query ranks nothing. */
async function searchAll(searcher: SearchClient, split: BeirSplit, options: EvalOptions): Promise<SearchedQueries> {
  const started = performance.now();
  const rankings = new Map<string, string[]>();
  const latencies: number[] = [];
  let failedQueries = 0;
  let mode: SearchMode | null = null;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < split.queries.length) {
      options.signal?.throwIfAborted();
      const query = split.queries[next++]!;
      const queryStarted = performance.now();
      try {
        const result = await searcher.search({ text: query.text, topK: RANKING_DEPTH, ...(options.mode ? { mode: options.mode } : {}) });
        latencies.push(performance.now() - queryStarted);
        mode ??= result.mode ?? null;
        rankings.set(
          query.id,
          result.hits.map((h) => h.docId),
        );
      } catch (error) {
        failedQueries += 1;
        options.log(`query ${query.id} failed: ${(error as Error).message}`);
        rankings.set(query.id, []);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return { rankings, latencies, failedQueries, mode, seconds: (performance.now() - started) / 1000 };
}

async function ingestAndWait(
  options: EvalOptions & {
    documents: DocumentInput[];
    wanted: Set<string>;
    collection: string;
    qdrant: QdrantClient;
    kafka: ReturnType<typeof createKafka>;
    encoder: OnnxEncoder;
  },
): Promise<void> {
  const { topology, config, log, qdrant, collection, wanted } = options;
  const consumer = new EncoderConsumer({
    kafka: options.kafka,
    qdrant,
    topology,
    config,
    encoder: () => Promise.resolve(documentEncoder(options.encoder)),
    logger: jsonLogger('encoder'),
  });
  await consumer.start();
  try {
    // An interrupted run leaves records its encoder never reached: encode those first, then publish
    // only what is still missing, so a resumed run does not encode the corpus twice.
    await drainBacklog({ ...options, consumer });
    const present = await indexedDocuments(qdrant, collection, DEFAULT_TENANT);
    const missing = options.documents.filter((d) => !present.has(d.id));
    if (missing.length > 0) {
      const producer = new IngestProducer({ kafka: options.kafka, topic: topology.topics.ingest });
      try {
        await producer.upsert(missing);
      } finally {
        await producer.close();
      }
    }
    log(
      `Published ${missing.length} documents to ${topology.topics.ingest} (${options.documents.length - missing.length} already indexed); encoding…`,
    );
    let last = -1;
    let lastProgressAt = Date.now();
    const started = performance.now();
    for (;;) {
      options.signal?.throwIfAborted();
      if (consumer.state === 'failed') throw new Error('the encoder consumer crashed while indexing the corpus');
      const { count } = await qdrant.count(collection, { exact: true, filter: firstChunks(DEFAULT_TENANT) });
      if (count !== last) {
        last = count;
        lastProgressAt = Date.now();
        const rate = (count - present.size) / Math.max(1, (performance.now() - started) / 1000);
        log(`indexed ${count}/${wanted.size} documents (${rate.toFixed(1)} docs/s)`);
      }
      if (count >= wanted.size) {
        const present = await indexedDocuments(qdrant, collection, DEFAULT_TENANT);
        const missing = [...wanted].filter((id) => !present.has(id));
        if (missing.length === 0) return;
      }
      if (Date.now() - lastProgressAt > STALL_TIMEOUT_MS)
        throw new Error(`indexing made no progress for ${STALL_TIMEOUT_MS / 1000} s (at ${count}/${wanted.size})`);
      await delay(1_000);
    }
  } finally {
    await consumer.close();
  }
}

/** Waits until the encoder group has consumed every record already on the ingest topic (none on a fresh namespace). */
async function drainBacklog(
  options: EvalOptions & { kafka: ReturnType<typeof createKafka>; qdrant: QdrantClient; collection: string; consumer: EncoderConsumer },
): Promise<void> {
  const { topology, log, qdrant, collection, consumer } = options;
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    let position = await groupPosition(admin, topology.groups.encoder, topology.topics.ingest);
    if (position.lag === 0) return;
    log(`resuming: ${position.lag} records on ${topology.topics.ingest} were not encoded yet; encoding them first`);
    let lastCount = -1;
    let lastProgressAt = Date.now();
    while (position.lag > 0) {
      options.signal?.throwIfAborted();
      if (consumer.state === 'failed') throw new Error('the encoder consumer crashed while indexing the corpus');
      const { count } = await qdrant.count(collection, { exact: true, filter: firstChunks(DEFAULT_TENANT) });
      if (count !== lastCount) {
        lastCount = count;
        lastProgressAt = Date.now();
        log(`indexed ${count} documents, ${position.lag} records to go`);
      }
      if (Date.now() - lastProgressAt > STALL_TIMEOUT_MS)
        throw new Error(`indexing made no progress for ${STALL_TIMEOUT_MS / 1000} s (${position.lag} records to go)`);
      await delay(1_000);
      position = await groupPosition(admin, topology.groups.encoder, topology.topics.ingest);
    }
  } finally {
    await admin.disconnect();
  }
}

function firstChunks(tenant: string): { must: Array<{ key: string; match: { value: string | number } }> } {
  return {
    must: [
      { key: 'chunk', match: { value: 0 } },
      { key: 'tenant', match: { value: tenant } },
    ],
  };
}

/** Ids of the documents of a tenant present in the collection (one first chunk each). */
async function indexedDocuments(qdrant: QdrantClient, collection: string, tenant: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let offset: string | number | undefined;
  for (;;) {
    const page = await qdrant.scroll(collection, {
      filter: firstChunks(tenant),
      limit: 1000,
      with_payload: ['doc_id'],
      with_vector: false,
      ...(offset !== undefined ? { offset } : {}),
    });
    for (const point of page.points) {
      const id = point.payload?.doc_id;
      if (typeof id === 'string') ids.add(id);
    }
    const nextOffset = page.next_page_offset;
    if (nextOffset === null || nextOffset === undefined || typeof nextOffset === 'object') return ids;
    offset = nextOffset;
  }
}
