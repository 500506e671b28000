import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import {
  ConnectionScope,
  DEFAULT_TENANT,
  documentKey,
  encodeDocument,
  encodePosition,
  inSpan,
  keyOf,
  positionOf,
  SpanKind,
  UnavailableError,
  StartDeadline,
  traceHeaders,
  type DocumentV1,
} from '../../topology/index.ts';

import { unacknowledged } from './unacknowledged.ts';

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
 * that awaits it cannot outrun the broker. Every send resolves with the position it wrote up to: a
 * token a search may carry as `after` to be answered only once the index holds these documents
 * (topology/read-position.ts; `decodePosition` and `mergePositions` combine several).
 */
/** Rounds of re-sending messages a send resolved without writing, before giving up. */
const MAX_RESENDS = 10;

export class IngestProducer {
  private readonly producer: Producer;
  /** The partition each message of the send in hand was routed to. */
  private readonly partitionOf = new WeakMap<Message, number>();
  private resent = 0;
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
      createPartitioner: () => {
        const partitioner = Partitioners.DefaultPartitioner();
        return (args) => {
          const partition = partitioner(args);
          this.partitionOf.set(args.message, partition);
          return partition;
        };
      },
    });
  }

  /** Messages sent again because a send resolved without them (see unacknowledged.ts). */
  get resentMessages(): number {
    return this.resent;
  }

  /** Connects within `startTimeoutMs`; on failure (or close() meanwhile) the producer closes itself. */
  async connect(): Promise<void> {
    this.connected ??= this.connections.run(() =>
      new StartDeadline('the ingest producer', this.options.startTimeoutMs ?? 60_000, this.closeSignal.signal)
        .step('connect to Kafka', () => this.producer.connect(), 'check that Kafka answers at KAFKA_BROKERS')
        .finally(() => (this.connectSettled = true)),
    );
    try {
      await this.connected;
    } catch (error) {
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Validates locally (throws a ContractError for a bad document) and publishes, as one producer span
   * of the active trace whose context rides each record's headers to the encoder.
   */
  upsert(documents: DocumentInput[]): Promise<string> {
    return this.traced('upsert', documents.length, (headers) => {
      const messages = documents.map((d) => {
        const value = encodeDocument(d); // validates the document, so a bad tenant or id is reported as such
        return { key: keyOf(d), value, headers };
      });
      return this.sendAll(messages);
    });
  }

  /** Publishes tombstones: each document, (tenant, id), loses all of its chunks; other tenants' documents of the same id stay. */
  delete(documents: DocumentRef[]): Promise<string> {
    return this.traced('delete', documents.length, (headers) =>
      this.sendAll(documents.map((d) => ({ key: documentKey(d.tenant ?? DEFAULT_TENANT, d.id), value: null, headers }))),
    );
  }

  private traced(op: 'upsert' | 'delete', count: number, publish: (headers: Record<string, string>) => Promise<string>): Promise<string> {
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.destination.name': this.options.topic,
      'messaging.batch.message_count': count,
      'searchbus.op': op,
    };
    return inSpan('searchbus.publish', SpanKind.PRODUCER, attributes, () => publish(traceHeaders()));
  }

  /** Publishes raw records as they are; for tools that forward bytes (replay from dead letters). */
  sendRaw(messages: Array<{ key: string | Buffer | null; value: Buffer | string | null }>): Promise<string> {
    return this.sendAll(messages);
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

  /** Resolves with the position token of the last record written to each partition. */
  private async sendAll(messages: Message[]): Promise<string> {
    if (this.closed) throw new UnavailableError('producer-closed', 'the ingest producer is closed', { retriable: false });
    await this.connect();
    const max = this.options.maxBatchSize ?? 500;
    const written: Array<{ partition: number; offset: bigint }> = [];
    for (let i = 0; i < messages.length; i += max) written.push(...(await this.sendBatch(messages.slice(i, i + max))));
    return encodePosition(positionOf(this.options.topic, written));
  }

  /**
   * One send, then again for whatever it resolved without writing, until every partition
   * acknowledged. Returns the offset of the last record each acknowledged answer wrote: the
   * idempotent producer writes a partition's messages of one request as one batch, from its base offset.
   */
  private async sendBatch(batch: Message[]): Promise<Array<{ partition: number; offset: bigint }>> {
    let pending = batch;
    const written: Array<{ partition: number; offset: bigint }> = [];
    for (let round = 0; ; round++) {
      const acks = await this.producer.send({ topic: this.options.topic, acks: -1, compression: CompressionTypes.GZIP, messages: pending });
      for (const ack of acks) {
        const sent = pending.filter((m) => this.partitionOf.get(m) === ack.partition).length;
        if (ack.errorCode === 0 && sent > 0 && ack.baseOffset !== undefined)
          written.push({ partition: ack.partition, offset: BigInt(ack.baseOffset) + BigInt(sent - 1) });
      }
      pending = unacknowledged(pending, (m) => this.partitionOf.get(m), acks);
      if (pending.length === 0) return written;
      if (round >= MAX_RESENDS) {
        throw new UnavailableError(
          'unacknowledged',
          `${pending.length} messages were not acknowledged by their partitions after ${MAX_RESENDS} re-sends`,
        );
      }
      this.resent += pending.length;
    }
  }
}
