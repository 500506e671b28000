import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { indexDocuments } from '../../../../consumers/encoder/index.ts';
import type { DocumentEncoder } from '../../../../consumers/encoders/index.ts';
import { pointId, type IngestMessage } from '../../../../topology/index.ts';

// Pure logic only: the calls indexDocuments makes. Integration tests run it on the real engine.
function fakes(chunksPerText: (text: string) => number) {
  const calls: Array<{ op: string; body: unknown }> = [];
  const qdrant = {
    upsert: (_c: string, body: unknown) => (calls.push({ op: 'upsert', body }), Promise.resolve({})),
    delete: (_c: string, body: unknown) => (calls.push({ op: 'delete', body }), Promise.resolve({})),
  } as unknown as QdrantClient;
  const encoder: DocumentEncoder = {
    modelId: 'm',
    encodeDocuments: (texts) => Promise.resolve(texts.map((t) => Array.from({ length: chunksPerText(t) }, (_, i) => ({ text: `${t}#${i}`, vector: new Float32Array([i, 1]) })))),
  };
  return { calls, qdrant, encoder };
}

const upsert = (id: string, text: string): IngestMessage => ({ kind: 'upsert', id, document: { schemaVersion: 1, id, text } });

describe('indexDocuments', () => {
  it('writes one point per chunk with deterministic ids, then deletes stale chunks', async () => {
    const { calls, qdrant, encoder } = fakes((t) => t.length);
    const result = await indexDocuments([upsert('a', 'xx'), upsert('b', 'yyy')], { qdrant, collection: 'c', encoder, now: () => new Date(0) });
    assert.deepEqual(result, { upserted: 2, deleted: 0, points: 5 });
    const [write, remove] = calls;
    assert.equal(write?.op, 'upsert');
    const points = (write?.body as { wait: boolean; points: Array<{ id: string; payload: Record<string, unknown> }> });
    assert.equal(points.wait, true);
    assert.deepEqual(points.points.map((p) => p.id), [pointId('a', 0), pointId('a', 1), pointId('b', 0), pointId('b', 1), pointId('b', 2)]);
    assert.deepEqual(points.points[2]?.payload, { doc_id: 'b', chunk: 0, chunks: 3, title: '', text: 'yyy#0', metadata: {}, tenant: 'default', model: 'm', ingested_at: '1970-01-01T00:00:00.000Z' });
    assert.equal(remove?.op, 'delete');
    assert.deepEqual((remove?.body as { filter: unknown }).filter, {
      should: [
        { must: [{ key: 'doc_id', match: { value: 'a' } }, { key: 'chunk', range: { gte: 2 } }] },
        { must: [{ key: 'doc_id', match: { value: 'b' } }, { key: 'chunk', range: { gte: 3 } }] },
      ],
    });
  });

  it('keeps only the last message per document, as compaction would', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    const result = await indexDocuments([upsert('a', 'old'), { kind: 'delete', id: 'a' }, upsert('b', 'x'), { kind: 'delete', id: 'b' }, upsert('a', 'new')], { qdrant, collection: 'c', encoder });
    assert.deepEqual(result, { upserted: 1, deleted: 1, points: 1 });
    const points = (calls[0]?.body as { points: Array<{ payload: { text: string } }> }).points;
    assert.deepEqual(points.map((p) => p.payload.text), ['new#0']);
    const filter = (calls[1]?.body as { filter: { should: unknown[] } }).filter;
    assert.deepEqual(filter.should[0], { key: 'doc_id', match: { any: ['b'] } });
  });

  it('only deletes for a batch of tombstones', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    await indexDocuments([{ kind: 'delete', id: 'x' }], { qdrant, collection: 'c', encoder });
    assert.deepEqual(calls.map((c) => c.op), ['delete']);
  });
});
