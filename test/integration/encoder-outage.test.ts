import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

// Qdrant becomes unreachable while documents stream in: the encoder backs off and retries, commits
// no offset for what it could not write, and catches up once Qdrant is back.
describe('encoder during a Qdrant outage', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let proxy: TcpProxy;
  let consumer: EncoderConsumer;
  const metrics = new MetricsRegistry();

  before(async () => {
    h = await createHarness({ need: ['kafka', 'qdrant'], env: { SEARCHBUS_MAX_RETRY_DELAY_MS: '500' } });
    encoder = await loadEncoder(h.config.model);
    const target = new URL(h.services.qdrant.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    const viaProxy = new QdrantClient({
      url: `http://127.0.0.1:${proxy.port}`,
      port: proxy.port,
      ...(h.services.qdrant.apiKey ? { apiKey: h.services.qdrant.apiKey } : {}),
    });
    consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: viaProxy,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
      metrics,
    });
    await consumer.start();
  });

  after(async () => {
    await consumer?.close();
    await proxy?.close();
    await encoder?.close();
    await h?.close();
  });

  it('retries with backoff, commits nothing unwritten, and catches up after the outage', async () => {
    const docs = await readScifact(40);
    const chunks = docs.reduce((s, d) => s + encoder.chunk(documentText(d)).length, 0);
    const committed = async (): Promise<number> => {
      const [offsets] = await h.admin.fetchOffsets({ groupId: h.topology.groups.encoder, topics: [h.topology.topics.ingest] });
      return (offsets?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    };
    const retries = (): Promise<number> => metrics.value('searchbus_retries_total', { role: 'encoder' });

    proxy.cut();
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(docs);
    await producer.close();
    await waitFor(
      'the encoder to retry against the unreachable Qdrant',
      async () => ((await retries()) >= 3 ? true : undefined),
      120_000,
      50,
    );
    assert.equal(await committed(), 0, 'no offset is committed while nothing could be written');
    assert.equal(consumer.stalled, true, 'readiness reports the stalled batch');
    assert.equal((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count, 0);

    proxy.restore();
    await waitFor(
      'every chunk written after the outage',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count === chunks ? true : undefined),
      180_000,
      200,
    );
    await waitFor('offsets committed after the writes', async () => ((await committed()) === docs.length ? true : undefined), 60_000, 200);
    assert.equal(consumer.state, 'running');
    assert.equal(consumer.stalled, false);
  });
});
