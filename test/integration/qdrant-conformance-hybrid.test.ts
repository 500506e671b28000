// Sparse vectors (IDF modifier), named vectors, prefetch and fusion, driven through
// @qdrant/js-client-rest against whichever Qdrant the infra provider gives (a Qdrant server, or the
// Qdrant Edge engine behind infra/qdrant-edge). Results are checked against brute force computed
// here: exact cosine, BM25-style IDF (Qdrant's formula) and reciprocal rank fusion.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { seededUnit } from '../../consumers/quality/index.ts';
import { getServices, type Services } from '../../infra/index.ts';

const DIM = 16;
const POINTS = 300;
const VOCABULARY = 120;
const TOLERANCE = 1e-4;
const DENSE = 'text';
const SPARSE = 'terms';

interface Sparse {
  indices: number[];
  values: number[];
}
interface Doc {
  id: number;
  dense: number[];
  sparse: Sparse;
  tenant: 'a' | 'b';
}
interface Scored {
  id: number;
  score: number;
}

function randomSparse(next: () => number, terms: number): Sparse {
  const indices = [...new Set(Array.from({ length: terms }, () => Math.floor(next() ** 2 * VOCABULARY)))].sort((x, y) => x - y);
  return { indices, values: indices.map(() => 0.5 + next() * 2) };
}

function makeDocs(seed: number): Doc[] {
  const next = seededUnit(seed);
  return Array.from({ length: POINTS }, (_, i) => ({
    id: i + 1,
    dense: Array.from({ length: DIM }, () => next() * 2 - 1),
    sparse: randomSparse(next, 3 + Math.floor(next() * 10)),
    tenant: i % 3 === 0 ? 'b' : 'a',
  }));
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  });
  return dot / Math.sqrt(na * nb);
}

/** Qdrant's IDF modifier: ln(1 + (N - n + 0.5) / (n + 0.5)) over the points holding the sparse vector (the whole collection). */
function idfOf(docs: Doc[]): (term: number) => number {
  const df = new Map<number, number>();
  for (const d of docs) for (const i of d.sparse.indices) df.set(i, (df.get(i) ?? 0) + 1);
  return (term) => {
    const n = df.get(term) ?? 0;
    return Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
  };
}

function sparseScore(query: Sparse, doc: Sparse, idf: (term: number) => number): number {
  let score = 0;
  query.indices.forEach((term, k) => {
    const at = doc.indices.indexOf(term);
    if (at >= 0) score += (query.values[k] ?? 0) * (doc.values[at] ?? 0) * idf(term);
  });
  return score;
}

function top(scored: Scored[], limit: number): Scored[] {
  return [...scored].sort((x, y) => y.score - x.score).slice(0, limit);
}

/** Qdrant's RRF: each list adds 1 / (k + rank), rank counted from 0. */
function bruteRrf(lists: Scored[][], k: number): Map<number, number> {
  const fused = new Map<number, number>();
  for (const list of lists) list.forEach((p, rank) => fused.set(p.id, (fused.get(p.id) ?? 0) + 1 / (k + rank)));
  return fused;
}

/** The result is a top-`limit` of `expected` (ties at the edge may go either way), with its scores. */
function assertTopOf(actual: Scored[], expected: Map<number, number>, limit: number): void {
  assert.equal(actual.length, Math.min(limit, expected.size));
  for (const p of actual) {
    const want = expected.get(p.id);
    assert.ok(want !== undefined, `point ${p.id} is not a candidate`);
    assert.ok(Math.abs(p.score - want) < TOLERANCE, `point ${p.id}: score ${p.score}, expected ${want}`);
  }
  for (let i = 1; i < actual.length; i++) assert.ok(actual[i - 1]!.score >= actual[i]!.score - TOLERANCE, 'scores descend');
  const returned = new Set(actual.map((p) => p.id));
  const lowest = Math.min(...actual.map((p) => p.score));
  for (const [id, score] of expected)
    if (!returned.has(id)) assert.ok(score <= lowest + TOLERANCE, `point ${id} (${score}) should have made the top ${limit}`);
}

const scored = (points: Array<{ id: string | number; score: number }>): Scored[] =>
  points.map((p) => ({ id: Number(p.id), score: p.score }));
const tenantFilter = (tenant: string) => ({ must: [{ key: 'tenant', match: { value: tenant } }] });

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error ? (error as { status: number }).status : undefined;
}

describe('Qdrant conformance: sparse vectors, prefetch and fusion', () => {
  let services: Services;
  let client: QdrantClient;
  const name = `conformance_hybrid_${randomUUID().slice(0, 8)}`;
  const docs = makeDocs(12);
  const idf = idfOf(docs);
  const next = seededUnit(99);
  const queries = Array.from({ length: 5 }, () => ({
    dense: Array.from({ length: DIM }, () => next() * 2 - 1),
    sparse: randomSparse(next, 4),
  }));

  before(async () => {
    services = await getServices({ need: ['qdrant'] });
    client = new QdrantClient({ url: services.qdrant.url, apiKey: services.qdrant.apiKey });
    await client.createCollection(name, {
      vectors: { [DENSE]: { size: DIM, distance: 'Cosine' } },
      sparse_vectors: { [SPARSE]: { modifier: 'idf' } },
    });
    await client.createPayloadIndex(name, { field_name: 'tenant', field_schema: 'keyword', wait: true });
    for (let from = 0; from < docs.length; from += 100) {
      await client.upsert(name, {
        wait: true,
        points: docs
          .slice(from, from + 100)
          .map((d) => ({ id: d.id, vector: { [DENSE]: d.dense, [SPARSE]: d.sparse }, payload: { tenant: d.tenant } })),
      });
    }
  });

  after(async () => {
    await client?.deleteCollection(name).catch(() => undefined);
    await services?.close();
  });

  it('describes named dense and sparse vectors with the idf modifier', async () => {
    const info = await client.getCollection(name);
    const vectors = info.config.params.vectors as Record<string, { size: number; distance: string }>;
    assert.deepEqual({ size: vectors[DENSE]?.size, distance: vectors[DENSE]?.distance }, { size: DIM, distance: 'Cosine' });
    assert.equal(info.config.params.sparse_vectors?.[SPARSE]?.modifier, 'idf');
    assert.equal(info.points_count, POINTS);
  });

  it('returns stored sparse vectors as indices and values', async () => {
    const [record] = await client.retrieve(name, { ids: [7], with_vector: true });
    const vector = record?.vector as Record<string, unknown>;
    const stored = vector[SPARSE] as Sparse;
    const doc = docs[6]!;
    assert.deepEqual(stored.indices, doc.sparse.indices);
    stored.values.forEach((v, i) => assert.ok(Math.abs(v - doc.sparse.values[i]!) < 1e-6));
    assert.equal((vector[DENSE] as number[]).length, DIM);
  });

  it('scores a sparse query by the stored values times Qdrant-computed IDF', async () => {
    for (const q of queries) {
      const { points } = await client.query(name, { query: q.sparse, using: SPARSE, limit: 20 });
      const expected = docs.map((d) => ({ id: d.id, score: sparseScore(q.sparse, d.sparse, idf) })).filter((s) => s.score > 0);
      assertTopOf(scored(points), new Map(expected.map((s) => [s.id, s.score])), 20);
    }
  });

  it('fuses dense and sparse prefetches with RRF exactly as brute force does, filters applied inside each prefetch', async () => {
    for (const [i, q] of queries.entries()) {
      const tenant = i % 2 === 0 ? 'a' : 'b';
      const keep = docs.filter((d) => d.tenant === tenant);
      // Each candidate list is checked against brute force, then fused here from the server's own
      // lists, so that a tie broken the other way in f32 cannot pass for a fusion error.
      const denseList = scored(
        (await client.query(name, { query: q.dense, using: DENSE, filter: tenantFilter(tenant), limit: 30 })).points,
      );
      const sparseList = scored(
        (await client.query(name, { query: q.sparse, using: SPARSE, filter: tenantFilter(tenant), limit: 30 })).points,
      );
      assertTopOf(denseList, new Map(keep.map((d) => [d.id, cosine(q.dense, d.dense)])), 30);
      assertTopOf(
        sparseList,
        new Map(keep.map((d) => [d.id, sparseScore(q.sparse, d.sparse, idf)] as const).filter(([, score]) => score > 0)),
        30,
      );
      for (const [query, k] of [
        [{ fusion: 'rrf' as const }, 2],
        [{ rrf: { k: 60 } }, 60],
      ] as const) {
        const { points } = await client.query(name, {
          prefetch: [
            { query: q.dense, using: DENSE, filter: tenantFilter(tenant), limit: 30 },
            { query: q.sparse, using: SPARSE, filter: tenantFilter(tenant), limit: 30 },
          ],
          query,
          limit: 15,
          with_payload: ['tenant'],
        });
        assert.ok(
          points.every((p) => p.payload?.tenant === tenant),
          'no point of another tenant',
        );
        assertTopOf(scored(points), bruteRrf([denseList, sparseList], k), 15);
      }
    }
  });

  it('fuses with DBSF: every hit comes from a prefetch, scores descend', async () => {
    const q = queries[0]!;
    const { points } = await client.query(name, {
      prefetch: [
        { query: q.dense, using: DENSE, filter: tenantFilter('b'), limit: 20 },
        { query: q.sparse, using: SPARSE, filter: tenantFilter('b'), limit: 20 },
      ],
      query: { fusion: 'dbsf' },
      limit: 10,
    });
    const candidates = new Set(docs.filter((d) => d.tenant === 'b').map((d) => d.id));
    assert.equal(points.length, 10);
    for (const p of points) assert.ok(candidates.has(Number(p.id)));
    for (let i = 1; i < points.length; i++) assert.ok(points[i - 1]!.score >= points[i]!.score);
  });

  it('re-scores prefetched candidates with a nearest query', async () => {
    const q = queries[1]!;
    const sparseList = top(
      docs.map((d) => ({ id: d.id, score: sparseScore(q.sparse, d.sparse, idf) })).filter((s) => s.score > 0),
      25,
    );
    const { points } = await client.query(name, {
      prefetch: { query: q.sparse, using: SPARSE, limit: 25 },
      query: q.dense,
      using: DENSE,
      limit: 5,
    });
    const expected = new Map(sparseList.map((s) => [s.id, cosine(q.dense, docs[s.id - 1]!.dense)]));
    assertTopOf(scored(points), expected, 5);
  });

  it('refuses a sparse query on a dense vector and fusion without prefetch', async () => {
    await assert.rejects(client.query(name, { query: queries[0]!.sparse, using: DENSE, limit: 3 }), (e: unknown) => statusOf(e) === 400);
    await assert.rejects(client.query(name, { query: queries[0]!.dense, using: SPARSE, limit: 3 }), (e: unknown) => statusOf(e) === 400);
    await assert.rejects(client.query(name, { query: { fusion: 'rrf' }, limit: 3 }), (e: unknown) => statusOf(e) === 400);
  });
});
