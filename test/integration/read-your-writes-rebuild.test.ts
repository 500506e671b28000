import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import type { ReindexJobSummary } from '../../consumers/reindex/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// Read your writes across a rebuild: documents published and searched at once with `after`, without
// pause, while a rebuild replays the topic into a new collection, swaps the alias and hands the
// collection over to the live encoder. Every search must find its document on the first try (the
// live writes pause during the hand-over, so some of them wait) or, past its deadline, say
// not-yet-indexed; none may come back without it.
describe('read your writes across a rebuild', () => {
  let h: Harness;
  let model: OnnxEncoder;
  let stack: ReindexStack;
  let producer: IngestProducer;
  const WRITERS = 4;

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_REINDEX_GRACE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    model = await loadEncoder(h.config.model);
    stack = await startReindexStack(h, [model], { queryTimeoutMs: 20_000 });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
  });

  after(async () => {
    await producer?.close();
    await stack?.close();
    await model?.close();
    await h?.close();
  });

  const liveCollection = async (): Promise<string | undefined> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;

  it('finds every document searched with after while the alias swaps and the hand-over runs', async () => {
    const first = await liveCollection();
    const outcome = { searched: 0, found: 0, notYetIndexed: 0, missed: [] as string[], afterSwap: 0 };
    let swapped = false;
    let running = true;
    // Several writers at once, so that some publish in the moment a swap is seen by one consumer
    // and not yet by the other.
    const writer = async (): Promise<void> => {
      while (running) {
        const tenant = `rb-${randomUUID().slice(0, 8)}`;
        const id = `doc-${randomUUID().slice(0, 8)}`;
        const text = `Logbook of ${tenant}: the lighthouse keeper records the tide at dawn.`;
        const position = await producer.upsert([{ id, tenant, text }]);
        try {
          const result = await stack.query.client.search({ text, tenant, topK: 3, after: position });
          outcome.searched++;
          if (swapped) outcome.afterSwap++;
          if (result.hits[0]?.docId === id) outcome.found++;
          else outcome.missed.push(`${tenant}/${id} (${result.hits.length} hits)`);
        } catch (error) {
          if ((error as { code?: string }).code === 'not-yet-indexed') outcome.notYetIndexed++;
          else outcome.missed.push(`${tenant}/${id}: ${(error as Error).message}`);
        }
      }
    };
    const writing = Promise.all(Array.from({ length: WRITERS }, writer));

    try {
      await rebuildMeanwhile();
    } finally {
      running = false;
      await writing;
    }
    process.stderr.write(`read your writes across a rebuild: ${JSON.stringify(outcome)}\n`);
    assert.deepEqual(outcome.missed, [], JSON.stringify(outcome));
    assert.equal(outcome.notYetIndexed, 0, JSON.stringify(outcome));
    assert.equal(outcome.found, outcome.searched);

    async function rebuildMeanwhile(): Promise<void> {
      await waitFor('some searches before the rebuild', () => Promise.resolve(outcome.searched >= 20 ? true : undefined), 120_000, 50);
      const { jobId } = await stack.queue.request({ modelId: h.config.model.id });
      const done = await waitFor(
        'the rebuild to complete',
        async () => {
          const j: ReindexJobSummary | null = await stack.queue.get(jobId);
          if (j?.state === 'failed') throw new Error(`rebuild failed: ${j.failedReason ?? ''}`);
          return j?.state === 'completed' ? j : undefined;
        },
        300_000,
        200,
      );
      swapped = true;
      const now = await liveCollection();
      assert.ok(now !== undefined && now !== first, `the alias moved from ${first} to ${now} (${JSON.stringify(done.result)})`);
      await waitFor('searches past the swap', () => Promise.resolve(outcome.afterSwap >= 40 ? true : undefined), 120_000, 50);
    }
  });
});
