import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ShadowSample, ShadowTarget } from '../../../../consumers/quality/index.ts';
import { ShadowMirror, type LiveAnswer } from '../../../../consumers/query/index.ts';
import { MetricsRegistry } from '../../../../consumers/runtime/index.ts';
import { layoutFor, type SearchHit, type SearchRequestV1 } from '../../../../topology/index.ts';

// Shadow comparison with the board and the query path replaced by in-memory stand-ins.

const hit = (docId: string): SearchHit => ({ docId, chunk: 0, score: 1, title: docId, snippet: '', metadata: {} });
const req = (id: string): SearchRequestV1 => ({
  schemaVersion: 1,
  id,
  query: { text: id },
  topK: 10,
  replyTo: 'ns:reply:c',
  deadline: Date.now() - 1,
});
const TARGET: ShadowTarget = { collection: 'a__all-minilm-l6-v2__v2', modelId: 'all-minilm-l6-v2', jobId: '1', sampleRate: 1, since: '' };

function setup(target: ShadowTarget | null, liveCollection = 'a__bge-small-en-v1.5__v1', random?: () => number) {
  const recorded: Array<{ collection: string; samples: readonly ShadowSample[]; errors: number }> = [];
  const searchedIn: string[] = [];
  const metrics = new MetricsRegistry();
  const mirror = new ShadowMirror({
    board: {
      target: () => Promise.resolve(target),
      record: (collection, samples, errors) => Promise.resolve(void recorded.push({ collection, samples, errors })),
    },
    deps: {
      encoder: (modelId) =>
        Promise.resolve({ modelId, embedQueries: (texts: string[]) => Promise.resolve(texts.map(() => new Float32Array([1]))) }),
      search: (collection, queries) => {
        searchedIn.push(collection);
        // The new collection answers b, a, c for every query.
        return Promise.resolve(
          queries.map(() =>
            ['b', 'a', 'c'].map((doc, i) => ({
              id: doc,
              score: 1 - i / 10,
              payload: { doc_id: doc, chunk: 0, title: doc, text: doc, metadata: {} },
            })),
          ),
        );
      },
      now: Date.now,
      oversampling: 1,
      maxChunksPerQuery: 1000,
    },
    describe: (collection) => Promise.resolve({ collection, modelId: TARGET.modelId, layout: layoutFor(null) }),
    liveCollection: () => Promise.resolve(liveCollection),
    refreshMs: 60_000,
    metrics,
    ...(random ? { random } : {}),
  });
  return { mirror, recorded, searchedIn, metrics };
}

const live = (ids: string[]): Map<string, LiveAnswer> => new Map(ids.map((id) => [id, { hits: [hit('a'), hit('b'), hit('c')], ms: 12 }]));

describe('ShadowMirror', () => {
  it('searches answered requests again on the target (with a deadline of its own) and records overlap, RBO and latency', async () => {
    const t = setup(TARGET);
    t.mirror.offer([req('r1'), req('r2'), req('unanswered')], live(['r1', 'r2']));
    await t.mirror.idle();
    await t.mirror.close();
    assert.deepEqual(t.searchedIn, [TARGET.collection]);
    assert.equal(t.recorded.length, 1);
    const [first] = t.recorded;
    assert.equal(first?.collection, TARGET.collection);
    assert.equal(first?.samples.length, 2, 'only answered requests are mirrored');
    assert.equal(first?.samples[0]?.overlapAt10, 1);
    assert.ok(Math.abs((first?.samples[0]?.rbo ?? 0) - 0.9) < 1e-9, 'a b c against b a c');
    assert.equal(first?.samples[0]?.liveMs, 12);
    assert.match(await t.metrics.render(), /searchbus_shadow_searches_total\{outcome="compared"\} 2/);
  });

  it('mirrors nothing without a target, to the live collection itself, or outside the sample', async () => {
    for (const t of [setup(null), setup(TARGET, TARGET.collection), setup({ ...TARGET, sampleRate: 0.5 }, undefined, () => 0.7)]) {
      t.mirror.offer([req('r1')], live(['r1']));
      await t.mirror.idle();
      await t.mirror.close();
      assert.deepEqual(t.searchedIn, []);
      assert.deepEqual(t.recorded, []);
    }
  });

  it('skips a batch while one is in flight instead of queueing it', async () => {
    const t = setup(TARGET);
    t.mirror.offer([req('r1')], live(['r1']));
    t.mirror.offer([req('r2')], live(['r2']));
    await t.mirror.idle();
    await t.mirror.close();
    assert.equal(t.recorded.length, 1);
    assert.equal(t.recorded[0]?.samples.length, 1);
  });

  it('closes once: a second close() gets the same promise, and nothing is mirrored afterwards', async () => {
    const t = setup(TARGET);
    const first = t.mirror.close();
    assert.equal(t.mirror.close(), first);
    await first;
    t.mirror.offer([req('r1')], live(['r1']));
    await t.mirror.idle();
    assert.deepEqual(t.searchedIn, []);
  });
});
