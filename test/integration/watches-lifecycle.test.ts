import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { queryEncoder } from '../../consumers/query/index.ts';
import { ReindexWorker } from '../../consumers/reindex/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { WatchMatcher, WatchRegistry, WatchStore } from '../../consumers/watch/index.ts';
import { createRedis } from '../../infra/index.ts';
import { cachedMediaEncoder, loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { mediaEncoderSettings } from '../../consumers/embedding/index.ts';
import { decodePosition, getModelSpec, type MatchEventV1, type Watch } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { jobEnded, startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// Watches across the matcher's first start and a rebuild to another model. A matcher group that
// did not exist yet still matches what was indexed after the oldest watch was added. After a
// rebuild the watches are embedded again with the new model, and the old model's watch collection
// is dropped with its documents' collection, never before every watch moved.
describe('watches across the matcher first start and a rebuild to another model', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let reindexing: ReindexStack;
  let registry: WatchRegistry;
  let store: WatchStore;

  const FP32 = 'all-minilm-l6-v2';
  const INT8 = 'all-minilm-l6-v2-q';
  const encoders = (): Record<string, OnnxEncoder> => ({ [FP32]: fp32, [INT8]: int8 });
  const embedQueries = (modelId: string): Promise<(texts: string[]) => Promise<Float32Array[]>> => {
    const encoder = encoders()[modelId];
    if (!encoder) return Promise.reject(new Error(`no encoder for ${modelId}`));
    const q = queryEncoder(encoder);
    return Promise.resolve((texts) => q.embedQueries(texts));
  };
  const exists = async (collection: string): Promise<boolean> => (await h.qdrant.collectionExists(collection)).exists;
  /** The watch's stored vector in a collection, beside the query embedded with that collection's model. */
  const cosineToModel = async (collection: string, watch: Watch, modelId: string): Promise<number> => {
    const [point] = await h.qdrant.retrieve(collection, { ids: [watch.id], with_vector: true });
    const stored = (point?.vector as Record<string, number[]> | undefined)?.text ?? [];
    const [expected] = await (await embedQueries(modelId))(['text' in watch.query ? watch.query.text : '']);
    let dot = 0;
    for (let i = 0; i < stored.length; i++) dot += (stored[i] ?? 0) * (expected?.[i] ?? 0);
    return dot;
  };

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_REINDEX_GRACE_MS: '1000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec(FP32)), loadEncoder(getModelSpec(INT8))]);
    reindexing = await startReindexStack(h, [fp32, int8]);
    registry = new WatchRegistry({ qdrant: h.qdrant, topology: h.topology, config: h.config, embedQueries });
    store = new WatchStore(h.qdrant, h.topology);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(await readScifact(12));
    await producer.close();
    await waitFor(
      'the live index holds the documents',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count >= 12 ? true : undefined),
      300_000,
      250,
    );
  });

  after(async () => {
    await reindexing?.close();
    await Promise.all([fp32?.close(), int8?.close()]);
    await h?.close();
  });

  it('a matcher group started after documents were indexed matches the ones indexed since the oldest watch', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const watch = await registry.add({ query: { text: 'volcanic eruptions' }, tenant, threshold: 0.5 });
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const position = decodePosition(
      await producer.upsert([
        { id: 'lava', tenant, title: 'Lava flows', text: 'Molten lava poured down the slopes of the volcano after the eruption.' },
        { id: 'bread', tenant, title: 'Baking bread', text: 'Knead the dough, let it rise, and bake the loaf in a hot oven.' },
      ]),
    );
    await producer.close();
    // Indexed, and announced on the feed, while no matcher group exists.
    await waitFor(
      'the live encoder to commit past the documents',
      async () => {
        const [group] = await h.admin.fetchOffsets({ groupId: h.topology.groups.encoder, topics: [position.topic] });
        const done = new Map((group?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        return [...position.offsets].every(([p, o]) => (done.get(p) ?? -1n) > o) ? true : undefined;
      },
      120_000,
      200,
    );

    const matches: MatchEventV1[] = [];
    const tail = h.kafka.consumer({ groupId: `${h.namespace}.test-matches` });
    await tail.connect();
    await tail.subscribe({ topic: h.topology.topics.matches, fromBeginning: true });
    await tail.run({
      eachMessage: ({ message }) => Promise.resolve(void matches.push(JSON.parse(message.value?.toString() ?? '') as MatchEventV1)),
    });
    const redis = createRedis(h.services.redis, `test-${h.namespace}-matcher`);
    const metrics = new MetricsRegistry();
    const matcher = new WatchMatcher({
      kafka: h.kafka,
      qdrant: h.qdrant,
      redis,
      topology: h.topology,
      config: h.config,
      embedQueries,
      metrics,
    });
    try {
      await matcher.start();
      await waitFor(
        'the matcher to handle both feed events',
        async () =>
          (await metrics.value('searchbus_messages_processed_total', { role: 'watch-matcher', topic: h.topology.topics.indexed })) >= 2
            ? true
            : undefined,
        120_000,
        100,
      );
      await waitFor('the lava match', () => Promise.resolve(matches.some((m) => m.watchId === watch.id) ? true : undefined), 30_000, 100);
      assert.deepEqual(
        matches.filter((m) => m.watchId === watch.id).map((m) => m.id),
        ['lava'],
      );
    } finally {
      await matcher.close();
      await redis.quit();
      await tail.disconnect();
    }
  });

  it('moves every watch into the new model and drops the old model watch collection with its documents', async () => {
    const watches = [
      ...(await store.list(store.collectionOf(FP32))),
      await registry.add({ query: { text: 'volcanic eruptions' }, tenant: 'a', threshold: 0.5 }),
      await registry.add({ query: { text: 'gene expression in cancer cells' }, tenant: 'b', threshold: 0.4 }),
    ];
    assert.ok(await exists(store.collectionOf(FP32)));
    const { jobId } = await reindexing.queue.request({ modelId: INT8 });
    const ended = await jobEnded(reindexing.queue, jobId);
    assert.equal(ended.result?.outcome, 'swapped', ended.failedReason ?? '');

    await waitFor(
      'the old model watch collection to be dropped',
      async () => ((await exists(store.collectionOf(FP32))) ? undefined : true),
      120_000,
      200,
    );
    assert.equal(await exists(ended.result?.previous ?? ''), false, 'the old documents collection went first');
    const moved = await store.list(store.collectionOf(INT8));
    assert.deepEqual(moved.map((w) => w.id).sort(), watches.map((w) => w.id).sort());
    for (const watch of watches)
      assert.ok((await cosineToModel(store.collectionOf(INT8), watch, INT8)) > 0.999, 'embedded with the new model');
  });

  it('a watch collection left behind (its drop never ran to the end) is moved and dropped by reconciliation', async () => {
    assert.equal(await exists(store.collectionOf(FP32)), false);
    // What a worker that died between the drop of the documents and the watches leaves: the old
    // model's watches, one of them not yet in the live model's collection.
    const layout = { dense: 'text', sparse: null, media: {} } as const;
    const stranded: Watch = {
      id: randomUUID(),
      tenant: 'c',
      query: { text: 'coral reef bleaching' },
      threshold: 0.5,
      createdAt: new Date().toISOString(),
    };
    const old = await store.ensure(FP32, layout);
    const [vector] = await (await embedQueries(FP32))(['coral reef bleaching']);
    await store.put(old, stranded, { text: Array.from(vector!) });

    const media = cachedMediaEncoder(mediaEncoderSettings(h.config.media));
    const worker = new ReindexWorker({
      media,
      connection: reindexing.redis,
      redis: reindexing.redis,
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.reject(new Error('no rebuild here')),
      queryEncoder: async (id) => queryEncoder(await reindexing.encoderOf(id)),
    });
    try {
      await worker.start();
      await waitFor('the stranded watch collection to be dropped', async () => ((await exists(old)) ? undefined : true), 120_000, 200);
      const live = await store.list(store.collectionOf(INT8));
      assert.ok(
        live.some((w) => w.id === stranded.id),
        'the stranded watch was moved, not lost',
      );
      assert.ok((await cosineToModel(store.collectionOf(INT8), stranded, INT8)) > 0.999);
    } finally {
      await worker.close();
      await media.close();
    }
  });
});
