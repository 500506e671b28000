// Watch matcher.
// Input: the index change feed (`<namespace>.indexed`, feed events keyed `<tenant>/<id>`).
// Output: one event per (watch, document version) that matched, on `<namespace>.matches`, keyed by
// watch id. Each batch: the documents' vectors read from Qdrant, one batch of reverse searches
// against the watch collection of the model behind the alias, each candidate's own threshold and
// filter, repeats dropped (MatchDedupe), the events sent and acknowledged, remembered, and only then
// the offsets committed. A feed event off the contract is dead-lettered.
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import {
  decodeIndexedEvent,
  UnavailableError,
  type IndexedEventV1,
  type LifecycleState,
  type MatchEventV1,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';
import {
  BatchConsumer,
  CollectionResolver,
  MetricsRegistry,
  silentLogger,
  type Logger,
  type ResolvedCollection,
} from '../runtime/index.ts';
import type { MediaEncoder } from '../embedding/index.ts';
import { embedWatch } from './embed-watch.ts';
import { MatchDedupe } from './match-dedupe.ts';
import {
  matchIndexed,
  type DocumentPoint,
  type MatchCollections,
  type MatchDependencies,
  type WatchCandidate,
  type WatchQuery,
} from './match-documents.ts';
import { WatchStore, type WatchPayload } from './watch-store.ts';

export interface WatchMatcherOptions {
  kafka: Kafka;
  qdrant: QdrantClient;
  redis: Redis;
  topology: Topology;
  config: SearchbusConfig;
  /** Embeds texts as queries with a model (to re-embed watches after a swap to another model). */
  embedQueries: (modelId: string) => Promise<(texts: string[]) => Promise<Float32Array[]>>;
  media?: Pick<MediaEncoder, 'embed'>;
  /**
   * Default false: a new matcher group (no committed offsets) starts at the feed records of the time
   * the oldest watch was added (see placeNewGroup); true starts it at the earliest record in retention.
   */
  fromBeginning?: boolean;
  /** Default: the namespace's matcher group; a benchmark replays the feed in a group of its own. */
  groupId?: string;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** How far a watch's clock (its `createdAt`) and an encoder's (the feed record's time) may disagree. */
const FEED_CLOCK_SKEW_MS = 5_000;

export class WatchMatcher {
  private readonly runtime: BatchConsumer<IndexedEventV1>;
  readonly metrics: MetricsRegistry;
  private readonly store: WatchStore;
  private readonly resolver: CollectionResolver;
  /** Per documents' collection: its watch collection, synced once per process. */
  private readonly synced = new Map<string, Promise<MatchCollections>>();

  constructor(private readonly options: WatchMatcherOptions) {
    const { topology, config, qdrant } = options;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.store = new WatchStore(qdrant, topology);
    this.resolver = new CollectionResolver(qdrant, topology.qdrant.alias, config.query.aliasCacheTtlMs);
    const dedupe = new MatchDedupe(options.redis, topology, config.watches.dedupeTtlMs);
    const matched = this.metrics.counter('searchbus_watch_matches_total', 'Match events published', []);
    const deps: MatchDependencies = {
      collections: () => this.collections(),
      readDocument: (collection, ids) => readDocument(qdrant, collection, ids),
      searchWatches: (collection, queries) => searchWatches(qdrant, collection, queries),
      maxMatchesPerDocument: config.watches.maxMatchesPerDocument,
      now: () => new Date(),
    };
    this.runtime = new BatchConsumer<IndexedEventV1>({
      kafka: options.kafka,
      groupId: options.groupId ?? topology.groups.watchMatcher,
      topic: topology.topics.indexed,
      fromBeginning: options.fromBeginning ?? false,
      decode: (message) => decodeIndexedEvent(message.value),
      handle: async (batch) => {
        const matches = await dedupe.unseen(
          await matchIndexed(
            batch.map((b) => b.value),
            deps,
          ),
        );
        await this.runtime.send(topology.topics.matches, matches.map(toRecord));
        await dedupe.remember(matches);
        matched.inc({}, matches.length);
      },
      deadLetterTopic: topology.topics.deadLetter,
      maxBatchSize: config.encoder.maxBatchSize,
      maxWaitMs: config.encoder.maxWaitMs,
      maxRetryDelayMs: config.encoder.maxRetryDelayMs,
      startTimeoutMs: config.startTimeoutMs,
      logger: options.logger ?? silentLogger,
      metrics: this.metrics,
      role: 'watch-matcher',
    });
  }

  /** The collection behind the alias and its model's watch collection, synced (watches of other models embedded again) on first use. */
  private async collections(): Promise<MatchCollections> {
    let resolved: ResolvedCollection;
    try {
      resolved = await this.resolver.resolve();
    } catch (error) {
      throw new UnavailableError('collection-unresolved', `no collection behind ${this.options.topology.qdrant.alias}`, { cause: error });
    }
    let pending = this.synced.get(resolved.collection);
    if (!pending) {
      pending = this.sync(resolved).catch((error: unknown) => {
        this.synced.delete(resolved.collection);
        throw error;
      });
      this.synced.set(resolved.collection, pending);
    }
    return pending;
  }

  private async sync(resolved: ResolvedCollection): Promise<MatchCollections> {
    const { modelId, layout } = resolved;
    const embedQueries = await this.options.embedQueries(modelId);
    const media = this.options.media;
    const added = await this.store.sync(modelId, layout, (watch) =>
      embedWatch(watch.query, layout, { embedQueries, ...(media ? { media } : {}) }),
    );
    if (added > 0)
      (this.options.logger ?? silentLogger).info('embedded watches again with the model behind the alias', { model: modelId, added });
    const vectorNames = [layout.dense || 'text', ...Object.values(layout.media ?? {}).map((m) => m.name)];
    return { documents: resolved.collection, watches: this.store.collectionOf(modelId), vectorNames };
  }

  get state(): LifecycleState {
    return this.runtime.state;
  }

  get stalled(): boolean {
    return this.runtime.stalled;
  }

  async start(): Promise<void> {
    if (!this.options.fromBeginning) await this.placeNewGroup();
    return this.runtime.start();
  }

  /**
   * A standing query promises every document indexed after it was added, whether or not a matcher
   * ran then (the first `searchbus up`, a matcher group deleted, a new namespace's backlog). So a
   * group with no committed offsets starts at the feed records of the time the oldest watch was
   * added (less FEED_CLOCK_SKEW_MS, as the watch's time and the record's come from different
   * hosts' clocks), not at the end of the feed; documents indexed before every watch match nothing,
   * as a week of retention replayed against a new watch would flood it. With no watch yet it starts at the end: nothing
   * could match what came before. A group that has committed offsets goes on from them.
   */
  private async placeNewGroup(): Promise<void> {
    const { kafka, topology } = this.options;
    const groupId = this.options.groupId ?? topology.groups.watchMatcher;
    const topic = topology.topics.indexed;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      if ((committed?.partitions ?? []).some((p) => Number(p.offset) >= 0)) return;
      const oldest = await this.oldestWatchMs();
      if (oldest === null) return;
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, oldest - FEED_CLOCK_SKEW_MS);
      await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) });
      (this.options.logger ?? silentLogger).info('a new matcher group starts at the time of the oldest watch', {
        groupId,
        since: new Date(oldest).toISOString(),
      });
    } catch (error) {
      // Another replica of the group joined first and placed it: go on from where it is.
      if ((error as { type?: unknown }).type !== 'UNKNOWN_MEMBER_ID' && !/running instances/i.test((error as Error).message)) throw error;
    } finally {
      await admin.disconnect();
    }
  }

  /** When the oldest watch of any model's collection was added; null when there is none. */
  private async oldestWatchMs(): Promise<number | null> {
    let oldest: number | null = null;
    for (const collection of await this.store.collections())
      for (const watch of await this.store.list(collection)) {
        const at = Date.parse(watch.createdAt);
        if (oldest === null || at < oldest) oldest = at;
      }
    return oldest;
  }

  /** Idempotent (see BatchConsumer.close). */
  close(): Promise<void> {
    return this.runtime.close();
  }
}

function toRecord(match: MatchEventV1): { key: string; value: string } {
  return { key: match.watchId, value: JSON.stringify(match) };
}

async function readDocument(qdrant: QdrantClient, collection: string, ids: string[]): Promise<DocumentPoint[]> {
  const points = await qdrant.retrieve(collection, { ids, with_payload: ['metadata', 'title'], with_vector: true });
  return points.map((p) => {
    const vectors: Record<string, number[]> = {};
    const raw = p.vector;
    if (raw && !Array.isArray(raw))
      for (const [name, v] of Object.entries(raw)) if (Array.isArray(v) && typeof v[0] === 'number') vectors[name] = v as number[];
    if (Array.isArray(raw) && typeof raw[0] === 'number') vectors.text = raw as number[];
    const payload = p.payload as { metadata?: Record<string, unknown>; title?: unknown } | null;
    return { vectors, metadata: payload?.metadata ?? {}, ...(typeof payload?.title === 'string' ? { title: payload.title } : {}) };
  });
}

async function searchWatches(qdrant: QdrantClient, collection: string, queries: WatchQuery[]): Promise<WatchCandidate[][]> {
  const results = await qdrant.queryBatch(collection, {
    searches: queries.map((q) => ({
      query: q.vector,
      using: q.using,
      filter: { must: [{ key: 'tenant', match: { value: q.tenant } }] },
      limit: q.limit,
      with_payload: ['watch_id', 'threshold', 'filter'],
    })),
  });
  return results.map((r) =>
    r.points.map((p) => {
      const payload = p.payload as unknown as Pick<WatchPayload, 'watch_id' | 'threshold' | 'filter'>;
      return { watchId: payload.watch_id, score: p.score, threshold: payload.threshold, filter: payload.filter };
    }),
  );
}
