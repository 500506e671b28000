import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { indexDocuments, latestPerDocument } from '../../../../consumers/encoder/index.ts';
import type { DocumentEncoder } from '../../../../consumers/embedding/index.ts';
import { getAnalyzerSpec, layoutFor, pointId, type CollectionLayout, type IngestMessage } from '../../../../topology/index.ts';

const LEGACY: CollectionLayout = { dense: '', sparse: null };

// Pure logic only: the calls indexDocuments makes. Integration tests run it on the real engine.
function fakes(chunksPerText: (text: string) => number) {
  const calls: Array<{ op: string; body: unknown }> = [];
  const qdrant = {
    upsert: (_c: string, body: unknown) => (calls.push({ op: 'upsert', body }), Promise.resolve({})),
    delete: (_c: string, body: unknown) => (calls.push({ op: 'delete', body }), Promise.resolve({})),
  } as unknown as QdrantClient;
  const encoder: DocumentEncoder = {
    modelId: 'm',
    encodeDocuments: (texts) =>
      Promise.resolve(
        texts.map((t) => Array.from({ length: chunksPerText(t) }, (_, i) => ({ text: `${t}#${i}`, vector: new Float32Array([i, 1]) }))),
      ),
  };
  return { calls, qdrant, encoder };
}

const upsert = (id: string, text: string, tenant = 'default'): IngestMessage => ({
  kind: 'upsert',
  tenant,
  id,
  document: { schemaVersion: 1, id, text, ...(tenant === 'default' ? {} : { tenant }) },
});
const tombstone = (id: string, tenant = 'default'): IngestMessage => ({ kind: 'delete', tenant, id });
const inTenant = (tenant: string, id: string): unknown[] => [
  { key: 'tenant', match: { value: tenant } },
  { key: 'doc_id', match: { value: id } },
];

describe('indexDocuments', () => {
  it('writes named vectors: the embedding as text, and the BM25 sparse vector of the chunk text', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    const layout = layoutFor(getAnalyzerSpec('en-porter-v1'));
    await indexDocuments([upsert('a', 'Genes and genes')], { qdrant, collection: 'c', encoder, layout });
    const point = (calls[0]?.body as { points: Array<{ vector: Record<string, unknown> }> }).points[0]!;
    assert.deepEqual(Object.keys(point.vector).sort(), ['text', layout.sparse!.name].sort());
    assert.deepEqual(point.vector.text, [0, 1]);
    const sparse = point.vector[layout.sparse!.name] as { indices: number[]; values: number[] };
    // "genes and genes#0": "and" is a stop word, "genes" twice and "0" once.
    assert.equal(sparse.indices.length, 2);
    assert.equal(sparse.values.length, 2);
  });

  it('writes a legacy collection as it was built: one unnamed vector, no sparse vector', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    await indexDocuments([upsert('a', 'x')], { qdrant, collection: 'c', encoder, layout: LEGACY });
    assert.deepEqual((calls[0]?.body as { points: Array<{ vector: unknown }> }).points[0]!.vector, [0, 1]);
  });

  it('writes one point per chunk with deterministic ids, then deletes stale chunks', async () => {
    const { calls, qdrant, encoder } = fakes((t) => t.length);
    const result = await indexDocuments([upsert('a', 'xx'), upsert('b', 'yyy')], {
      qdrant,
      collection: 'c',
      encoder,
      layout: LEGACY,
      now: () => new Date(0),
    });
    assert.deepEqual(countsOf(result), { upserted: 2, deleted: 0, points: 5 });
    const [write, remove] = calls;
    assert.equal(write?.op, 'upsert');
    const points = write?.body as { wait: boolean; points: Array<{ id: string; payload: Record<string, unknown> }> };
    assert.equal(points.wait, true);
    assert.deepEqual(
      points.points.map((p) => p.id),
      [
        pointId('default', 'a', 0),
        pointId('default', 'a', 1),
        pointId('default', 'b', 0),
        pointId('default', 'b', 1),
        pointId('default', 'b', 2),
      ],
    );
    assert.deepEqual(points.points[2]?.payload, {
      doc_id: 'b',
      chunk: 0,
      chunks: 3,
      title: '',
      text: 'yyy#0',
      metadata: {},
      tenant: 'default',
      model: 'm',
      ingested_at: '1970-01-01T00:00:00.000Z',
    });
    assert.equal(remove?.op, 'delete');
    assert.deepEqual((remove?.body as { filter: unknown }).filter, {
      should: [
        { must: [...inTenant('default', 'a'), { key: 'chunk', range: { gte: 2 } }] },
        { must: [...inTenant('default', 'b'), { key: 'chunk', range: { gte: 3 } }] },
      ],
    });
  });

  it('keeps only the last message per document, as compaction would', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    const result = await indexDocuments([upsert('a', 'old'), tombstone('a'), upsert('b', 'x'), tombstone('b'), upsert('a', 'new')], {
      qdrant,
      collection: 'c',
      encoder,
      layout: LEGACY,
    });
    assert.deepEqual(countsOf(result), { upserted: 1, deleted: 1, points: 1 });
    // The feed announces what was applied: the last version of a, and b's delete.
    assert.deepEqual(
      result.applied.map((a) => [a.message.id, a.op, a.modality, a.chunks]),
      [
        ['a', 'indexed', 'text', 1],
        ['b', 'deleted', null, 0],
      ],
    );
    const points = (calls[0]?.body as { points: Array<{ payload: { text: string } }> }).points;
    assert.deepEqual(
      points.map((p) => p.payload.text),
      ['new#0'],
    );
    const filter = (calls[1]?.body as { filter: { should: unknown[] } }).filter;
    assert.deepEqual(filter.should[0], { must: inTenant('default', 'b') });
  });

  it('only deletes for a batch of tombstones', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    await indexDocuments([tombstone('x')], { qdrant, collection: 'c', encoder, layout: LEGACY });
    assert.deepEqual(
      calls.map((c) => c.op),
      ['delete'],
    );
  });

  it('keeps the same id in two tenants as two documents: two point sets, tenant on every point', async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    const result = await indexDocuments([upsert('report-1', 'from a', 'a'), upsert('report-1', 'from b', 'b')], {
      qdrant,
      collection: 'c',
      encoder,
      layout: LEGACY,
    });
    assert.deepEqual(countsOf(result), { upserted: 2, deleted: 0, points: 2 });
    const points = (calls[0]?.body as { points: Array<{ id: string; payload: { tenant: string; doc_id: string; text: string } }> }).points;
    assert.deepEqual(
      points.map((p) => [p.id, p.payload.tenant, p.payload.doc_id, p.payload.text]),
      [
        [pointId('a', 'report-1', 0), 'a', 'report-1', 'from a#0'],
        [pointId('b', 'report-1', 0), 'b', 'report-1', 'from b#0'],
      ],
    );
    const filter = (calls[1]?.body as { filter: { should: unknown[] } }).filter;
    assert.deepEqual(filter.should, [
      { must: [...inTenant('a', 'report-1'), { key: 'chunk', range: { gte: 1 } }] },
      { must: [...inTenant('b', 'report-1'), { key: 'chunk', range: { gte: 1 } }] },
    ]);
  });

  it("deletes only the tombstoned tenant's document, grouping the ids of each tenant", async () => {
    const { calls, qdrant, encoder } = fakes(() => 1);
    const result = await indexDocuments(
      [tombstone('report-1', 'a'), tombstone('x', 'a'), upsert('report-1', 'stays', 'b'), tombstone('y', 'c')],
      { qdrant, collection: 'c', encoder, layout: LEGACY },
    );
    assert.deepEqual(countsOf(result), { upserted: 1, deleted: 3, points: 1 });
    const filter = (calls[1]?.body as { filter: { should: unknown[] } }).filter;
    assert.deepEqual(filter.should, [
      {
        must: [
          { key: 'tenant', match: { value: 'a' } },
          { key: 'doc_id', match: { any: ['report-1', 'x'] } },
        ],
      },
      { must: inTenant('c', 'y') },
      { must: [...inTenant('b', 'report-1'), { key: 'chunk', range: { gte: 1 } }] },
    ]);
  });
});

describe('latestPerDocument', () => {
  it('groups by (tenant, id): the last message of each document wins, in order of last appearance', () => {
    const latest = latestPerDocument([
      upsert('r', 'a1', 'a'),
      upsert('r', 'b1', 'b'),
      tombstone('r', 'a'),
      upsert('r', 'd1'),
      upsert('r', 'b2', 'b'),
    ]);
    assert.deepEqual(
      latest.map((m) => [m.tenant, m.id, m.kind === 'upsert' ? m.document.text : 'deleted']),
      [
        ['a', 'r', 'deleted'],
        ['default', 'r', 'd1'],
        ['b', 'r', 'b2'],
      ],
    );
  });

  it('never merges identities that share a prefix or contain the separator', () => {
    const latest = latestPerDocument([upsert('b/c', '1', 'a'), upsert('c', '2', 'a.b'), tombstone('c', 'a'), upsert('b', '3', 'a')]);
    assert.equal(latest.length, 4);
  });
});

/** The counts of an index result (the applied documents are checked where they matter). */
function countsOf(result: { upserted: number; deleted: number; points: number }): { upserted: number; deleted: number; points: number } {
  return { upserted: result.upserted, deleted: result.deleted, points: result.points };
}
