import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, mediaEncoderSettings, type MediaEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { cachedMediaEncoder, loadEncoder } from '../../infra/models/index.ts';
import { ReindexQueue, ReindexWorker } from '../../consumers/reindex/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { applyTopology, PAYLOAD_INDEXES, VECTOR_NAMES, vectorParams, type SearchMode } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact, type CorpusDoc } from '../support/corpus.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// A collection built before named vectors (one unnamed dense vector, no sparse vector) keeps being
// written and searched as it is; a rebuild moves it to the hybrid layout (named `text` + BM25 sparse)
// while searches in the default mode keep being answered: dense before the swap, hybrid after.
// The new collection also gets the media vectors (`image`, `audio`), which text documents leave empty.
describe('re-indexing a dense-only (legacy) collection into a hybrid one', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let live: EncoderConsumer;
  let stack: QueryStack;
  let worker: ReindexWorker;
  let media: MediaEncoder | undefined;
  let queue: ReindexQueue;
  let redis: Redis;
  let producer: IngestProducer;
  let docs: CorpusDoc[];
  let legacy: string;

  before(async () => {
    h = await createHarness({
      apply: false,
      env: { SEARCHBUS_REINDEX_GRACE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    // The layout every collection had before this release.
    legacy = h.topology.qdrant.collection(h.config.model.id, 1);
    await h.qdrant.createCollection(legacy, { vectors: vectorParams(h.config.model) });
    for (const index of PAYLOAD_INDEXES)
      await h.qdrant.createPayloadIndex(legacy, { field_name: index.field, field_schema: index.schema, wait: true });
    await h.qdrant.updateCollectionAliases({
      actions: [{ create_alias: { alias_name: h.topology.qdrant.alias, collection_name: legacy } }],
    });
    const report = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology: h.topology, config: h.config });
    assert.ok(
      report.drift.some((d) => d.includes('one unnamed dense vector')),
      'topology apply reports the legacy layout as drift',
    );

    encoder = await loadEncoder(h.config.model);
    const encoderFor = (): Promise<ReturnType<typeof documentEncoder>> => Promise.resolve(documentEncoder(encoder));
    redis = createRedis(h.services.redis, `test-${h.namespace}-reindex`);
    live = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: encoderFor,
      fences: new RedisWriteFences(redis, h.topology),
    });
    await live.start();
    stack = await startQueryStack(h, [encoder]);
    media = cachedMediaEncoder(mediaEncoderSettings(h.config.media));
    worker = new ReindexWorker({
      connection: redis,
      redis,
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: encoderFor,
      media,
    });
    await worker.start();
    queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    docs = await readScifact(60);
    await producer.upsert(docs);
    const chunks = docs.reduce((s, d) => s + encoder.chunk(documentText(d)).length, 0);
    await waitFor(
      'the legacy collection holds the corpus',
      async () => ((await h.qdrant.count(legacy, { exact: true })).count === chunks ? true : undefined),
      300_000,
      250,
    );
  });

  after(async () => {
    await producer?.close();
    await queue?.queue.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await worker?.close();
    await media?.close();
    await stack?.close();
    await live?.close();
    redis?.disconnect();
    await encoder?.close();
    await h?.close();
  });

  it('serves the legacy collection dense, then swaps to hybrid with no failed or empty search', async () => {
    const [point] = (await h.qdrant.scroll(legacy, { limit: 1, with_vector: true })).points;
    assert.ok(Array.isArray(point?.vector), 'the live encoder writes the legacy layout as it is (one unnamed vector)');
    const first = await stack.client.search({ text: docs[0]!.title, topK: 3 });
    assert.equal(first.mode, 'dense');
    assert.equal(first.hits[0]?.docId, docs[0]!.id);
    await assert.rejects(stack.client.search({ text: docs[0]!.title, topK: 3, mode: 'hybrid' }), /invalid-mode|sparse vectors/);

    const queries = docs.slice(0, 30).map((d) => d.title);
    const outcome = { searches: 0, errors: [] as string[], empty: 0, modes: [] as SearchMode[] };
    let running = true;
    const searching = (async () => {
      for (let i = 0; running; i++) {
        try {
          const result = await stack.client.search({ text: queries[i % queries.length] ?? '', topK: 5 });
          outcome.searches++;
          if (result.mode) outcome.modes.push(result.mode);
          if (result.hits.length === 0) outcome.empty++;
        } catch (error) {
          outcome.errors.push((error as Error).message);
        }
      }
    })();

    const { jobId } = await queue.request({ modelId: h.config.model.id });
    const done = await waitFor(
      'the rebuild to complete',
      async () => {
        const j = await queue.get(jobId);
        if (j?.state === 'failed') throw new Error(`rebuild failed: ${j.failedReason ?? ''}`);
        return j?.state === 'completed' ? j : undefined;
      },
      300_000,
      200,
    );
    const target = done.result?.target ?? '';
    assert.match(target, /__v2$/);
    await waitFor(
      'searches answered hybrid',
      () => Promise.resolve(outcome.modes.filter((m) => m === 'hybrid').length >= 5 ? true : undefined),
      60_000,
      100,
    );
    running = false;
    await searching;

    process.stderr.write(
      `searches during the dense -> hybrid rebuild: ${outcome.searches}, errors ${outcome.errors.length}, empty ${outcome.empty}\n`,
    );
    assert.deepEqual(outcome.errors, [], 'no search failed');
    assert.equal(outcome.empty, 0, 'no search came back empty');
    assert.equal(outcome.modes[0], 'dense');
    const switched = outcome.modes.indexOf('hybrid');
    assert.ok(
      outcome.modes.slice(switched).every((m) => m === 'hybrid'),
      'once on the hybrid collection, searches never go back',
    );

    const info = await h.qdrant.getCollection(target);
    // The new layout: named dense `text`, the media vectors beside it, and the BM25 sparse vector.
    assert.deepEqual(Object.keys(info.config.params.vectors as object).sort(), [VECTOR_NAMES.audio, VECTOR_NAMES.image, VECTOR_NAMES.text]);
    assert.equal(Object.values(info.config.params.sparse_vectors ?? {})[0]?.modifier, 'idf');
    const [rebuilt] = (await h.qdrant.scroll(target, { limit: 1, with_vector: true })).points;
    const vectors = rebuilt?.vector as Record<string, unknown>;
    // A text document's points carry the vectors its content has: text and sparse, no media.
    assert.deepEqual(Object.keys(vectors).sort(), [VECTOR_NAMES.text, ...Object.keys(info.config.params.sparse_vectors ?? {})].sort());
    for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
      const result = await stack.client.search({ text: docs[7]!.title, topK: 3, mode });
      assert.equal(result.hits[0]?.docId, docs[7]!.id, `found by its title in ${mode} mode`);
    }
  });
});
