import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectionResolutionError, CollectionResolver } from '../../../../consumers/runtime/index.ts';

function aliases(target: () => string | undefined) {
  let calls = 0;
  return {
    get calls() {
      return calls;
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
    const resolver = new CollectionResolver(aliases(() => 'ns-documents__e5-small-v2-q__v3'), 'ns-documents', 1000);
    assert.deepEqual(await resolver.resolve(), { collection: 'ns-documents__e5-small-v2-q__v3', modelId: 'e5-small-v2-q' });
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
    const resolver = new CollectionResolver(aliases(() => target), 'ns-documents', 60_000);
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
    await assert.rejects(new CollectionResolver(aliases(() => undefined), 'ns-documents', 1000).resolve(), (e: unknown) => e instanceof CollectionResolutionError && e.retriable);
    await assert.rejects(new CollectionResolver(aliases(() => 'handmade'), 'ns-documents', 1000).resolve(), (e: unknown) => e instanceof CollectionResolutionError && !e.retriable);
  });
});
