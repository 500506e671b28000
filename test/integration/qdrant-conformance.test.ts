// The project's use of Qdrant, driven through @qdrant/js-client-rest against whichever Qdrant the
// infra provider gives (a Qdrant server, or the Qdrant Edge engine behind infra/qdrant-edge).
// Every assertion holds for a real Qdrant 1.19 server: nothing here relies on an Edge quirk.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Schemas } from '@qdrant/js-client-rest';
import { seededUnit } from '../../consumers/quality/index.ts';
import { getServices } from '../../infra/index.ts';
import type { Services } from '../../infra/index.ts';

const DIM = 64;
const POINT_COUNT = 1000;
const GROUPS = ['red', 'green', 'blue'] as const;
const SCORE_TOLERANCE = 1e-4;

type Filter = Schemas['Filter'];

interface Doc {
  id: number;
  vector: number[];
  payload: { group: (typeof GROUPS)[number]; n: number; tags: string[] };
}

function randomVector(next: () => number): number[] {
  return Array.from({ length: DIM }, () => next() * 2 - 1);
}

function makeDocs(seed: number): Doc[] {
  const next = seededUnit(seed);
  return Array.from({ length: POINT_COUNT }, (_, i) => ({
    id: i + 1,
    vector: randomVector(next),
    payload: { group: GROUPS[i % GROUPS.length] ?? 'red', n: i, tags: i % 5 === 0 ? ['five'] : [] },
  }));
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/** Exact nearest neighbours by cosine similarity among the docs a predicate keeps. */
function bruteForce(docs: Doc[], query: number[], keep: (d: Doc) => boolean, limit: number): { id: number; score: number }[] {
  return docs
    .filter(keep)
    .map((d) => ({ id: d.id, score: cosine(query, d.vector) }))
    .sort((x, y) => y.score - x.score)
    .slice(0, limit);
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error ? (error as { status: number }).status : undefined;
}

/** The client throws on any non-2xx answer; Qdrant's error body is `{status: {error}}`. */
async function assertFailsWith(promise: Promise<unknown>, status: number, messagePart?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal(statusOf(error), status, `expected HTTP ${status}, got ${String(error)}`);
    const data = (error as { data?: { status?: { error?: unknown } } }).data;
    assert.equal(typeof data?.status?.error, 'string', 'Qdrant error body carries status.error');
    if (messagePart) assert.match(String(data?.status?.error), messagePart);
    return true;
  });
}

describe('Qdrant conformance through @qdrant/js-client-rest', () => {
  let services: Services;
  let client: QdrantClient;
  const created = new Set<string>();

  const uniqueName = (label: string): string => `conformance_${label}_${randomUUID().slice(0, 8)}`;

  async function createCollection(label: string, size = DIM): Promise<string> {
    const name = uniqueName(label);
    created.add(name);
    assert.equal(await client.createCollection(name, { vectors: { size, distance: 'Cosine' } }), true);
    return name;
  }

  async function dropCollection(name: string): Promise<void> {
    await client.deleteCollection(name);
    created.delete(name);
  }

  before(async () => {
    services = await getServices({ need: ['qdrant'] });
    client = new QdrantClient({ url: services.qdrant.url, apiKey: services.qdrant.apiKey });
  });

  after(async () => {
    for (const name of created) {
      await client.deleteCollection(name).catch(() => undefined);
    }
    await services.close();
  });

  it('reports a server version that the client accepts', async () => {
    const info = await client.versionInfo();
    assert.equal(typeof info.title, 'string');
    // The client's own rule: same major version, minor versions at most one apart.
    const [major, minor] = info.version.split('.').map((part) => Number.parseInt(part, 10));
    assert.equal(major, 1);
    assert.ok(minor !== undefined && Math.abs(minor - 19) <= 1, `server ${info.version} vs client 1.19`);
  });

  it('creates, describes, lists and deletes a collection', async () => {
    const name = await createCollection('lifecycle');
    const info = await client.getCollection(name);
    const vectors = info.config.params.vectors as Schemas['VectorParams'];
    assert.equal(vectors.size, DIM);
    assert.equal(vectors.distance, 'Cosine');
    assert.equal(info.points_count, 0);
    assert.deepEqual(await client.collectionExists(name), { exists: true });
    const { collections } = await client.getCollections();
    assert.ok(collections.some((c) => c.name === name));

    await assertFailsWith(client.createCollection(name, { vectors: { size: DIM, distance: 'Cosine' } }), 409, /already exists/);

    assert.equal(await client.deleteCollection(name), true);
    created.delete(name);
    assert.deepEqual(await client.collectionExists(name), { exists: false });
    // Deleting what is not there is not an error in Qdrant; the result says nothing was deleted.
    assert.equal(await client.deleteCollection(name), false);
  });

  describe('1,000 random vectors with payload', () => {
    const docs = makeDocs(20240611);
    let name = '';

    before(async () => {
      name = await createCollection('knn');
      const result = await client.upsert(name, {
        wait: true,
        points: docs.map((d) => ({ id: d.id, vector: d.vector, payload: d.payload })),
      });
      assert.equal(result.status, 'completed');
    });

    after(async () => {
      await dropCollection(name);
    });

    it('counts every point, exactly and with filters', async () => {
      assert.deepEqual(await client.count(name, { exact: true }), { count: POINT_COUNT });
      const greens = docs.filter((d) => d.payload.group === 'green').length;
      assert.deepEqual(await client.count(name, { exact: true, filter: { must: [{ key: 'group', match: { value: 'green' } }] } }), {
        count: greens,
      });
      const inRange = docs.filter((d) => d.payload.n >= 100 && d.payload.n < 250).length;
      assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'n', range: { gte: 100, lt: 250 } }] } }), { count: inRange });
    });

    const cases: { label: string; filter: Filter; keep: (d: Doc) => boolean }[] = [
      {
        label: 'must match + range',
        filter: {
          must: [
            { key: 'group', match: { value: 'red' } },
            { key: 'n', range: { gte: 100 } },
          ],
        },
        keep: (d) => d.payload.group === 'red' && d.payload.n >= 100,
      },
      {
        label: 'should + must_not',
        filter: {
          should: [
            { key: 'group', match: { value: 'green' } },
            { key: 'group', match: { value: 'blue' } },
          ],
          must_not: [{ key: 'n', range: { lt: 500 } }],
        },
        keep: (d) => d.payload.group !== 'red' && d.payload.n >= 500,
      },
      {
        label: 'match any / except, nested filter, has_id',
        filter: {
          must: [
            { key: 'group', match: { any: ['red', 'blue'] } },
            { should: [{ key: 'tags', match: { except: ['five'] } }, { is_empty: { key: 'tags' } }] },
          ],
          must_not: [{ has_id: [1, 4, 7] }],
        },
        keep: (d) => d.payload.group !== 'green' && !d.payload.tags.includes('five') && ![1, 4, 7].includes(d.id),
      },
    ];

    for (const { label, filter, keep } of cases) {
      it(`filtered search returns exactly the brute-force nearest neighbours (${label})`, async () => {
        const next = seededUnit(label.length * 7919);
        for (let q = 0; q < 3; q++) {
          const query = randomVector(next);
          const expected = bruteForce(docs, query, keep, 10);
          assert.equal(expected.length, 10);
          // Well-separated neighbours, so float32 rounding cannot reorder them legitimately.
          for (let i = 1; i < expected.length; i++) {
            assert.ok((expected[i - 1]?.score ?? 0) - (expected[i]?.score ?? 0) > 1e-6, 'test data has a near tie');
          }

          const { points } = await client.query(name, {
            query,
            filter,
            limit: 10,
            with_payload: true,
            params: { exact: true },
          });
          assert.deepEqual(
            points.map((p) => p.id),
            expected.map((e) => e.id),
          );
          points.forEach((p, i) => {
            assert.ok(Math.abs(p.score - (expected[i]?.score ?? Number.NaN)) < SCORE_TOLERANCE, `score of ${String(p.id)}`);
            assert.deepEqual(p.payload, docs[Number(p.id) - 1]?.payload);
            assert.equal(p.vector, undefined);
          });
        }
      });
    }

    it('honours offset, score_threshold, with_payload selectors and the {nearest} form', async () => {
      const query = randomVector(seededUnit(7));
      const expected = bruteForce(docs, query, () => true, 10);
      const page = await client.query(name, { query: { nearest: query }, offset: 5, limit: 5, params: { exact: true } });
      assert.deepEqual(
        page.points.map((p) => p.id),
        expected.slice(5, 10).map((e) => e.id),
      );
      assert.ok(page.points.every((p) => p.payload === undefined || p.payload === null));

      const cut = ((expected[4]?.score ?? 0) + (expected[5]?.score ?? 0)) / 2;
      const above = await client.query(name, { query, limit: 10, score_threshold: cut, params: { exact: true } });
      assert.deepEqual(
        above.points.map((p) => p.id),
        expected.slice(0, 5).map((e) => e.id),
      );

      const include = await client.query(name, { query, limit: 3, with_payload: ['group'], params: { exact: true } });
      for (const p of include.points) assert.deepEqual(Object.keys(p.payload ?? {}), ['group']);
      const exclude = await client.query(name, { query, limit: 3, with_payload: { exclude: ['tags', 'n'] }, params: { exact: true } });
      for (const p of exclude.points) assert.deepEqual(Object.keys(p.payload ?? {}), ['group']);

      const [batchFirst, batchSecond] = await client.queryBatch(name, {
        searches: [
          { query, limit: 2, params: { exact: true } },
          { query, limit: 2, offset: 2, params: { exact: true } },
        ],
      });
      assert.deepEqual(
        [...(batchFirst?.points ?? []), ...(batchSecond?.points ?? [])].map((p) => p.id),
        expected.slice(0, 4).map((e) => e.id),
      );
    });

    it('scrolls every matching point in id order, retrieves by id and rejects unknown collections', async () => {
      const filter: Filter = { must: [{ key: 'group', match: { value: 'green' } }] };
      const seen: number[] = [];
      let offset: Schemas['ScrollRequest']['offset'];
      let pages = 0;
      do {
        const page = await client.scroll(name, { filter, limit: 100, offset, with_payload: true });
        for (const p of page.points) {
          seen.push(Number(p.id));
          assert.equal(p.payload?.group, 'green');
          assert.equal(p.vector, undefined);
        }
        offset = page.next_page_offset;
        pages++;
      } while (offset !== null && offset !== undefined && pages < 50);
      assert.deepEqual(
        seen,
        docs.filter((d) => d.payload.group === 'green').map((d) => d.id),
      );

      const records = await client.retrieve(name, { ids: [3, 1, 5000], with_vector: true, with_payload: false });
      assert.deepEqual(records.map((r) => r.id).sort(), [1, 3]);
      for (const record of records) {
        const doc = docs[Number(record.id) - 1];
        assert.ok(doc);
        const vector = record.vector as number[];
        assert.equal(vector.length, DIM);
        // Qdrant stores Cosine vectors normalised; the direction is what must survive.
        assert.ok(cosine(vector, doc.vector) > 1 - 1e-5);
        assert.equal(record.payload, undefined);
      }

      await assertFailsWith(client.scroll(uniqueName('missing'), { limit: 1 }), 404, /doesn't exist/);
    });
  });

  it('keeps payload indexes and filters through them', async () => {
    const name = await createCollection('index', 4);
    await client.upsert(name, {
      wait: true,
      points: [
        { id: 1, vector: [1, 0, 0, 0], payload: { lang: 'en', year: 2020, meta: { lang: 'en' } } },
        { id: 2, vector: [0, 1, 0, 0], payload: { lang: 'de', year: 2021, meta: { lang: 'de' } } },
        { id: randomUUID(), vector: [0, 0, 1, 0], payload: { lang: 'en', year: 2022, meta: { lang: 'en' } } },
      ],
    });
    await client.createPayloadIndex(name, { field_name: 'lang', field_schema: 'keyword', wait: true });
    await client.createPayloadIndex(name, { field_name: 'year', field_schema: 'integer', wait: true });
    const info = await client.getCollection(name);
    assert.equal(info.payload_schema.lang?.data_type, 'keyword');
    assert.equal(info.payload_schema.year?.data_type, 'integer');
    assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'lang', match: { value: 'en' } }] } }), { count: 2 });
    assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'meta.lang', match: { value: 'de' } }] } }), { count: 1 });
    assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'year', range: { gt: 2020 } }] } }), { count: 2 });

    await client.deletePayloadIndex(name, 'year', { wait: true });
    const after = await client.getCollection(name);
    assert.equal(after.payload_schema.year, undefined);
    assert.equal(after.payload_schema.lang?.data_type, 'keyword');
    await dropCollection(name);
  });

  it('returns UUID ids in lowercase hyphenated form', async () => {
    const name = await createCollection('uuid', 4);
    const id = randomUUID().toUpperCase();
    await client.upsert(name, { wait: true, points: [{ id, vector: [1, 2, 3, 4], payload: { k: 'v' } }] });
    const [record] = await client.retrieve(name, { ids: [id] });
    assert.equal(record?.id, id.toLowerCase());
    assert.deepEqual(record?.payload, { k: 'v' });
    await dropCollection(name);
  });

  it('swaps an alias atomically and searches through it', async () => {
    const oldName = await createCollection('alias_old', 4);
    const newName = await createCollection('alias_new', 4);
    await client.upsert(oldName, { wait: true, points: [{ id: 1, vector: [1, 0, 0, 0], payload: { generation: 'old' } }] });
    await client.upsert(newName, {
      wait: true,
      points: [
        { id: 2, vector: [1, 0, 0, 0], payload: { generation: 'new' } },
        { id: 3, vector: [0, 1, 0, 0], payload: { generation: 'new' } },
      ],
    });
    const alias = uniqueName('alias');

    assert.equal(
      await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: oldName, alias_name: alias } }] }),
      true,
    );
    const before = await client.query(alias, { query: [1, 0, 0, 0], limit: 5, with_payload: true });
    assert.deepEqual(
      before.points.map((p) => [p.id, p.payload?.generation]),
      [[1, 'old']],
    );

    // The swap the re-indexer performs: one request, both actions.
    assert.equal(
      await client.updateCollectionAliases({
        actions: [{ delete_alias: { alias_name: alias } }, { create_alias: { collection_name: newName, alias_name: alias } }],
      }),
      true,
    );
    const afterSwap = await client.query(alias, { query: [1, 0, 0, 0], limit: 5, with_payload: true });
    assert.deepEqual(
      afterSwap.points.map((p) => [p.id, p.payload?.generation]),
      [
        [2, 'new'],
        [3, 'new'],
      ],
    );
    assert.deepEqual(await client.count(alias), { count: 2 });
    assert.equal((await client.getCollection(alias)).points_count, 2);
    assert.deepEqual((await client.getCollectionAliases(newName)).aliases, [{ alias_name: alias, collection_name: newName }]);
    assert.deepEqual((await client.getCollectionAliases(oldName)).aliases, []);
    const all = await client.getAliases();
    assert.deepEqual(
      all.aliases.filter((a) => a.alias_name === alias),
      [{ alias_name: alias, collection_name: newName }],
    );

    await assertFailsWith(
      client.updateCollectionAliases({
        actions: [{ create_alias: { collection_name: uniqueName('missing'), alias_name: uniqueName('a') } }],
      }),
      404,
    );

    // Dropping a collection drops its aliases too.
    await dropCollection(newName);
    assert.ok(!(await client.getAliases()).aliases.some((a) => a.alias_name === alias));
    await assertFailsWith(client.query(alias, { query: [1, 0, 0, 0], limit: 1 }), 404);
    await dropCollection(oldName);
  });

  it('deletes by filter and by id, then counts what is left', async () => {
    const name = await createCollection('delete', 4);
    const next = seededUnit(99);
    const points = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      vector: [next(), next(), next(), next()],
      payload: { group: GROUPS[i % 3] ?? 'red', n: i },
    }));
    await client.upsert(name, {
      wait: true,
      batch: { ids: points.map((p) => p.id), vectors: points.map((p) => p.vector), payloads: points.map((p) => p.payload) },
    });
    assert.deepEqual(await client.count(name), { count: 300 });

    const deleted = await client.delete(name, { wait: true, filter: { must: [{ key: 'group', match: { value: 'blue' } }] } });
    assert.equal(deleted.status, 'completed');
    assert.deepEqual(await client.count(name), { count: 200 });
    assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'group', match: { value: 'blue' } }] } }), { count: 0 });

    await client.delete(name, { wait: true, points: [0, 1, 2, 3] });
    // Ids 0, 1, 3 existed (2 was blue and is already gone).
    assert.deepEqual(await client.count(name), { count: 197 });
    const survivors = await client.scroll(name, { limit: 3, with_payload: false });
    assert.deepEqual(
      survivors.points.map((p) => p.id),
      [4, 6, 7],
    );
    await dropCollection(name);
  });

  it('answers errors with Qdrant status codes', async () => {
    const missing = uniqueName('missing');
    await assertFailsWith(client.getCollection(missing), 404, new RegExp(`Collection \`${missing}\` doesn't exist`));
    await assertFailsWith(client.query(missing, { query: [1, 0, 0, 0] }), 404);
    await assertFailsWith(client.upsert(missing, { wait: true, points: [{ id: 1, vector: [1, 0, 0, 0] }] }), 404);

    const name = await createCollection('errors', 4);
    await assertFailsWith(client.upsert(name, { wait: true, points: [{ id: 1, vector: [1, 0, 0] }] }), 400, /dimension/i);
    await assertFailsWith(client.query(name, { query: [1, 0], limit: 1 }), 400);
    await assertFailsWith(client.upsert(name, { wait: true, points: [{ id: 'not-a-uuid', vector: [1, 0, 0, 0] }] }), 400);
    await assertFailsWith(client.query(name, { query: [1, 0, 0, 0], limit: 0 }), 422);
    // Filter rejects unknown fields (serde deny_unknown_fields) instead of ignoring a typo.
    await assertFailsWith(client.count(name, { filter: { mustt: [] } as unknown as Filter }), 400);
    assert.deepEqual(await client.count(name), { count: 0 });
    await dropCollection(name);
  });
});
