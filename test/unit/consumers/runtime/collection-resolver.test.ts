import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectionResolver } from '../../../../consumers/runtime/index.ts';
import { UnavailableError } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

/** The alias' collection cannot be resolved: an UnavailableError `collection-unresolved`, retriable or not. */
const unresolved = (retriable: boolean) => (e: unknown) =>
  errorOf(UnavailableError, 'collection-unresolved')(e) && (e as UnavailableError).retriable === retriable;

const NAMED = {
  config: {
    params: { vectors: { text: { size: 384, distance: 'Cosine' } }, sparse_vectors: { 'text-bm25-en-porter-v1': { modifier: 'idf' } } },
  },
};

function aliases(target: () => string | undefined, info: (collection: string) => unknown = () => NAMED) {
  let calls = 0;
  let configReads = 0;
  return {
    get calls() {
      return calls;
    },
    get configReads() {
      return configReads;
    },
    getCollection: (collection: string) => {
      configReads += 1;
      return Promise.resolve(info(collection)) as never;
    },
    getAliases: () => {
      calls += 1;
      const collection = target();
      return Promise.resolve({ aliases: collection ? [{ alias_name: 'ns-documents', collection_name: collection }] : [] });
    },
  };
}

describe('CollectionResolver', () => {
  it('reads the model from the collection name behind the alias', async () => {
    const resolver = new CollectionResolver(
      aliases(() => 'ns-documents__e5-small-v2-q__v3'),
      'ns-documents',
      1000,
    );
    const resolved = await resolver.resolve();
    assert.deepEqual(
      { collection: resolved.collection, modelId: resolved.modelId },
      { collection: 'ns-documents__e5-small-v2-q__v3', modelId: 'e5-small-v2-q' },
    );
  });

  it('reads the vector layout from the collection config: named text + analyzer sparse, or a legacy unnamed vector', async () => {
    const named = await new CollectionResolver(
      aliases(() => 'ns-documents__m__v2'),
      'ns-documents',
      1000,
    ).resolve();
    assert.equal(named.layout.dense, 'text');
    assert.equal(named.layout.sparse?.name, 'text-bm25-en-porter-v1');
    assert.equal(named.layout.sparse?.analyzer.id, 'en-porter-v1');
    const legacy = await new CollectionResolver(
      aliases(
        () => 'ns-documents__m__v1',
        () => ({ config: { params: { vectors: { size: 384, distance: 'Cosine' } } } }),
      ),
      'ns-documents',
      1000,
    ).resolve();
    assert.deepEqual(legacy.layout, { dense: '', sparse: null });
    const unknownAnalyzer = await new CollectionResolver(
      aliases(
        () => 'ns-documents__m__v3',
        () => ({ config: { params: { vectors: { text: { size: 384, distance: 'Cosine' } }, sparse_vectors: { 'text-bm25-xx-v9': {} } } } }),
      ),
      'ns-documents',
      1000,
    ).resolve();
    assert.equal(unknownAnalyzer.layout.sparse, null, 'a sparse vector of an unknown analyzer is not searched');
    await assert.rejects(
      new CollectionResolver(
        aliases(
          () => 'ns-documents__m__v4',
          () => ({ config: { params: { vectors: { image: { size: 4, distance: 'Cosine' } } } } }),
        ),
        'ns-documents',
        1000,
      ).resolve(),
      unresolved(false),
    );
  });

  it('reads a collection config once, however often the alias is resolved', async () => {
    let now = 0;
    const qdrant = aliases(() => 'ns-documents__m__v1');
    const resolver = new CollectionResolver(qdrant, 'ns-documents', 10, () => now);
    await resolver.resolve();
    now = 100;
    await resolver.resolve();
    assert.equal(qdrant.calls, 2);
    assert.equal(qdrant.configReads, 1);
  });

  it('reuses an answer for the TTL, then sees a swap', async () => {
    let now = 0;
    let target = 'ns-documents__all-minilm-l6-v2__v1';
    const qdrant = aliases(() => target);
    const resolver = new CollectionResolver(qdrant, 'ns-documents', 1000, () => now);
    await resolver.resolve();
    target = 'ns-documents__bge-small-en-v1.5__v2';
    now = 999;
    assert.equal((await resolver.resolve()).modelId, 'all-minilm-l6-v2');
    assert.equal(qdrant.calls, 1);
    now = 1000;
    assert.equal((await resolver.resolve()).modelId, 'bge-small-en-v1.5');
    assert.equal(qdrant.calls, 2);
  });

  it('resolves again at once after invalidate()', async () => {
    let target = 'ns-documents__all-minilm-l6-v2__v1';
    const resolver = new CollectionResolver(
      aliases(() => target),
      'ns-documents',
      60_000,
    );
    await resolver.resolve();
    target = 'ns-documents__all-minilm-l6-v2__v2';
    resolver.invalidate();
    assert.equal((await resolver.resolve()).collection, 'ns-documents__all-minilm-l6-v2__v2');
  });

  it('shares one lookup between concurrent callers', async () => {
    const qdrant = aliases(() => 'ns-documents__all-minilm-l6-v2__v1');
    const resolver = new CollectionResolver(qdrant, 'ns-documents', 1000);
    await Promise.all([resolver.resolve(), resolver.resolve(), resolver.resolve()]);
    assert.equal(qdrant.calls, 1);
  });

  it('fails retriably without an alias and for good on a name without a model', async () => {
    await assert.rejects(
      new CollectionResolver(
        aliases(() => undefined),
        'ns-documents',
        1000,
      ).resolve(),
      unresolved(true),
    );
    await assert.rejects(
      new CollectionResolver(
        aliases(() => 'handmade'),
        'ns-documents',
        1000,
      ).resolve(),
      unresolved(false),
    );
  });
});
