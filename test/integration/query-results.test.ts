import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Schemas } from '@qdrant/js-client-rest';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, ensureCollection, getModelSpec, pointId, VECTOR_NAMES, type SearchFilter } from '../../topology/index.ts';
import { readScifact, readScifactQueries } from '../support/corpus.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// Results through the bus (Kafka request, query consumer, Redis reply) against the same search
// done directly on Qdrant with the same query vector. Oversampling is 1, so every query whose
// top chunks include several chunks of one document exercises the "fetch more" path.
describe('query path: same results as Qdrant directly', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let quantized: OnnxEncoder;
  let stack: QueryStack;
  let collection: string;
  const docs: DocumentInput[] = [];
  const longParts: string[][] = [];

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_QUERY_OVERSAMPLING: '1', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '200' } });
    encoder = await loadEncoder(h.config.model);
    const scifact = await readScifact(156);
    scifact.slice(0, 138).forEach((d, i) =>
      docs.push({
        id: d.id,
        title: d.title,
        text: d.text,
        metadata: { group: i % 3 === 0 ? 'b' : 'a', year: 2000 + (i % 20), tags: [`t${i % 4}`, `t${i % 5}`] },
      }),
    );
    // Three documents of six abstracts each: many chunks apiece, all about the same few topics.
    for (let k = 0; k < 3; k++) {
      const parts = scifact.slice(138 + k * 6, 144 + k * 6);
      longParts.push(parts.map((p) => p.title));
      docs.push({
        id: `long-${k}`,
        title: `Long ${k}`,
        text: parts.map((p) => `${p.title}. ${p.text}`).join('\n\n'),
        metadata: { group: 'long', year: 1990 },
      });
    }
    await indexThroughBus(h, encoder, docs);
    const { aliases } = await h.qdrant.getAliases();
    collection = aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name ?? '';
    // The int8 model is there for the swap test; the consumer must pick it only after the swap.
    quantized = await loadEncoder(getModelSpec('all-minilm-l6-v2-q'));
    stack = await startQueryStack(h, [encoder, quantized]);
  });

  after(async () => {
    await stack?.close();
    await encoder?.close();
    await quantized?.close();
    await h?.close();
  });

  /** Written independently of the consumer: every chunk in score order, first chunk per document wins. */
  async function direct(
    text: string,
    topK: number,
    filter: Schemas['Filter'],
    model: OnnxEncoder = encoder,
    target = collection,
  ): Promise<Array<{ docId: string; chunk: number; score: number }>> {
    const [vector] = await model.embed([text], { inputType: 'query' });
    const { count } = await h.qdrant.count(target, { exact: true });
    const { points } = await h.qdrant.query(target, {
      query: Array.from(vector!),
      using: VECTOR_NAMES.text,
      filter,
      limit: count,
      with_payload: ['doc_id', 'chunk'],
    });
    const seen = new Set<string>();
    const out: Array<{ docId: string; chunk: number; score: number }> = [];
    for (const p of points) {
      const payload = p.payload as { doc_id: string; chunk: number };
      if (seen.has(payload.doc_id)) continue;
      seen.add(payload.doc_id);
      out.push({ docId: payload.doc_id, chunk: payload.chunk, score: p.score });
    }
    return out.slice(0, topK);
  }

  function assertSame(
    bus: Array<{ docId: string; chunk: number; score: number }>,
    expected: Array<{ docId: string; chunk: number; score: number }>,
    label: string,
  ): void {
    assert.deepEqual(
      bus.map((h) => h.docId),
      expected.map((h) => h.docId),
      `${label}: same documents in the same order`,
    );
    assert.deepEqual(
      bus.map((h) => h.chunk),
      expected.map((h) => h.chunk),
      `${label}: same best chunks`,
    );
    bus.forEach((hit, i) =>
      assert.ok(Math.abs(hit.score - expected[i]!.score) < 1e-5, `${label}: score ${hit.score} vs ${expected[i]!.score}`),
    );
  }

  const tenantCondition = { key: 'tenant', match: { value: DEFAULT_TENANT } };
  const tenantOnly: Schemas['Filter'] = { must: [tenantCondition] };

  it('returns the same documents, chunks and scores for real queries, with topK documents each', async () => {
    const queries = (await readScifactQueries(12)).concat(longParts.flat().slice(0, 8));
    let multiChunkQueries = 0;
    for (const text of queries) {
      const result = await stack.client.search({ text, topK: 10, mode: 'dense' });
      assert.equal(result.model, 'all-minilm-l6-v2');
      assert.equal(result.hits.length, 10, 'topK distinct documents even after collapsing chunks');
      assert.equal(new Set(result.hits.map((h) => h.docId)).size, 10);
      const expected = await direct(text, 10, tenantOnly);
      assertSame(result.hits, expected, text);
      const [vector] = await encoder.embed([text], { inputType: 'query' });
      const { points } = await h.qdrant.query(collection, {
        query: Array.from(vector!),
        using: VECTOR_NAMES.text,
        filter: tenantOnly,
        limit: 10,
        with_payload: ['doc_id'],
      });
      if (new Set(points.map((p) => (p.payload as { doc_id: string }).doc_id)).size < 10) multiChunkQueries += 1;
    }
    // The long documents' own titles pull several of their chunks into the top 10.
    assert.ok(multiChunkQueries >= 3, `expected several queries whose top chunks repeat a document, got ${multiChunkQueries}`);
    assert.ok(stack.modelsRequested.every((m) => m === 'all-minilm-l6-v2'));
  });

  it('carries title, snippet and metadata of the best chunk', async () => {
    const doc = docs[5]!;
    const result = await stack.client.search({ text: doc.title ?? '', topK: 1 });
    const hit = result.hits[0]!;
    assert.equal(hit.docId, doc.id);
    assert.equal(hit.title, doc.title);
    assert.deepEqual(hit.metadata, doc.metadata);
    assert.ok(hit.snippet.length > 0 && hit.snippet.length <= 240);
    const flat = `${doc.title} ${doc.text}`.replace(/\s+/g, ' ');
    assert.ok(flat.includes(hit.snippet.replace(/…$/, '')), `snippet "${hit.snippet}" is a passage of the document`);
  });

  it('applies match, any and range filters exactly like the equivalent Qdrant filter', async () => {
    const cases: Array<[SearchFilter, Schemas['Filter']]> = [
      [{ must: [{ key: 'group', match: { value: 'b' } }] }, { must: [tenantCondition, { key: 'metadata.group', match: { value: 'b' } }] }],
      [
        { must: [{ key: 'year', range: { gte: 2005, lt: 2010 } }], mustNot: [{ key: 'group', match: { value: 'a' } }] },
        {
          must: [tenantCondition, { key: 'metadata.year', range: { gte: 2005, lt: 2010 } }],
          must_not: [{ key: 'metadata.group', match: { value: 'a' } }],
        },
      ],
      [
        {
          should: [
            { key: 'tags', match: { any: ['t1', 't3'] } },
            { key: 'group', match: { value: 'long' } },
          ],
        },
        {
          must: [tenantCondition],
          should: [
            { key: 'metadata.tags', match: { any: ['t1', 't3'] } },
            { key: 'metadata.group', match: { value: 'long' } },
          ],
        },
      ],
      [
        { must: [{ key: 'year', match: { any: [2001, 2002, 1990] } }] },
        { must: [tenantCondition, { key: 'metadata.year', match: { any: [2001, 2002, 1990] } }] },
      ],
    ];
    const text = longParts[0]![0]!;
    for (const [filter, qdrantFilter] of cases) {
      const result = await stack.client.search({ text, topK: 15, filter, mode: 'dense' });
      const expected = await direct(text, 15, qdrantFilter);
      assert.ok(expected.length > 0, `the filter ${JSON.stringify(filter)} should match something`);
      assertSame(result.hits, expected, JSON.stringify(filter));
    }
  });

  it('embeds with the model of the collection behind the alias, following a swap', async () => {
    // A second collection built with the int8 model, then the alias moves to it.
    {
      const target = h.topology.qdrant.collection('all-minilm-l6-v2-q', 2);
      await ensureCollection(h.qdrant, target, quantized.spec);
      const subset = docs.slice(0, 40);
      const embedded = await quantized.embedChunks(
        subset.map((d) => `${d.title} ${d.text}`),
        { inputType: 'document' },
      );
      await h.qdrant.upsert(target, {
        wait: true,
        points: subset.flatMap((d, i) =>
          embedded[i]!.map((c, chunk) => ({
            id: pointId(DEFAULT_TENANT, d.id, chunk),
            vector: { [VECTOR_NAMES.text]: Array.from(c.vector) },
            payload: {
              doc_id: d.id,
              chunk,
              chunks: embedded[i]!.length,
              title: d.title,
              text: c.text,
              metadata: d.metadata,
              tenant: DEFAULT_TENANT,
              model: quantized.spec.id,
              ingested_at: new Date().toISOString(),
            },
          })),
        ),
      });
      await h.qdrant.updateCollectionAliases({
        actions: [
          { delete_alias: { alias_name: h.topology.qdrant.alias } },
          { create_alias: { alias_name: h.topology.qdrant.alias, collection_name: target } },
        ],
      });
      const text = subset[3]!.title!;
      const result = await waitFor(
        'a reply embedded with the new model',
        async () => {
          const r = await stack.client.search({ text, topK: 10, mode: 'dense' });
          return r.model === 'all-minilm-l6-v2-q' ? r : undefined;
        },
        10_000,
        50,
      );
      assertSame(result.hits, await direct(text, 10, tenantOnly, quantized, target), 'after the swap');
      assert.ok(
        result.hits.every((hit) => subset.some((d) => d.id === hit.docId)),
        'hits come from the new collection',
      );
      assert.ok(stack.modelsRequested.includes('all-minilm-l6-v2-q'));
      // Once a reply used the new model, no later one uses the old one.
      for (let i = 0; i < 5; i++) assert.equal((await stack.client.search({ text, topK: 3 })).model, 'all-minilm-l6-v2-q');
    }
  });
});
