import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { documentText } from '../../consumers/encoder/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, HEADERS, MAX_DOCUMENT_BYTES, documentKey, pointId, VECTOR_NAMES } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';

// The ingest path on real Kafka, the real Qdrant engine and the real model.
describe('ingest path', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let consumer: EncoderConsumer;
  let producer: IngestProducer;

  before(async () => {
    h = await createHarness({ need: ['kafka', 'qdrant'] });
    encoder = await loadEncoder(h.config.model);
    consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
    });
    await consumer.start();
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
  });

  after(async () => {
    await producer?.close();
    await consumer?.close();
    await encoder?.close();
    await h?.close();
  });

  const alias = (): string => h.topology.qdrant.alias;
  const chunksOf = async (docId: string): Promise<number[]> =>
    (
      await h.qdrant.scroll(alias(), { filter: { must: [{ key: 'doc_id', match: { value: docId } }] }, limit: 100, with_payload: true })
    ).points
      .map((p) => Number((p.payload as { chunk: number }).chunk))
      .sort((a, b) => a - b);

  it('makes 1,000 published documents searchable: one point per chunk, own title at rank 1 for >= 95%', async () => {
    const docs = await readScifact(1000);
    assert.equal(docs.length, 1000);
    const expectedChunks = docs.reduce((sum, d) => sum + encoder.chunk(documentText(d)).length, 0);
    await producer.upsert(docs);
    const count = await waitFor(
      'all chunks indexed',
      async () => {
        const { count } = await h.qdrant.count(alias(), { exact: true });
        return count >= expectedChunks ? count : undefined;
      },
      600_000,
      500,
    );
    assert.equal(count, expectedChunks, 'points == chunks');
    const perDoc = new Map<string, number>();
    for (const p of await allPoints(h.qdrant, alias()))
      perDoc.set(String(p.payload.doc_id), (perDoc.get(String(p.payload.doc_id)) ?? 0) + 1);
    assert.equal(perDoc.size, docs.length, 'every document has points');

    const titles = await encoder.embed(
      docs.map((d) => d.title),
      { inputType: 'query' },
    );
    let rankOne = 0;
    for (let i = 0; i < docs.length; i++) {
      const { points } = await h.qdrant.query(alias(), {
        query: Array.from(titles[i]!),
        using: VECTOR_NAMES.text,
        limit: 1,
        with_payload: ['doc_id'],
      });
      if ((points[0]?.payload as { doc_id?: string } | undefined)?.doc_id === docs[i]!.id) rankOne++;
    }
    const share = rankOne / docs.length;
    process.stderr.write(`own title at rank 1: ${rankOne}/${docs.length} (${(share * 100).toFixed(1)}%); ${expectedChunks} chunks\n`);
    assert.ok(share >= 0.95, `own title at rank 1 for ${(share * 100).toFixed(1)}%`);
  });

  it('replaces a re-published document, leaving no stale chunks, and deletes on a tombstone', async () => {
    const long = Array.from({ length: 120 }, (_, i) => `Sentence ${i} describes the compaction of streaming logs in detail.`).join(' ');
    await producer.upsert([{ id: 'long-doc', title: 'Long', text: long, metadata: { version: 1 } }]);
    const initial = encoder.chunk(documentText({ title: 'Long', text: long })).length;
    assert.ok(initial >= 3, `test document should span several chunks, got ${initial}`);
    await waitFor('long document indexed', async () => ((await chunksOf('long-doc')).length === initial ? true : undefined));

    await producer.upsert([{ id: 'long-doc', title: 'Short now', text: 'A much shorter version.', metadata: { version: 2 } }]);
    const chunks = await waitFor('shorter version replaces the long one', async () => {
      const c = await chunksOf('long-doc');
      return c.length === 1 ? c : undefined;
    });
    assert.deepEqual(chunks, [0]);
    const [point] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, 'long-doc', 0)], with_payload: true });
    assert.equal((point?.payload as { title: string }).title, 'Short now');
    assert.deepEqual((point?.payload as { metadata: unknown }).metadata, { version: 2 });

    await producer.delete([{ id: 'long-doc' }]);
    await waitFor('tombstone removes every chunk', async () => ((await chunksOf('long-doc')).length === 0 ? true : undefined));
  });

  it('dead-letters poison messages with a reason and keeps the partition moving', async () => {
    const dlq: Consumer = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    const letters: Array<{ code: string; reason: string; source: string; value: string | undefined }> = [];
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        letters.push({
          code: message.headers?.[HEADERS.errorCode]?.toString() ?? '',
          reason: message.headers?.[HEADERS.errorMessage]?.toString() ?? '',
          source: message.headers?.[HEADERS.sourceTopic]?.toString() ?? '',
          value: message.value?.toString().slice(0, 40),
        });
        return Promise.resolve();
      },
    });
    try {
      // Published as raw bytes, as any Kafka client could, to the single partition of one key.
      const id = 'poison-key';
      const key = documentKey(DEFAULT_TENANT, id);
      await producer.sendRaw([
        { key, value: '{not json' },
        { key, value: JSON.stringify({ schemaVersion: 1, text: 'no id' }) },
        { key, value: JSON.stringify({ schemaVersion: 1, id, text: '   ' }) },
        { key, value: JSON.stringify({ schemaVersion: 1, id, text: 'x'.repeat(MAX_DOCUMENT_BYTES + 10) }) },
        { key, value: JSON.stringify({ schemaVersion: 9, id, text: 'future' }) },
        { key, value: JSON.stringify({ schemaVersion: 1, id, tenant: 'other', text: 'names another tenant than its key' }) },
        { key, value: JSON.stringify({ schemaVersion: 1, id, text: 'the good message after the poison' }) },
      ]);
      // Keys from before tenants were part of the identity: the bare id.
      await producer.sendRaw([
        { key: id, value: JSON.stringify({ schemaVersion: 1, id, text: 'keyed by the bare id' }) },
        { key: id, value: null },
      ]);
      await waitFor('the valid message after the poison is indexed', async () => ((await chunksOf(id)).length === 1 ? true : undefined));
      await waitFor('eight dead letters', () => Promise.resolve(letters.length >= 8 ? true : undefined));
      assert.deepEqual(letters.map((l) => l.code).sort(), [
        'empty-text',
        'invalid-json',
        'invalid-key',
        'key-mismatch',
        'key-mismatch',
        'missing-id',
        'oversized',
        'unsupported-schema-version',
      ]);
      const mismatches = letters.filter((l) => l.code === 'key-mismatch').map((l) => l.reason);
      assert.ok(
        mismatches.every((r) => r.includes('"default/poison-key"') || r.includes('"other/poison-key"')),
        `the expected key is named: ${mismatches.join(' | ')}`,
      );
      const [point] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, id, 0)], with_payload: true });
      assert.equal((point?.payload as { text: string }).text, 'the good message after the poison', 'no dead-lettered message was written');
      assert.equal(
        (await h.qdrant.count(alias(), { exact: true, filter: { must: [{ key: 'tenant', match: { value: 'other' } }] } })).count,
        0,
      );
      assert.ok(letters.every((l) => l.source === h.topology.topics.ingest));
      assert.ok(
        letters.some((l) => l.value === '{not json'),
        'original bytes are kept',
      );
    } finally {
      await dlq.disconnect();
    }
  });
});
