import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { waitFor, type Harness } from './harness.ts';

/**
 * Indexes documents the way users do: published to the ingest topic and applied by an encoder
 * consumer, which is stopped once every document has its first chunk in the collection.
 */
export async function indexThroughBus(h: Harness, encoder: OnnxEncoder, docs: DocumentInput[], timeoutMs = 600_000): Promise<void> {
  const consumer = new EncoderConsumer({
    kafka: h.kafka,
    qdrant: h.qdrant,
    topology: h.topology,
    config: h.config,
    encoder: () => Promise.resolve(documentEncoder(encoder)),
  });
  await consumer.start();
  const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
  try {
    await producer.upsert(docs);
    await waitFor(
      'every document indexed',
      async () => {
        const { count } = await h.qdrant.count(h.topology.qdrant.alias, {
          exact: true,
          filter: { must: [{ key: 'chunk', match: { value: 0 } }] },
        });
        return count === docs.length ? count : undefined;
      },
      timeoutMs,
      250,
    );
  } finally {
    await producer.close();
    await consumer.close();
  }
}
