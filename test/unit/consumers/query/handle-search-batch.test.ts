import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  handleSearchBatch,
  type ChunkQuery,
  type OutgoingReply,
  type QueryMessage,
  type SearchDependencies,
} from '../../../../consumers/query/index.ts';
import { getAnalyzerSpec, layoutFor, type SearchRequestV1 } from '../../../../topology/index.ts';

const DENSE_ONLY = layoutFor(null);
const HYBRID = layoutFor(getAnalyzerSpec('en-porter-v1'));

// The handler's decisions with its dependencies replaced by in-memory stand-ins: which requests
// are answered, skipped or refused, how it asks for more chunks, and how it reacts to failures.

const NOW = 1_000_000;

function request(id: string, extra: Partial<SearchRequestV1> = {}): QueryMessage {
  return {
    kind: 'search',
    request: { schemaVersion: 1, id, query: { text: `q-${id}` }, topK: 2, replyTo: `ns:reply:${id}`, deadline: NOW + 5_000, ...extra },
  };
}

/** Chunks of documents in score order: [doc, chunk] pairs. */
function page(pairs: Array<[string, number]>): Array<{ score: number; payload: Record<string, unknown> }> {
  return pairs.map(([doc, chunk], i) => ({
    score: 1 - i / 100,
    payload: { doc_id: doc, chunk, title: doc, text: `${doc}#${chunk}`, metadata: {} },
  }));
}

function deps(overrides: Partial<SearchDependencies> & { pages?: (query: ChunkQuery) => ReturnType<typeof page> } = {}) {
  const published: OutgoingReply[] = [];
  const searches: ChunkQuery[][] = [];
  let clock = NOW;
  let invalidations = 0;
  const d: SearchDependencies = {
    resolver: {
      resolve: () => Promise.resolve({ collection: 'c__all-minilm-l6-v2__v1', modelId: 'all-minilm-l6-v2', layout: DENSE_ONLY }),
      invalidate: () => void (invalidations += 1),
    },
    encoder: (modelId) =>
      Promise.resolve({ modelId, embedQueries: (texts: string[]) => Promise.resolve(texts.map(() => new Float32Array([1, 0]))) }),
    search: (_collection, queries) => {
      searches.push(queries);
      return Promise.resolve(
        queries.map((q) =>
          (
            overrides.pages ??
            (() =>
              page([
                ['a', 0],
                ['b', 0],
                ['c', 0],
              ]))
          )(q),
        ),
      );
    },
    publish: (replies) => {
      published.push(...replies);
      return Promise.resolve();
    },
    now: () => clock,
    oversampling: 1,
    maxChunksPerQuery: 1000,
    ...overrides,
  };
  return {
    d,
    published,
    searches,
    advance: (ms: number) => (clock += ms),
    get invalidations() {
      return invalidations;
    },
  };
}

const signal = new AbortController().signal;

describe('handleSearchBatch', () => {
  it('answers valid requests with collapsed hits and the model, refuses invalid ones, skips expired ones', async () => {
    const t = deps();
    const report = await handleSearchBatch(
      [
        request('ok'),
        { kind: 'invalid', id: 'bad', replyTo: 'ns:reply:bad', code: 'empty-query', message: 'query.text is empty' },
        { kind: 'invalid', id: 'lost', replyTo: null, code: 'invalid-request', message: 'x' },
        request('old', { deadline: NOW - 1 }),
      ],
      t.d,
      signal,
    );
    assert.deepEqual(report, { answered: 1, errors: { 'empty-query': 1 }, expired: 1, unreplyable: 1, model: 'all-minilm-l6-v2' });
    assert.deepEqual(
      t.published.map((p) => p.channel),
      ['ns:reply:bad', 'ns:reply:ok'],
    );
    const ok = t.published[1]!.reply as { hits: Array<{ docId: string }>; model: string };
    assert.deepEqual(
      ok.hits.map((h) => h.docId),
      ['a', 'b'],
    );
    assert.equal(ok.model, 'all-minilm-l6-v2');
    assert.deepEqual(t.published[0]!.reply, {
      schemaVersion: 1,
      id: 'bad',
      error: { code: 'empty-query', message: 'query.text is empty' },
    });
    assert.equal(t.searches.length, 1, 'one batch query');
  });

  it('always sends the tenant condition, the default tenant when none is asked for', async () => {
    const t = deps();
    await handleSearchBatch([request('x'), request('y', { tenant: 'acme' })], t.d, signal);
    const tenants = t.searches[0]!.map((q) => (q.filter.must as Array<{ key: string; match: { value: string } }>)[0]);
    assert.deepEqual(tenants, [
      { key: 'tenant', match: { value: 'default' } },
      { key: 'tenant', match: { value: 'acme' } },
    ]);
  });

  it('asks again with a larger limit when a full page collapses to fewer than topK documents', async () => {
    // Chunks of `a` fill the first page (limit 2); the second page (limit 8) reaches `b`.
    const t = deps({
      pages: (q) =>
        page([
          ['a', 0],
          ['a', 1],
          ['a', 2],
          ['b', 0],
          ['c', 0],
        ]).slice(0, q.limit),
    });
    await handleSearchBatch([request('x')], t.d, signal);
    assert.deepEqual(
      t.searches.map((s) => s.map((q) => q.limit)),
      [[2], [8]],
    );
    const hits = (t.published[0]!.reply as { hits: Array<{ docId: string; chunk: number }> }).hits;
    assert.deepEqual(
      hits.map((h) => [h.docId, h.chunk]),
      [
        ['a', 0],
        ['b', 0],
      ],
    );
  });

  it('stops asking when the collection has no more chunks', async () => {
    const t = deps({
      pages: (q) =>
        page([
          ['a', 0],
          ['a', 1],
          ['a', 2],
        ]).slice(0, q.limit),
    });
    await handleSearchBatch([request('x')], t.d, signal);
    assert.deepEqual(
      t.searches.map((s) => s.map((q) => q.limit)),
      [[2], [8]],
    );
    assert.equal((t.published[0]!.reply as { hits: unknown[] }).hits.length, 1);
  });

  it('retries a transient failure and answers', async () => {
    let calls = 0;
    const t = deps();
    const search = t.d.search;
    t.d.search = (collection, queries) =>
      ++calls === 1 ? Promise.reject(Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' })) : search(collection, queries);
    const report = await handleSearchBatch([request('x')], t.d, signal);
    assert.equal(report.answered, 1);
    assert.equal(calls, 2);
  });

  it('answers unavailable before the deadline when a dependency stays down', async () => {
    const t = deps();
    t.d.now = Date.now;
    t.d.search = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const started = Date.now();
    const report = await handleSearchBatch([request('x', { deadline: started + 300 })], t.d, signal);
    assert.ok(Date.now() < started + 300, 'answered before the deadline');
    assert.deepEqual(report.errors, { unavailable: 1 });
    assert.equal((t.published[0]!.reply as { error: { code: string } }).error.code, 'unavailable');
  });

  it('resolves the alias again when the collection was dropped after a swap', async () => {
    let resolved = 0;
    const t = deps();
    t.d.resolver = {
      resolve: () =>
        Promise.resolve(
          ++resolved === 1
            ? { collection: 'old__m__v1', modelId: 'm', layout: DENSE_ONLY }
            : { collection: 'new__m__v2', modelId: 'm', layout: DENSE_ONLY },
        ),
      invalidate: () => undefined,
    };
    const seen: string[] = [];
    t.d.search = (collection, queries) => {
      seen.push(collection);
      return collection === 'old__m__v1'
        ? Promise.reject(Object.assign(new Error('Not found'), { status: 404 }))
        : Promise.resolve(queries.map(() => page([['a', 0]])));
    };
    const report = await handleSearchBatch([request('x')], t.d, signal);
    assert.deepEqual(seen, ['old__m__v1', 'new__m__v2']);
    assert.equal(report.answered, 1);
  });

  it('isolates a query Qdrant refuses: the others are answered, it gets internal', async () => {
    const t = deps();
    t.d.search = (_c, queries) =>
      queries.some((q) => q.limit === 6)
        ? Promise.reject(Object.assign(new Error('Bad Request'), { status: 400 }))
        : Promise.resolve(
            queries.map(() =>
              page([
                ['a', 0],
                ['b', 0],
              ]),
            ),
          );
    const report = await handleSearchBatch([request('x'), request('y', { topK: 6 }), request('z')], t.d, signal);
    assert.deepEqual(report.errors, { internal: 1 });
    assert.equal(report.answered, 2);
    const failed = t.published.find((p) => p.reply.id === 'y')!.reply as { error: { code: string } };
    assert.equal(failed.error.code, 'internal');
  });

  it('answers internal when the encoder fails for good', async () => {
    const t = deps();
    t.d.encoder = () => Promise.reject(Object.assign(new Error('model broken'), { retriable: false }));
    const report = await handleSearchBatch([request('x'), request('y')], t.d, signal);
    assert.deepEqual(report.errors, { internal: 2 });
  });

  it('throws when publishing fails, so the runtime retries the batch', async () => {
    const t = deps();
    t.d.publish = () => Promise.reject(Object.assign(new Error('redis down'), { retriable: true }));
    await assert.rejects(handleSearchBatch([request('x')], t.d, signal), /redis down/);
  });

  it('searches hybrid by default where the collection has sparse vectors: tenant and filter inside every prefetch', async () => {
    const t = deps();
    t.d.resolver = {
      resolve: () => Promise.resolve({ collection: 'c__m__v2', modelId: 'm', layout: HYBRID }),
      invalidate: () => undefined,
    };
    const filter = { must: [{ key: 'topic', match: { value: 'genes' } }] };
    await handleSearchBatch([request('x', { tenant: 'acme', filter })], t.d, signal);
    const query = t.searches[0]![0]!;
    assert.deepEqual(query.query, { rrf: { k: 2, weights: [1, 0.5] } });
    assert.equal(query.prefetch?.length, 2);
    const [dense, sparse] = query.prefetch;
    assert.equal(dense!.using, 'text');
    assert.equal(sparse!.using, HYBRID.sparse!.name);
    for (const stage of [query, dense!, sparse!]) {
      assert.deepEqual(stage.filter, {
        must: [
          { key: 'tenant', match: { value: 'acme' } },
          { key: 'metadata.topic', match: { value: 'genes' } },
        ],
      });
    }
    assert.equal((t.published[0]!.reply as { mode: string }).mode, 'hybrid');
  });

  it('searches a code query hybrid: its text embedded, its sparse terms made by the code analyzer (structure terms included)', async () => {
    const embedded: string[] = [];
    const t = deps({
      encoder: (modelId) =>
        Promise.resolve({
          modelId,
          embedQueries: (texts: string[]) => {
            embedded.push(...texts);
            return Promise.resolve(texts.map(() => new Float32Array([1, 0])));
          },
        }),
    });
    t.d.resolver = {
      resolve: () => Promise.resolve({ collection: 'c__m__v2', modelId: 'm', layout: HYBRID }),
      invalidate: () => undefined,
    };
    const source = 'def parse_header(line):\n    return line.split(":")';
    const asCode = await handleSearchBatch([request('c', { query: { code: { text: source, language: 'python' } } })], t.d, signal);
    const asText = await handleSearchBatch([request('t', { query: { text: source } })], t.d, signal);
    assert.deepEqual([asCode.answered, asText.answered], [1, 1]);
    // The code query leans on its terms: the dense list at half weight (SEARCHBUS_QUERY_CODE_DENSE_WEIGHT).
    assert.deepEqual(t.searches[0]![0]!.query, { rrf: { k: 2, weights: [0.5, 1] } });
    assert.deepEqual(t.searches[1]![0]!.query, { rrf: { k: 2, weights: [1, 0.5] } });
    assert.deepEqual(embedded, [source, source]);
    const terms = (i: number): number => (t.searches[i]![0]!.prefetch![1]!.query as { indices: number[] }).indices.length;
    assert.ok(terms(0) > terms(1) + 5, `code terms ${terms(0)}, word terms ${terms(1)}`);
  });

  it('fuses with the configured RRF k and sparse weight, dense first, weights sent only when they differ from 1', async () => {
    const hybrid = async (fusion: SearchDependencies['fusion']) => {
      const t = deps({ fusion });
      t.d.resolver = {
        resolve: () => Promise.resolve({ collection: 'c__m__v2', modelId: 'm', layout: HYBRID }),
        invalidate: () => undefined,
      };
      await handleSearchBatch([request('h')], t.d, signal);
      const query = t.searches[0]![0]!;
      assert.deepEqual(
        query.prefetch?.map((p) => p.using),
        ['text', HYBRID.sparse!.name],
        'weights follow the prefetch order',
      );
      return query.query;
    };
    assert.deepEqual(await hybrid({ method: 'rrf', rrfK: 2, sparseWeight: 0.5, codeDenseWeight: 0.5 }), {
      rrf: { k: 2, weights: [1, 0.5] },
    });
    assert.deepEqual(await hybrid({ method: 'rrf', rrfK: 60, sparseWeight: 1, codeDenseWeight: 1 }), { rrf: { k: 60 } });
    assert.deepEqual(await hybrid({ method: 'dbsf', rrfK: 2, sparseWeight: 0.5, codeDenseWeight: 0.5 }), { fusion: 'dbsf' });
  });

  it('runs the mode asked for: dense by the embedding only, sparse by the terms only (no embedding), dbsf when configured', async () => {
    const t = deps({ fusion: { method: 'dbsf', rrfK: 60, sparseWeight: 1, codeDenseWeight: 1 } });
    let embedded = 0;
    t.d.resolver = {
      resolve: () => Promise.resolve({ collection: 'c__m__v2', modelId: 'm', layout: HYBRID }),
      invalidate: () => undefined,
    };
    t.d.encoder = (modelId) =>
      Promise.resolve({
        modelId,
        embedQueries: (texts: string[]) => ((embedded += texts.length), Promise.resolve(texts.map(() => new Float32Array([1, 0])))),
      });
    await handleSearchBatch(
      [request('d', { mode: 'dense' }), request('s', { mode: 'sparse' }), request('h', { mode: 'hybrid' })],
      t.d,
      signal,
    );
    const [dense, sparse, hybrid] = t.searches[0]!;
    assert.deepEqual(dense!.query, [1, 0]);
    assert.equal(dense!.using, 'text');
    assert.equal(sparse!.using, HYBRID.sparse!.name);
    assert.ok('indices' in (sparse!.query as object));
    assert.deepEqual(hybrid!.query, { fusion: 'dbsf' });
    assert.equal(embedded, 2, 'the sparse request is not embedded');
    assert.deepEqual(
      t.published.map((p) => (p.reply as { mode: string }).mode),
      ['dense', 'sparse', 'hybrid'],
    );
  });

  it('searches a legacy collection (unnamed vector) dense, and refuses sparse and hybrid there with invalid-mode', async () => {
    const t = deps();
    t.d.resolver = {
      resolve: () => Promise.resolve({ collection: 'c__m__v1', modelId: 'm', layout: { dense: '', sparse: null } }),
      invalidate: () => undefined,
    };
    const report = await handleSearchBatch([request('d'), request('s', { mode: 'sparse' }), request('h', { mode: 'hybrid' })], t.d, signal);
    assert.equal(report.answered, 1);
    assert.deepEqual(report.errors, { 'invalid-mode': 2 });
    const query = t.searches[0]![0]!;
    assert.equal(query.using, undefined, 'no vector name on a legacy collection');
    assert.equal(t.searches[0]!.length, 1);
  });
});
