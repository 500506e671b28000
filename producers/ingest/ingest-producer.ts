import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { DEFAULT_TENANT, documentKey, encodeDocument, keyOf, type DocumentV1 } from '../../topology/index.ts';

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
  private closed = false;

  constructor(private readonly options: IngestProducerOptions) {
    // The Java client's murmur2 partitioner: other Kafka clients publishing the same key pick the same partition.
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async connect(): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }

  private async sendAll(messages: Array<{ key: string | Buffer | null; value: Buffer | string | null }>): Promise<void> {
    if (this.closed) throw new Error('IngestProducer is closed');
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
