import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { documentText } from '../../consumers/encoder/index.ts';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { ReindexJobSummary, ReindexQueue } from '../../consumers/reindex/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { getModelSpec } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact, type CorpusDoc } from '../support/corpus.ts';
import type { QueryStack } from '../support/query-stack.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// Zero-downtime rebuilds with two real models (fp32 and int8 all-MiniLM-L6-v2) on real services.
describe('re-indexing', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let reindexing: ReindexStack;
  let stack: QueryStack;
  let queue: ReindexQueue;
  let producer: IngestProducer;
  let docs: CorpusDoc[];

  const FP32 = 'all-minilm-l6-v2';
  const INT8 = 'all-minilm-l6-v2-q';
  const liveCollection = async (): Promise<string | undefined> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;
  const docPoints = async (collection: string, docId: string): Promise<Array<Record<string, unknown>>> =>
    (
      await h.qdrant.scroll(collection, { filter: { must: [{ key: 'doc_id', match: { value: docId } }] }, limit: 100, with_payload: true })
    ).points.map((p) => p.payload ?? {});
  const job = async (id: string): Promise<ReindexJobSummary> => {
    const summary = await queue.get(id);
    assert.ok(summary, `job ${id} exists`);
    return summary;
  };

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_REINDEX_GRACE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec(FP32)), loadEncoder(getModelSpec(INT8))]);
    reindexing = await startReindexStack(h, [fp32, int8]);
    ({ query: stack, queue } = reindexing);
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    docs = await readScifact(240);
    await producer.upsert(docs);
    const chunks = docs.reduce((s, d) => s + fp32.chunk(documentText(d)).length, 0);
    await waitFor(
      'the live index holds the corpus',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count === chunks ? true : undefined),
      300_000,
      250,
    );
  });

  after(async () => {
    await producer?.close();
    await reindexing?.close();
    await Promise.all([fp32?.close(), int8?.close()]);
    await h?.close();
  });

  it('swaps to a collection built by another model with no failed or empty search, keeping updates and deletes made meanwhile', async () => {
    const before = await liveCollection();
    assert.match(before ?? '', /__all-minilm-l6-v2__v1$/);

    // A continuous stream of searches for documents that exist, all through the rebuild.
    const queries = docs.slice(0, 40).map((d) => d.title);
    const outcome = { searches: 0, errors: [] as string[], empty: 0, models: new Set<string>(), modelAfterSwap: [] as string[] };
    let swapped = false;
    let running = true;
    const searching = (async () => {
      for (let i = 0; running; i++) {
        try {
          const result = await stack.client.search({ text: queries[i % queries.length] ?? '', topK: 5 });
          outcome.searches++;
          outcome.models.add(result.model);
          if (result.hits.length === 0) outcome.empty++;
          if (swapped) outcome.modelAfterSwap.push(result.model);
        } catch (error) {
          outcome.errors.push((error as Error).message);
        }
      }
    })();

    // And a document rewritten without pause, across the swap and the hand-over.
    const churned = docs[5]!;
    let version = 0;
    const churning = (async () => {
      while (running) {
        version++;
        await producer.upsert([
          { id: churned.id, title: `Churned version ${version}`, text: `Revision ${version} of a document updated without pause.` },
        ]);
        await delay(50);
      }
    })();

    const { jobId, created } = await queue.request({ modelId: INT8 });
    assert.ok(created);
    const again = await queue.request({ modelId: INT8 });
    assert.deepEqual(again, { jobId, created: false }, 'at most one rebuild per alias');

    await waitFor(
      'the rebuild to be replaying',
      async () => ((await job(jobId)).progress?.phase === 'replaying' ? true : undefined),
      120_000,
      50,
    );
    const [updated, deleted] = [docs[3]!, docs[4]!];
    await producer.upsert([
      {
        id: updated.id,
        title: 'Updated during the rebuild: zebra migration patterns',
        text: 'Zebras cross the Serengeti every year following the rains.',
      },
      { id: 'added-during-rebuild', title: 'Added during the rebuild', text: 'A document that did not exist when the rebuild started.' },
    ]);
    await producer.delete([{ id: deleted.id }]);

    const done = await waitFor(
      'the rebuild to complete',
      async () => {
        const j = await job(jobId);
        if (j.state === 'failed') throw new Error(`rebuild failed: ${j.failedReason ?? ''}`);
        return j.state === 'completed' ? j : undefined;
      },
      300_000,
      200,
    );
    swapped = true;
    const target = done.result?.target ?? '';
    assert.match(target, /__all-minilm-l6-v2-q__v2$/);
    assert.equal(await liveCollection(), target);

    // Let searches run past the alias cache lifetime so some are answered by the new model.
    await waitFor(
      'searches answered with the new model',
      () => Promise.resolve(outcome.modelAfterSwap.filter((m) => m === INT8).length >= 5 ? true : undefined),
      60_000,
      100,
    );
    running = false;
    await Promise.all([searching, churning]);

    process.stderr.write(
      `searches during the rebuild: ${outcome.searches}, errors ${outcome.errors.length}, empty ${outcome.empty}; rebuild ${done.result?.seconds.toFixed(1)} s\n`,
    );
    assert.deepEqual(outcome.errors, [], 'no search failed');
    assert.equal(outcome.empty, 0, 'no search came back empty');
    assert.deepEqual([...outcome.models].sort(), [FP32, INT8]);
    const afterSwitch = outcome.modelAfterSwap.slice(outcome.modelAfterSwap.indexOf(INT8));
    assert.ok(
      afterSwitch.every((m) => m === INT8),
      'once on the new model, queries never go back to the old one',
    );

    // No lost update, no resurrected delete, and every vector in the new collection is the new model's.
    await waitFor('the update in the new collection', async () =>
      (await docPoints(target, updated.id))[0]?.title === 'Updated during the rebuild: zebra migration patterns' ? true : undefined,
    );
    assert.equal((await docPoints(target, 'added-during-rebuild')).length, 1);
    assert.equal((await docPoints(target, deleted.id)).length, 0, 'deleted during the rebuild stays deleted');
    await waitFor(`the last of ${version} rewrites in the new collection`, async () =>
      (await docPoints(target, churned.id))[0]?.title === `Churned version ${version}` ? true : undefined,
    );
    assert.equal((await docPoints(target, churned.id)).length, 1);
    const models = new Set((await allPoints(h.qdrant, target)).map((p) => p.payload.model));
    assert.deepEqual([...models], [INT8]);
    const zebra = await stack.client.search({ text: 'zebra migration across the Serengeti', topK: 1 });
    assert.equal(zebra.hits[0]?.docId, updated.id);
    assert.equal(zebra.model, INT8);

    // The previous collection goes after the grace period.
    await waitFor(
      'the previous collection to be dropped',
      async () => ((await h.qdrant.collectionExists(before ?? '')).exists ? undefined : true),
      60_000,
      250,
    );
  });

  it('cancels a rebuild: the live index is untouched and the partial collection removed', async () => {
    const liveBefore = await liveCollection();
    const { jobId } = await queue.request({ modelId: FP32 });
    const progress = await waitFor(
      'the rebuild to be replaying',
      async () => {
        const p = (await job(jobId)).progress;
        return p?.phase === 'replaying' ? p : undefined;
      },
      120_000,
      20,
    );
    assert.equal(await queue.cancel(jobId), 'active');
    const failed = await waitFor(
      'the rebuild to end',
      async () => {
        const j = await job(jobId);
        return j.state === 'failed' ? j : undefined;
      },
      120_000,
      100,
    );
    assert.match(failed.failedReason ?? '', /cancelled/);
    assert.equal(failed.attemptsMade, 1, 'a cancelled rebuild is not retried');
    assert.equal(await liveCollection(), liveBefore);
    assert.equal((await h.qdrant.collectionExists(progress.target)).exists, false);
    const hits = await stack.client.search({ text: docs[10]!.title, topK: 3 });
    assert.equal(hits.hits[0]?.docId, docs[10]!.id);
  });

  it('refuses to rebuild when retention removed part of the ingest history, with numbers', async () => {
    const topic = h.topology.topics.ingest;
    const offsets = await h.admin.fetchTopicOffsets(topic);
    const partition = offsets.find((o) => BigInt(o.high) > 2n);
    assert.ok(partition, 'a partition with records');
    await h.admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] },
      ],
    });
    await h.admin.deleteTopicRecords({ topic, partitions: [{ partition: partition.partition, offset: '2' }] });
    const { jobId } = await queue.request({ modelId: INT8 });
    const failed = await waitFor(
      'the rebuild to be refused',
      async () => {
        const j = await job(jobId);
        return j.state === 'failed' ? j : undefined;
      },
      60_000,
      100,
    );
    assert.match(failed.failedReason ?? '', new RegExp(`partition ${partition.partition} starts at offset 2`));
    assert.match(failed.failedReason ?? '', /cleanup\.policy=compact,delete/);
  });
});
