import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchIndexed, passesFilter, type MatchDependencies } from '../../../../consumers/watch/index.ts';
import { pointId, type IndexedEventV1, type SearchFilter } from '../../../../topology/index.ts';

function event(id: string, over: Partial<IndexedEventV1> = {}): IndexedEventV1 {
  return {
    schemaVersion: 1,
    op: 'indexed',
    tenant: 'acme',
    id,
    partition: 0,
    offset: '5',
    position: 'p1.x',
    modality: 'text',
    chunks: 2,
    collection: 'c',
    model: 'm',
    indexedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

interface Watch {
  id: string;
  tenant: string;
  threshold: number;
  filter: SearchFilter | null;
  /** Score of this watch against any vector whose first component is the key. */
  scores: Record<number, number>;
}

/** Fakes: each document chunk has a `text` vector [k]; a watch scores each k as its table says. */
function deps(watches: Watch[], documents: Record<string, { ks: number[]; metadata?: Record<string, unknown>; title?: string }>) {
  const calls = { read: 0, search: 0, queries: 0 };
  const byPoint = new Map<string, { k: number; metadata: Record<string, unknown>; title?: string }>();
  for (const [key, doc] of Object.entries(documents)) {
    const [tenant, id] = key.split('/') as [string, string];
    const title = doc.title !== undefined ? { title: doc.title } : {};
    doc.ks.forEach((k, i) => byPoint.set(pointId(tenant, id, i), { k, metadata: doc.metadata ?? {}, ...title }));
  }
  const d: MatchDependencies = {
    collections: () => Promise.resolve({ documents: 'docs', watches: 'watches', vectorNames: ['text', 'image'] }),
    readDocument: (_collection, ids) => {
      calls.read++;
      return Promise.resolve(
        ids.flatMap((id) => {
          const point = byPoint.get(id);
          return point
            ? [{ vectors: { text: [point.k] }, metadata: point.metadata, ...(point.title !== undefined ? { title: point.title } : {}) }]
            : [];
        }),
      );
    },
    searchWatches: (_collection, queries) => {
      calls.search++;
      calls.queries += queries.length;
      return Promise.resolve(
        queries.map((q) =>
          watches
            .filter((w) => w.tenant === q.tenant && w.scores[q.vector[0]!] !== undefined)
            .map((w) => ({ watchId: w.id, score: w.scores[q.vector[0]!]!, threshold: w.threshold, filter: w.filter }))
            .sort((a, b) => b.score - a.score)
            .slice(0, q.limit),
        ),
      );
    },
    maxMatchesPerDocument: 10,
    now: () => new Date('2026-01-02T00:00:00Z'),
  };
  return { d, calls };
}

describe('matchIndexed', () => {
  const volcano: Watch = { id: 'w-volcano', tenant: 'acme', threshold: 0.6, filter: null, scores: { 1: 0.4, 2: 0.8 } };
  const baking: Watch = { id: 'w-baking', tenant: 'acme', threshold: 0.6, filter: null, scores: { 1: 0.3, 2: 0.2 } };
  const other: Watch = { id: 'w-other', tenant: 'globex', threshold: 0.1, filter: null, scores: { 1: 0.9, 2: 0.9 } };

  it('a watch matches once per document, with its best chunk score, when that reaches its threshold', async () => {
    const { d, calls } = deps([volcano, baking, other], { 'acme/lava': { ks: [1, 2] } });
    const matches = await matchIndexed([event('lava')], d);
    assert.deepEqual(
      matches.map((m) => [m.watchId, m.tenant, m.id, m.score, m.partition, m.offset, m.position, m.matchedAt]),
      [['w-volcano', 'acme', 'lava', 0.8, 0, '5', 'p1.x', '2026-01-02T00:00:00.000Z']],
    );
    assert.equal(calls.search, 1, 'one batch of reverse searches');
    assert.equal(calls.queries, 2, 'one query per chunk vector');
  });

  it("carries the document's title when it has one, and no title field when it has none", async () => {
    const { d } = deps([volcano], { 'acme/lava': { ks: [2], title: 'Lava flows' }, 'acme/untitled': { ks: [2], title: '' } });
    const matches = await matchIndexed([event('lava', { chunks: 1 }), event('untitled', { chunks: 1, offset: '6' })], d);
    assert.deepEqual(
      matches.map((m) => [m.id, m.title]),
      [
        ['lava', 'Lava flows'],
        ['untitled', undefined],
      ],
    );
    assert.equal('title' in matches[1]!, false);
  });

  it("never matches another tenant's watch", async () => {
    const { d } = deps([other], { 'acme/lava': { ks: [1, 2] } });
    assert.deepEqual(await matchIndexed([event('lava')], d), []);
  });

  it('deletes, and documents already gone, match nothing', async () => {
    const { d, calls } = deps([volcano], {});
    assert.deepEqual(await matchIndexed([event('lava', { op: 'deleted', chunks: 0, modality: null }), event('gone')], d), []);
    assert.equal(calls.search, 0);
  });

  it("applies each candidate's own filter to the document's metadata", async () => {
    const filtered: Watch = { ...volcano, id: 'w-2024', filter: { must: [{ key: 'year', range: { gte: 2024 } }] } };
    const { d } = deps([volcano, filtered], {
      'acme/old': { ks: [2], metadata: { year: 2020 } },
      'acme/new': { ks: [2], metadata: { year: 2025 } },
    });
    const matches = await matchIndexed([event('old', { chunks: 1 }), event('new', { chunks: 1, offset: '6' })], d);
    assert.deepEqual(matches.map((m) => `${m.watchId} ${m.id}`).sort(), ['w-2024 new', 'w-volcano new', 'w-volcano old']);
  });

  it('a repeat of the same version within a batch is matched once', async () => {
    const { d } = deps([volcano], { 'acme/lava': { ks: [2] } });
    assert.equal((await matchIndexed([event('lava', { chunks: 1 }), event('lava', { chunks: 1 })], d)).length, 1);
  });
});

describe('passesFilter', () => {
  const metadata = { topic: 'geology', tags: ['lava', 'rock'], year: 2024 };
  it('judges must, should and mustNot as Qdrant does, arrays by any element', () => {
    assert.equal(passesFilter(undefined, metadata), true);
    assert.equal(passesFilter({ must: [{ key: 'topic', match: { value: 'geology' } }] }, metadata), true);
    assert.equal(passesFilter({ must: [{ key: 'tags', match: { value: 'lava' } }] }, metadata), true);
    assert.equal(passesFilter({ must: [{ key: 'tags', match: { any: ['ice', 'rock'] } }] }, metadata), true);
    assert.equal(passesFilter({ must: [{ key: 'missing', match: { value: 'x' } }] }, metadata), false);
    assert.equal(
      passesFilter(
        {
          should: [
            { key: 'year', range: { lt: 2000 } },
            { key: 'year', range: { gte: 2024 } },
          ],
        },
        metadata,
      ),
      true,
    );
    assert.equal(passesFilter({ should: [{ key: 'year', range: { lt: 2000 } }] }, metadata), false);
    assert.equal(passesFilter({ mustNot: [{ key: 'topic', match: { value: 'geology' } }] }, metadata), false);
  });
});
