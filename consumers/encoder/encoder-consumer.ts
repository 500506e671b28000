// Encoder consumer.
// Input: the ingest topic (key = `<tenant>/<id>`, value = document JSON or null for a delete).
// Output: one Qdrant point per chunk, upserted with wait=true; stale chunks and deleted documents
// removed. A live consumer that meets a closed write fence whose lease lapsed (the rebuild holding
// it died) reopens it at the rebuild group's committed offsets and carries on from there. A live consumer writes to the collection behind the alias with that collection's model
// (so a swap to a new model never mixes vectors); a rebuild writes to its own new collection.
// Offsets commit per batch, only after Qdrant acknowledged the batch's writes. Poison messages go to
// the dead-letter topic (and are committed past); Qdrant outages are retried with backoff, uncommitted.
// Live consumers (no fixed target collection) also publish the index change feed: after Qdrant
// acknowledged the writes and before the commit, one event per document indexed or deleted on
// `<namespace>.indexed` (deletes by the text group only, so a delete is announced once).
// Each record's trace headers parent a consumer span with the batch's embed and Qdrant steps, and
// its record timestamp gives the freshness histogram once the writes are acknowledged.
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Kafka, Message } from 'kafkajs';
import {
  ContractError,
  contextFromHeaders,
  decodeIngestMessage,
  documentKey,
  encodePosition,
  INDEXED_EVENT_SCHEMA_VERSION,
  parseCollectionName,
  positionOf,
  SpanKind,
  UnavailableError,
  type IndexedEventV1,
  type IngestMessage,
  type LifecycleState,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';
import {
  BatchConsumer,
  BatchTrace,
  CollectionResolver,
  describeCollection,
  FRESHNESS_BUCKETS,
  LazyAdmin,
  MetricsRegistry,
  handoverOffsets,
  passesFence,
  silentLogger,
  type DeadLetter,
  type Logger,
  type ResolvedCollection,
  type WriteFences,
} from '../runtime/index.ts';
import type { DocumentEncoder, MediaEncoder } from '../embedding/index.ts';
import { FenceGate } from './fence-gate.ts';
import { indexDocuments, type AppliedDocument, type IndexContext } from './index-documents.ts';

export interface EncoderConsumerOptions {
  kafka: Kafka;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  /** The document encoder for a model id (the model of the collection written to). */
  encoder: (modelId: string) => Promise<DocumentEncoder>;
  /**
   * A rebuild's target collection (its name records its model). Without it the consumer follows
   * the alias: it resolves the collection behind it and embeds with that collection's model.
   */
  collection?: string;
  /**
   * Where a rebuild hands a new collection over to live encoders (see write-fence.ts). Live
   * consumers need it whenever rebuilds may run; without it every collection is written freely.
   */
  fences?: WriteFences;
  /**
   * Called before a batch is written; throwing keeps the batch uncommitted. A rebuild uses it to
   * stop writing the moment it no longer holds its collection's write fence.
   */
  guard?: () => Promise<void>;
  /**
   * Which documents this consumer applies: `all` (a rebuild, or a single live group), `text` (the
   * live text group: documents without media) or `media` (the live media group: documents with
   * media). Tombstones are applied by every group. Split groups record each point's source offset
   * and never overwrite a document's newer version written by the other group.
   */
  modality?: 'all' | 'text' | 'media';
  /** Embeds images and audio; needed by `all` and `media` consumers that meet media documents. */
  media?: MediaEncoder;
  /** Called for each message before it is dead-lettered (a rebuild records what it could not write). */
  onPoison?: (letter: DeadLetter) => Promise<void>;
  /**
   * Publish the index change feed (`<namespace>.indexed`). Default: on for live consumers, off for
   * a rebuild (it re-applies history into a new collection; nothing is new to subscribers).
   */
  indexedFeed?: boolean;
  /** Metric label. */
  role?: string;
  /** Defaults to the live encoder group; a rebuild uses a group of its own. */
  groupId?: string;
  fromBeginning?: boolean;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

export class EncoderConsumer {
  private readonly runtime: BatchConsumer<IngestMessage | null>;
  readonly metrics: MetricsRegistry;
  /** Connected on the first lapsed fence only: reads the rebuild group's offsets. */
  private readonly admin: LazyAdmin;
  private closing: Promise<void> | undefined;
  private readonly feedTopic: string;

  constructor(options: EncoderConsumerOptions) {
    const { topology, config } = options;
    this.admin = new LazyAdmin(options.kafka);
    this.metrics = options.metrics ?? new MetricsRegistry();
    const target = targetOf(options);
    const points = this.metrics.counter('searchbus_points_written_total', 'Chunks upserted into Qdrant', ['collection']);
    const documents = this.metrics.counter('searchbus_documents_total', 'Documents applied, by operation', ['op']);
    const logger = options.logger ?? silentLogger;
    const transcriptionFailed = transcriptionFailureReporter(this.metrics, logger);
    const freshness = this.metrics.histogram(
      'searchbus_freshness_seconds',
      'Document published (record timestamp) to written in Qdrant, per applied message, by role (encoder = live, reindex = rebuild)',
      FRESHNESS_BUCKETS,
      ['role'],
    );
    const role = options.role ?? 'encoder';
    const modality = options.modality ?? 'all';
    const groupId = options.groupId ?? (modality === 'media' ? topology.groups.mediaEncoder : topology.groups.encoder);
    const gate =
      options.collection === undefined && options.fences
        ? new FenceGate(options.fences, groupId, async (collection, rebuildGroup) =>
            handoverOffsets(await this.admin.get(), rebuildGroup || topology.groups.reindex(collection), topology.topics.ingest),
          )
        : null;
    const feed = options.indexedFeed ?? options.collection === undefined;
    this.feedTopic = topology.topics.indexed;
    const applies = (m: IngestMessage | null): m is IngestMessage =>
      m !== null && (modality === 'all' || m.kind === 'delete' || (modality === 'media') === (m.document.media !== undefined));
    this.runtime = new BatchConsumer<IngestMessage | null>({
      kafka: options.kafka,
      groupId,
      topic: topology.topics.ingest,
      fromBeginning: options.fromBeginning ?? true,
      decode: (message) => {
        try {
          return decodeIngestMessage(message.key, message.value, { mediaInlineMaxBytes: config.media.inlineMaxBytes });
        } catch (error) {
          // An off-contract record is dead-lettered once (with its code), by the text (or the only) group; null: skipped here.
          if (modality === 'media') return null;
          if (error instanceof ContractError) throw error;
          throw new ContractError('invalid-message', (error as Error).message, { cause: error });
        }
      },
      handle: async (batch, context) => {
        const { collection, modelId, layout } = await target.resolve();
        // A rebuild fixes its target; only alias followers meet a hand-over in progress.
        const admitted = gate ? await gate.admit(collection, context) : null;
        await options.guard?.();
        const mine = batch.flatMap((b) =>
          passesFence(admitted?.fence ?? null, b.partition, b.offset) && applies(b.value) ? [{ ...b, value: b.value }] : [],
        );
        if (mine.length === 0) {
          await admitted?.written();
          return;
        }
        const encoder = await options.encoder(modelId);
        const spans = new BatchTrace(
          'searchbus.encode process',
          mine.map((b) => contextFromHeaders(b.message.headers)),
          {
            'messaging.system': 'kafka',
            'messaging.destination.name': context.topic,
            'messaging.batch.message_count': mine.length,
            'searchbus.role': role,
            'db.collection.name': collection,
          },
        );
        const attributes = { 'searchbus.model': modelId, 'db.system': 'qdrant', 'db.collection.name': collection };
        let result;
        try {
          result = await indexDocuments(
            mine.map((b) => b.value),
            {
              qdrant: options.qdrant,
              collection,
              encoder,
              layout,
              signal: context.signal,
              step: (name, run) => spans.step(name, run, { kind: name === 'embed' ? SpanKind.INTERNAL : SpanKind.CLIENT, attributes }),
              ...(options.media ? { media: options.media } : {}),
              transcriptionFailed,
              ...(modality === 'all' ? {} : { sources: mine.map((b) => ({ partition: b.partition, offset: b.offset })) }),
            },
          );
          spans.end();
        } catch (error) {
          spans.end(error);
          // The medium, not the model, is bad (undecodable, unreachable, too large): its ContractError
          // goes on, and the document is dead-lettered with its code (a batch is split until the
          // failing document is alone).
          // The model, not the message, failed (e.g. its inference worker died): keep the batch
          // uncommitted and retry it, readiness turns false, instead of dead-lettering good documents.
          if (error instanceof UnavailableError)
            throw new UnavailableError('encoder-failed', `the ${modelId} encoder failed: ${error.message}`, { cause: error });
          // The collection was dropped after an alias swap: resolve again and redo the batch there.
          if ((error as { status?: unknown }).status === 404) {
            target.invalidate();
            throw new UnavailableError('collection-gone', `collection ${collection} is gone`, { cause: error });
          }
          throw error;
        }
        if (feed) await this.publishFeed(feedEvents(result.applied, mine, { topic: context.topic, collection, modelId, modality }));
        await admitted?.written();
        const written = Date.now();
        for (const b of mine) freshness.observe({ role }, Math.max(0, written - Number(b.message.timestamp)) / 1000);
        points.inc({ collection }, result.points);
        documents.inc({ op: 'upsert' }, result.upserted);
        documents.inc({ op: 'delete' }, result.deleted);
      },
      deadLetterTopic: topology.topics.deadLetter,
      ...(options.onPoison ? { onPoison: options.onPoison } : {}),
      maxBatchSize: config.encoder.maxBatchSize,
      maxWaitMs: config.encoder.maxWaitMs,
      maxRetryDelayMs: config.encoder.maxRetryDelayMs,
      startTimeoutMs: config.startTimeoutMs,
      logger,
      metrics: this.metrics,
      role,
    });
  }

  /** A failure to publish keeps the batch uncommitted and retried: its Qdrant writes are idempotent. */
  private async publishFeed(messages: Message[]): Promise<void> {
    try {
      await this.runtime.send(this.feedTopic, messages);
    } catch (error) {
      throw new UnavailableError('feed-unavailable', `publishing to ${this.feedTopic} failed: ${(error as Error).message}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  get state(): LifecycleState {
    return this.runtime.state;
  }

  /** True while a batch keeps failing and is being retried (Qdrant down, model broken). */
  get stalled(): boolean {
    return this.runtime.stalled;
  }

  start(): Promise<void> {
    return this.runtime.start();
  }

  /** Closes the consumer (see BatchConsumer.close), then the fence admin. Idempotent: a second call gets the first one's promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.runtime.close();
      } finally {
        await this.admin.disconnect().catch(() => undefined);
      }
    })();
    return this.closing;
  }
}

function targetOf(options: EncoderConsumerOptions): { resolve(): Promise<ResolvedCollection>; invalidate(): void } {
  if (options.collection === undefined) {
    return new CollectionResolver(options.qdrant, options.topology.qdrant.alias, options.config.query.aliasCacheTtlMs);
  }
  const collection = options.collection;
  if (!parseCollectionName(collection)) throw new TypeError(`collection ${collection} does not record its model (<alias>__<model>__v<n>)`);
  // Its layout is read once (a failed read is retried by the next batch).
  let fixed: Promise<ResolvedCollection> | undefined;
  return {
    resolve: () => {
      fixed ??= describeCollection(options.qdrant, collection).catch((error: unknown) => {
        fixed = undefined;
        throw error;
      });
      return fixed;
    },
    invalidate: () => undefined,
  };
}

/**
 * The feed records of what a batch applied, each with its source record's partition and offset. A
 * media group leaves deletes to the text group, which applies every tombstone too.
 */
export function feedEvents(
  applied: readonly AppliedDocument[],
  sources: ReadonlyArray<{ value: IngestMessage; partition: number; offset: string }>,
  at: { topic: string; collection: string; modelId: string; modality: 'all' | 'text' | 'media'; now?: Date },
): Message[] {
  const sourceOf = new Map(sources.map((s) => [s.value, s]));
  const indexedAt = (at.now ?? new Date()).toISOString();
  return applied.flatMap((a) => {
    const source = sourceOf.get(a.message);
    if (!source || (a.op === 'deleted' && at.modality === 'media')) return [];
    const event: IndexedEventV1 = {
      schemaVersion: INDEXED_EVENT_SCHEMA_VERSION,
      op: a.op,
      tenant: a.message.tenant,
      id: a.message.id,
      partition: source.partition,
      offset: source.offset,
      position: encodePosition(positionOf(at.topic, [source])),
      modality: a.modality,
      chunks: a.chunks,
      collection: at.collection,
      model: at.modelId,
      indexedAt,
    };
    return [{ key: documentKey(event.tenant, event.id), value: JSON.stringify(event) }];
  });
}

/** Counts and logs a recording indexed without its transcript (the speech model failed on it). */
function transcriptionFailureReporter(metrics: MetricsRegistry, logger: Logger): NonNullable<IndexContext['transcriptionFailed']> {
  const failures = metrics.counter(
    'searchbus_transcription_failures_total',
    'Recordings indexed without a transcript because the speech model failed on them, by reason (encoder-error, decoder-error)',
    ['reason'],
  );
  return (failure, documentId) => {
    failures.inc({ reason: failure.reason });
    logger.warn('indexed a recording without its transcript: the speech model failed on it', {
      document: documentId,
      reason: failure.reason,
      error: failure.message,
    });
  };
}
