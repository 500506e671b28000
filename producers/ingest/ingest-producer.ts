import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { ConnectionScope, DEFAULT_TENANT, documentKey, encodeDocument, keyOf, SearchbusError, StartDeadline, type DocumentV1 } from '../../topology/index.ts';

export type DocumentInput = Omit<DocumentV1, 'schemaVersion'>;
/** Names a document to delete: its id and tenant (absent: the default tenant). */
export interface DocumentRef {
  id: string;
  tenant?: string;
}

export interface IngestProducerOptions {
  kafka: Kafka;
  topic: string;
  /** Upper bound on messages per produce request. */
  maxBatchSize?: number;
  /** The longest connecting to Kafka may take (SEARCHBUS_START_TIMEOUT_MS); default 60 s. */
  startTimeoutMs?: number;
}

/**
 * Publishes documents to the ingest topic, keyed `<tenant>/<id>` (topology/document-identity.ts) so
 * that every version of a document lands on one partition in order and compaction keeps its latest. Idempotent producer: a retried send never duplicates.
 * `upsert` resolves once the broker acknowledged (acks=all), which is the back-pressure: a caller
 * that awaits it cannot outrun the broker.
 */
export class IngestProducer {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private connectSettled = false;
  private readonly closeSignal = new AbortController();
  /** The producer's Kafka sockets, for close() during connect(). */
  private readonly connections = new ConnectionScope();

  constructor(private readonly options: IngestProducerOptions) {
    // The Java client's murmur2 partitioner: other Kafka clients publishing the same key pick the same partition.
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** Connects within `startTimeoutMs`; on failure (or close() meanwhile) the producer closes itself. */
  async connect(): Promise<void> {
    this.connected ??= this.connections.run(() =>
      new StartDeadline('the ingest producer', this.options.startTimeoutMs ?? 60_000, this.closeSignal.signal).step(
        'connect to Kafka',
        () => this.producer.connect(),
        'check that Kafka answers at KAFKA_BROKERS',
      ).finally(() => (this.connectSettled = true)),
    );
    try {
      await this.connected;
    } catch (error) {
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  /** Validates locally (throws SchemaError for a bad document) and publishes. */
  async upsert(documents: DocumentInput[]): Promise<void> {
    const messages = documents.map((d) => {
      const value = encodeDocument(d); // validates the document, so a bad tenant or id is reported as such
      return { key: keyOf(d), value };
    });
    await this.sendAll(messages);
  }

  /** Publishes tombstones: each document, (tenant, id), loses all of its chunks; other tenants' documents of the same id stay. */
  async delete(documents: DocumentRef[]): Promise<void> {
    await this.sendAll(documents.map((d) => ({ key: documentKey(d.tenant ?? DEFAULT_TENANT, d.id), value: null })));
  }

  /** Publishes raw records as they are; for tools that forward bytes (replay from dead letters). */
  async sendRaw(messages: Array<{ key: string | Buffer | null; value: Buffer | string | null }>): Promise<void> {
    await this.sendAll(messages);
  }

  /** Disconnects; safe to call twice, and returns promptly while connect() is in progress. */
  close(): Promise<void> {
    this.closed ??= this.connections.run(async () => {
      this.closeSignal.abort();
      // A connect still in progress has nothing to flush: end it rather than wait for it.
      if (this.connected) {
        if (!this.connectSettled) this.connections.close('the ingest producer was closed while connecting');
        await this.connected.catch(() => undefined);
      }
      try {
        await this.producer.disconnect();
      } finally {
        this.connections.close('the ingest producer is closed');
      }
    });
    return this.closed;
  }

  private async sendAll(messages: Array<{ key: string | Buffer | null; value: Buffer | string | null }>): Promise<void> {
    if (this.closed) throw new SearchbusError('the ingest producer is closed', { code: 'producer-closed' });
    await this.connect();
    const max = this.options.maxBatchSize ?? 500;
    for (let i = 0; i < messages.length; i += max) {
      await this.producer.send({
        topic: this.options.topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: messages.slice(i, i + max),
      });
    }
  }
}
