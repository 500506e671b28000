// Encoder consumer.
// Input: the ingest topic (key = document id, value = document JSON or null for a delete).
// Output: one Qdrant point per chunk, upserted with wait=true; stale chunks and deleted documents removed.
// Offsets commit per batch, only after Qdrant acknowledged the batch's writes. Poison messages go to
// the dead-letter topic (and are committed past); Qdrant outages are retried with backoff, uncommitted.
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Kafka } from 'kafkajs';
import { decodeIngestMessage, type IngestMessage, type SearchbusConfig, type Topology } from '../../topology/index.ts';
import { BatchConsumer, MetricsRegistry, PoisonMessageError, silentLogger, type ConsumerState, type Logger } from '../runtime/index.ts';
import type { DocumentEncoder } from '../encoders/index.ts';
import { indexDocuments } from './index-documents.ts';

export interface EncoderConsumerOptions {
  kafka: Kafka;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  encoder: DocumentEncoder;
  /** Defaults to the live alias; a rebuild writes to its new collection. */
  collection?: string;
  /** Defaults to the live encoder group; a rebuild uses a group of its own. */
  groupId?: string;
  fromBeginning?: boolean;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

export class EncoderConsumer {
  private readonly runtime: BatchConsumer<IngestMessage>;
  readonly metrics: MetricsRegistry;

  constructor(options: EncoderConsumerOptions) {
    const { topology, config } = options;
    this.metrics = options.metrics ?? new MetricsRegistry();
    const collection = options.collection ?? topology.qdrant.alias;
    const points = this.metrics.counter('searchbus_points_written_total', 'Chunks upserted into Qdrant');
    const documents = this.metrics.counter('searchbus_documents_total', 'Documents applied, by operation');
    this.runtime = new BatchConsumer<IngestMessage>({
      kafka: options.kafka,
      groupId: options.groupId ?? topology.groups.encoder,
      topic: topology.topics.ingest,
      fromBeginning: options.fromBeginning ?? true,
      decode: (message) => {
        try {
          return decodeIngestMessage(message.key, message.value);
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'invalid-message';
          throw new PoisonMessageError(code, (error as Error).message, { cause: error });
        }
      },
      handle: async (batch, context) => {
        const result = await indexDocuments(
          batch.map((b) => b.value),
          { qdrant: options.qdrant, collection, encoder: options.encoder, signal: context.signal },
        );
        points.inc({ collection }, result.points);
        documents.inc({ op: 'upsert' }, result.upserted);
        documents.inc({ op: 'delete' }, result.deleted);
      },
      deadLetterTopic: topology.topics.deadLetter,
      maxBatchSize: config.encoder.maxBatchSize,
      maxWaitMs: config.encoder.maxWaitMs,
      maxRetryDelayMs: config.encoder.maxRetryDelayMs,
      logger: options.logger ?? silentLogger,
      metrics: this.metrics,
      role: 'encoder',
    });
  }

  get state(): ConsumerState {
    return this.runtime.state;
  }

  start(): Promise<void> {
    return this.runtime.start();
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }
}
