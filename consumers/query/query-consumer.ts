// Query consumer.
// Input: the search request topic (key = request id, value = SearchRequestV1 JSON, header
// searchbus-reply-to = the Redis channel to answer on).
// Output: one reply per request, PUBLISHed on its Redis reply channel: hits, or an error code.
// Requests past their deadline are skipped and counted; undecodable ones get an `invalid-json`
// reply (via the header) and go to the dead-letter topic.
// Offsets commit per batch after every reply of the batch was published, in the background (the
// next fetch does not wait for the commit's answer). A crash, rebalance or close() before a commit
// landed re-runs its batch: a client may then get a second reply for a request, which it drops.
// Each request's trace context (envelope, else headers) parents a consumer span with the batch's
// embed, Qdrant and Redis steps (no-ops without an OpenTelemetry SDK).
// While a rebuild announces its target, a sample of answered requests is also searched there
// (shadow comparison, shadow-mirror.ts); those answers are compared and recorded, never published.
// A request with `after` (a position on the ingest topic) is answered only once the collection it
// searches holds everything up to that position (indexed-positions.ts): at once when the offsets
// last read cover it, else it waits beside the batch (the partition moves on and is committed) and
// is answered when covered, or `not-yet-indexed` just before its deadline. A crash loses such a
// waiting request (its offset is committed): the client times out, it never gets a silent miss.
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Redis } from 'ioredis';
import type { Context } from '@opentelemetry/api';
import type { Kafka, KafkaMessage } from 'kafkajs';
import {
  closeAll,
  decodePosition,
  decodeSearchRequest,
  contextFromHeaders,
  contextFromValues,
  HEADERS,
  isTraced,
  SEARCH_SCHEMA_VERSION,
  SpanKind,
  startAbortedError,
  StartDeadline,
  searchParams,
  topicSpecs,
  validReplyTo,
  type SearchbusConfig,
  type SearchErrorCode,
  type LifecycleState,
  type ReadPosition,
  type SearchReplyV1,
  type SearchRequestV1,
  type Topology,
} from '../../topology/index.ts';
import {
  BatchConsumer,
  CollectionResolver,
  describeCollection,
  GroupMemberRegistry,
  LazyAdmin,
  MetricsRegistry,
  RedisWriteFences,
  SECONDS_BUCKETS,
  silentLogger,
  BatchTrace,
  type Counter,
  type DeadLetter,
  type Decoded,
  type HandlerContext,
  type Histogram,
  type Logger,
  type ResolvedCollection,
} from '../runtime/index.ts';
import { IndexedPositions } from './indexed-positions.ts';
import { ShadowBoard } from '../quality/index.ts';
import {
  handleSearchBatch,
  type BatchReport,
  type ChunkQuery,
  type OutgoingReply,
  type QueryEncoder,
  type QueryMessage,
} from './handle-search-batch.ts';
import type { MediaEncoder } from '../embedding/index.ts';
import { ShadowMirror, type LiveAnswer } from './shadow-mirror.ts';
import { hybridFusion } from './qdrant-query.ts';
import type { ScoredChunk } from './collapse-hits.ts';

export interface QueryConsumerOptions {
  kafka: Kafka;
  qdrant: QdrantClient;
  /** A connection for PUBLISH; the consumer does not close it. */
  redis: Redis;
  topology: Topology;
  config: SearchbusConfig;
  /** The query encoder for a model id; called with the model of the collection behind the alias. */
  encoder: (modelId: string) => Promise<QueryEncoder>;
  /** Embeds queries by example (images, audio) with the collection's media models. */
  media?: MediaEncoder;
  groupId?: string;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** Most chunks one request may pull from Qdrant while looking for topK distinct documents. */
const MAX_CHUNKS_PER_QUERY = 1000;

/** The query consumer's own series (BatchConsumer registers the runtime's). */
interface QueryMetrics {
  replies: Counter<'outcome'>;
  expired: Counter;
  unreplyable: Counter;
  searchSeconds: Histogram;
  latency: Histogram<'outcome'>;
  after: Counter<'outcome'>;
}

/** A request waiting for the index stops waiting this long before its deadline, so its reply still arrives in time. */
const AFTER_REPLY_MARGIN_MS = 100;

interface RequestLimits {
  maxTopK: number;
  replyChannelPrefix: string;
  mediaInlineMaxBytes: number;
}

export class QueryConsumer {
  private readonly runtime: BatchConsumer<QueryMessage>;
  private readonly logger: Logger;
  private readonly closed = new AbortController();
  private closing: Promise<void> | undefined;
  readonly metrics: MetricsRegistry;
  readonly resolver: CollectionResolver;
  private readonly shadow: ShadowMirror;
  private readonly series: QueryMetrics;
  private readonly limits: RequestLimits;
  /** With int8 quantization every search asks Qdrant to rescore its candidates on the original vectors. */
  private readonly params: ReturnType<typeof searchParams>;
  /** How far the index is, for requests with `after`. */
  readonly positions: IndexedPositions;
  /** Requests with `after` waiting for the index. */
  private readonly waiting = new Set<Promise<void>>();
  /** Requests that waited for the index and are checked again (counted once, as `waited`). */
  private readonly rechecked = new WeakSet<Decoded<QueryMessage>>();
  /** Connected on the first request that is not covered at once. */
  private readonly admin: LazyAdmin;

  constructor(private readonly options: QueryConsumerOptions) {
    const { topology, config } = options;
    const logger = options.logger ?? silentLogger;
    this.logger = logger;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.admin = new LazyAdmin(options.kafka);
    this.resolver = new CollectionResolver(options.qdrant, topology.qdrant.alias, config.query.aliasCacheTtlMs);
    this.limits = {
      maxTopK: config.query.maxTopK,
      replyChannelPrefix: topology.redis.replyChannel(''),
      mediaInlineMaxBytes: config.media.inlineMaxBytes,
    };
    this.series = queryMetrics(this.metrics);
    this.shadow = this.shadowMirror();
    this.params = searchParams(config.qdrant);
    this.positions = new IndexedPositions({
      admin: () => this.admin.get(),
      fences: new RedisWriteFences(options.redis, topology),
      topology,
      pollMs: config.query.positionPollMs,
    });
    this.runtime = new BatchConsumer<QueryMessage>({
      kafka: options.kafka,
      groupId: options.groupId ?? topology.groups.query,
      topic: topology.topics.searchRequests,
      // A new group starts at the earliest retained request rather than "latest": resolving
      // "latest" happens after the group join, so a request sent right after start() could fall
      // before it and never be answered. Old requests cost little: they are expired and skipped.
      fromBeginning: true,
      decode: (message) => decodeQuery(message, this.limits),
      onPoison: (letter) => this.answerPoison(letter),
      handle: (batch, context) => this.handleBatch(batch, context),
      deadLetterTopic: topology.topics.deadLetter,
      maxBatchSize: config.query.maxBatchSize,
      // Every partition at once: a request must not wait for another partition's batch.
      partitionsConsumedConcurrently:
        topicSpecs(topology, config).find((t) => t.topic === topology.topics.searchRequests)?.numPartitions ?? 1,
      maxWaitMs: config.query.maxWaitMs,
      sessionTimeoutMs: config.query.sessionTimeoutMs,
      // A query process restarted after a crash answers at once, not after the dead member's session.
      members: new GroupMemberRegistry({
        redis: options.redis,
        key: topology.redis.groupMembers(options.groupId ?? topology.groups.query, config.instanceId),
      }),
      // The reply is out before the commit; waiting for the broker's answer would only hold the
      // next request back (test/bench/bus-overhead.ts). A batch whose commit is lost is answered
      // again, and the client drops the second reply.
      commitInBackground: true,
      maxRetryDelayMs: Math.min(config.encoder.maxRetryDelayMs, 1_000),
      startTimeoutMs: config.startTimeoutMs,
      logger,
      metrics: this.metrics,
      role: 'query',
    });
  }

  /** Compares a sample of answered requests against a rebuild's target while one is announced. */
  private shadowMirror(): ShadowMirror {
    const { options } = this;
    const { config } = options;
    const search = async (collection: string, queries: ChunkQuery[]): Promise<ScoredChunk[][]> => {
      const results = await options.qdrant.queryBatch(collection, { searches: queries });
      return results.map((r) => r.points);
    };
    return new ShadowMirror({
      board: new ShadowBoard(options.redis, options.topology),
      deps: {
        encoder: options.encoder,
        search,
        now: Date.now,
        oversampling: config.query.oversampling,
        maxChunksPerQuery: MAX_CHUNKS_PER_QUERY,
        fusion: hybridFusion(config.query),
        // Queries by example are mirrored too, embedded with the target's own media models.
        ...(options.media ? { media: options.media } : {}),
      },
      describe: (collection) => describeCollection(options.qdrant, collection),
      liveCollection: async () => (await this.resolver.resolve()).collection,
      refreshMs: Math.max(500, config.query.aliasCacheTtlMs),
      metrics: this.metrics,
      logger: this.logger,
    });
  }

  // `sentAt`: request id -> its record's timestamp, for the latency of each reply published.
  private async publish(outgoing: OutgoingReply[], sentAt?: ReadonlyMap<string, number>): Promise<void> {
    const pipeline = this.options.redis.pipeline();
    for (const { channel, reply } of outgoing) pipeline.publish(channel, JSON.stringify(reply));
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    // Redis errors are transient from here (connection loss); the runtime retries the batch.
    if (failed?.[0]) throw Object.assign(failed[0], { retriable: true });
    const published = Date.now();
    for (const { reply } of outgoing) {
      const at = sentAt?.get(reply.id);
      if (at !== undefined)
        this.series.latency.observe({ outcome: 'error' in reply ? reply.error.code : 'hits' }, Math.max(0, published - at) / 1000);
    }
  }

  // Undecodable bytes: answer on the header's channel so the sender is not left waiting, then
  // let the runtime dead-letter the record. A handler failure lands here too (`internal`).
  private async answerPoison(letter: DeadLetter): Promise<void> {
    const channel = headerReplyTo(letter.message, this.limits.replyChannelPrefix);
    if (channel === null) {
      this.series.unreplyable.inc();
      return;
    }
    const code: SearchErrorCode = letter.code === 'invalid-json' ? 'invalid-json' : 'internal';
    const reply: SearchReplyV1 = {
      schemaVersion: SEARCH_SCHEMA_VERSION,
      id: letter.message.key?.toString('utf8') ?? '',
      error: { code, message: letter.reason },
    };
    await this.publish([{ channel, reply }], new Map([[reply.id, Number(letter.message.timestamp)]]));
    this.series.replies.inc({ outcome: code });
  }

  private withSearchParams(queries: ChunkQuery[]): ChunkQuery[] {
    const { params } = this;
    return params ? queries.map((q) => ({ ...q, params })) : queries;
  }

  /**
   * The batch minus the requests with `after` that the index does not cover yet, which wait beside
   * it; and the collection they were checked against, which the batch then searches.
   */
  private async admitAfter(
    batch: Decoded<QueryMessage>[],
    context: HandlerContext,
  ): Promise<{ ready: Decoded<QueryMessage>[]; pinned?: ResolvedCollection }> {
    const now = Date.now();
    const after = (m: QueryMessage): m is { kind: 'search'; request: SearchRequestV1 & { after: string } } =>
      m.kind === 'search' && m.request.after !== undefined && m.request.deadline > now;
    if (!batch.some((b) => after(b.value))) return { ready: batch };
    let pinned: ResolvedCollection;
    try {
      pinned = await this.resolver.resolve();
    } catch {
      // No collection to check against: the search itself answers `unavailable`.
      return { ready: batch };
    }
    const ingest = this.options.topology.topics.ingest;
    const ready: Decoded<QueryMessage>[] = [];
    for (const item of batch) {
      const message = item.value;
      if (!after(message)) {
        ready.push(item);
        continue;
      }
      const { request } = message;
      const position = decodePosition(request.after); // checked when the request was decoded
      if (position.topic !== ingest) {
        const invalid = `after is a position on ${position.topic}; this index follows ${ingest}`;
        ready.push({
          ...item,
          value: { kind: 'invalid', id: request.id, replyTo: request.replyTo, code: 'invalid-position', message: invalid },
        });
      } else if (this.positions.known(position, pinned.collection)?.covered) {
        if (!this.rechecked.has(item)) this.series.after.inc({ outcome: 'covered' });
        ready.push(item);
      } else {
        this.park(item, position, pinned.collection, context);
      }
    }
    return { ready, pinned };
  }

  /** Answers `item` once `collection` holds `position`, or `not-yet-indexed` shortly before its deadline. */
  private park(item: Decoded<QueryMessage>, position: ReadPosition, collection: string, context: HandlerContext): void {
    if (item.value.kind !== 'search') return;
    const { request } = item.value;
    const waiting = (async () => {
      const until = request.deadline - AFTER_REPLY_MARGIN_MS;
      const coverage = await this.positions.waitFor(position, collection, until, this.closed.signal);
      if (coverage.covered) {
        this.series.after.inc({ outcome: 'waited' });
        this.rechecked.add(item);
        // Checked again against the collection behind the alias now: a swap meanwhile waits anew.
        await this.handleBatch([item], context);
        return;
      }
      this.series.after.inc({ outcome: 'not-yet-indexed' });
      const lag = Object.fromEntries([...coverage.lag].map(([partition, behind]) => [String(partition), Number(behind)]));
      const where = Object.entries(lag)
        .map(([partition, behind]) => `${behind} on partition ${partition}`)
        .join(', ');
      await this.publishError(
        item,
        'not-yet-indexed',
        `the index had not reached the position by the deadline (records to go: ${where})`,
        lag,
      );
    })()
      .catch(async (error: unknown) => {
        const closing = this.closed.signal.aborted;
        if (!closing) context.logger.warn('a search waiting for the index failed', { error, id: request.id });
        const message = closing ? 'the query consumer closed while the search waited for the index' : (error as Error).message;
        await this.publishError(item, 'unavailable', message).catch(() => undefined);
      })
      .finally(() => this.waiting.delete(waiting));
    this.waiting.add(waiting);
  }

  private async publishError(
    item: Decoded<QueryMessage>,
    code: SearchErrorCode,
    message: string,
    lag?: Record<string, number>,
  ): Promise<void> {
    if (item.value.kind !== 'search') return;
    const { id, replyTo } = item.value.request;
    const reply: SearchReplyV1 = { schemaVersion: SEARCH_SCHEMA_VERSION, id, error: { code, message, ...(lag ? { lag } : {}) } };
    await this.publish([{ channel: replyTo, reply }], new Map([[id, Number(item.message.timestamp)]]));
    this.series.replies.inc({ outcome: code });
  }

  private async handleBatch(all: Decoded<QueryMessage>[], context: HandlerContext): Promise<void> {
    const { options } = this;
    const { config } = options;
    const { ready: batch, pinned } = await this.admitAfter(all, context);
    if (batch.length === 0) return;
    const started = performance.now();
    const sentAt = new Map(batch.map((b) => [requestId(b.value), Number(b.message.timestamp)]));
    const spans = new BatchTrace('searchbus.query process', batch.map(traceOf), {
      'messaging.system': 'kafka',
      'messaging.destination.name': context.topic,
      'messaging.batch.message_count': batch.length,
    });
    const messages = batch.map((b) => b.value);
    const live = new Map<string, LiveAnswer>();
    let report;
    try {
      report = await handleSearchBatch(
        messages,
        {
          // Requests with `after` were checked against this collection: the batch searches it.
          resolver: pinned ? { resolve: () => Promise.resolve(pinned), invalidate: () => this.resolver.invalidate() } : this.resolver,
          encoder: async (modelId) => {
            const encoder = await options.encoder(modelId);
            return {
              modelId: encoder.modelId,
              embedQueries: (texts) =>
                spans.step('embed', () => encoder.embedQueries(texts), {
                  attributes: { 'searchbus.model': modelId, 'searchbus.texts': texts.length },
                }),
            };
          },
          search: (collection, queries: ChunkQuery[]) =>
            spans.step(
              'qdrant query',
              async () => (await options.qdrant.queryBatch(collection, { searches: this.withSearchParams(queries) })).map((r) => r.points),
              {
                kind: SpanKind.CLIENT,
                attributes: {
                  'db.system': 'qdrant',
                  'db.collection.name': collection,
                  'db.operation.name': 'query_batch',
                  'searchbus.queries': queries.length,
                },
              },
            ),
          publish: async (outgoing) => {
            await spans.step('redis publish', () => this.publish(outgoing, sentAt), {
              kind: SpanKind.CLIENT,
              attributes: { 'db.system': 'redis', 'db.operation.name': 'PUBLISH', 'searchbus.replies': outgoing.length },
            });
            for (const { reply } of outgoing) if ('hits' in reply) live.set(reply.id, { hits: reply.hits, ms: reply.tookMs });
          },
          now: Date.now,
          oversampling: config.query.oversampling,
          maxChunksPerQuery: MAX_CHUNKS_PER_QUERY,
          fusion: hybridFusion(config.query),
          ...(options.media ? { media: options.media } : {}),
        },
        context.signal,
      );
    } catch (error) {
      spans.end(error);
      throw error;
    }
    spans.setAttributes({ 'searchbus.answered': report.answered, 'searchbus.expired': report.expired });
    spans.end();
    this.series.searchSeconds.observe((performance.now() - started) / 1000);
    this.shadow.offer(
      messages.flatMap((m) => (m.kind === 'search' ? [m.request] : [])),
      live,
    );
    this.countReplies(report, context.logger);
  }

  private countReplies(report: BatchReport, logger: Logger): void {
    const { replies, expired, unreplyable } = this.series;
    if (report.answered > 0) replies.inc({ outcome: 'hits' }, report.answered);
    for (const [code, count] of Object.entries(report.errors)) replies.inc({ outcome: code }, count);
    if (report.expired > 0) expired.inc(report.expired);
    if (report.unreplyable > 0) unreplyable.inc(report.unreplyable);
    if (report.errors.internal || report.errors.unavailable) {
      logger.warn('search requests failed', { internal: report.errors.internal ?? 0, unavailable: report.errors.unavailable ?? 0 });
    }
  }

  get state(): LifecycleState {
    return this.runtime.state;
  }

  /** Loads the model of the collection behind the alias first, so the first request does not pay for it. */
  async start(): Promise<void> {
    const warmUp = new StartDeadline('the query consumer', this.options.config.startTimeoutMs, this.closed.signal);
    try {
      await warmUp.step('warm up the query encoder', async () => {
        const { modelId } = await this.resolver.resolve();
        await (await this.options.encoder(modelId)).embedQueries(['warm up']);
      });
    } catch (error) {
      // Not fatal: the alias may appear later; requests resolve it again.
      if (!this.closed.signal.aborted) this.logger.warn('could not warm up the query encoder', { error });
    }
    if (this.closed.signal.aborted) throw startAbortedError('the query consumer', 'warm up the query encoder');
    await this.runtime.start();
  }

  /** Stops fetching, finishes and commits the batch in hand, disconnects. Safe to call twice; returns promptly during start(). */
  close(): Promise<void> {
    this.closed.abort();
    this.closing ??= closeAll('the query consumer', [
      { name: 'close the consumer', run: () => this.runtime.close() },
      // Aborted above: each is answered `unavailable` now.
      { name: 'answer the searches waiting for the index', run: async () => void (await Promise.allSettled([...this.waiting])) },
      { name: 'abandon the shadow comparison in flight', run: () => this.shadow.close() },
      {
        name: 'disconnect the admin client',
        run: () => this.admin.disconnect(),
      },
    ]);
    return this.closing;
  }
}

function queryMetrics(metrics: MetricsRegistry): QueryMetrics {
  return {
    replies: metrics.counter('searchbus_search_replies_total', 'Search replies published, by outcome', ['outcome']),
    expired: metrics.counter('searchbus_search_expired_total', 'Search requests skipped because their deadline had passed'),
    unreplyable: metrics.counter('searchbus_search_unreplyable_total', 'Bad search requests without a usable reply channel'),
    searchSeconds: metrics.histogram('searchbus_search_batch_seconds', 'Time to answer a batch of search requests', SECONDS_BUCKETS),
    after: metrics.counter(
      'searchbus_search_after_total',
      'Search requests with `after`, by outcome: covered (answered at once), waited (answered once indexed), not-yet-indexed',
      ['outcome'],
    ),
    latency: metrics.histogram(
      'searchbus_search_latency_seconds',
      'Search request published (record timestamp) to its reply published on Redis, by outcome',
      SECONDS_BUCKETS,
      ['outcome'],
    ),
  };
}

function decodeQuery(message: KafkaMessage, limits: RequestLimits): QueryMessage {
  const result = decodeSearchRequest(message.value, limits);
  if (result.ok) return { kind: 'search', request: result.request };
  // Bytes that are not JSON at all are dead-lettered with the ContractError's code (`invalid-json`).
  if (result.error.code === 'invalid-json') throw result.error;
  return {
    kind: 'invalid',
    id: result.id ?? message.key?.toString('utf8') ?? '',
    replyTo: result.replyTo ?? headerReplyTo(message, limits.replyChannelPrefix),
    code: result.error.code,
    message: result.error.message,
  };
}

function requestId(message: QueryMessage): string {
  return message.kind === 'search' ? message.request.id : message.id;
}

/** The client's trace: the envelope's fields first (they survive proxies that drop headers), then the headers. */
function traceOf(item: Decoded<QueryMessage>): Context {
  const fromEnvelope = item.value.kind === 'search' ? contextFromValues(item.value.request) : undefined;
  return fromEnvelope && isTraced(fromEnvelope) ? fromEnvelope : contextFromHeaders(item.message.headers);
}

function headerReplyTo(message: KafkaMessage, prefix: string): string | null {
  const raw = message.headers?.[HEADERS.replyTo];
  const value = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : null;
  return validReplyTo(value, prefix) ? value : null;
}
