import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, mediaEncoderSettings, type MediaEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { RedisWriteFences, type WriteFence } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { cachedMediaEncoder, loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { decodePosition, ensureCollection } from '../../topology/index.ts';
import type { Redis } from 'ioredis';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// Read your writes across the take-over of a rebuild that died after its swap, with the text and
// media encoder groups split. Before they saw the swap, both live groups wrote records past where
// the rebuild group stopped into the previous collection and committed them. The take-over opens
// the new collection's fence with a rewind to where the rebuild stopped; each group must read those
// records again. Here the media group is down while the text group rewinds and finishes: a search
// with `after` one of its documents must then wait (not-yet-indexed), never come back without it,
// and once the media group is back, find it.
describe('read your writes across a rewind with split encoder groups', () => {
  let h: Harness;
  let model: OnnxEncoder;
  let media: MediaEncoder;
  let redis: Redis;
  let fences: RedisWriteFences;
  let producer: IngestProducer;
  let query: QueryStack;
  const groups = new Map<'text' | 'media', EncoderConsumer>();

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_INGEST_PARTITIONS: '1', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '300' } });
    model = await loadEncoder(h.config.model);
    media = cachedMediaEncoder(mediaEncoderSettings(h.config.media));
    redis = createRedis(h.services.redis, `test-${h.namespace}-rewind`);
    fences = new RedisWriteFences(redis, h.topology);
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    query = await startQueryStack(h, [model], { timeoutMs: 30_000 });
    for (const modality of ['text', 'media'] as const) await startGroup(modality);
  });

  after(async () => {
    for (const group of groups.values()) await group.close();
    await query?.close();
    await producer?.close();
    await redis?.quit();
    await media?.close();
    await model?.close();
    await h?.close();
  });

  async function startGroup(modality: 'text' | 'media'): Promise<void> {
    const consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(model)),
      modality,
      media,
      fences,
    });
    groups.set(modality, consumer);
    await consumer.start();
  }

  const groupId = (modality: 'text' | 'media'): string =>
    modality === 'text' ? h.topology.groups.encoder : h.topology.groups.mediaEncoder;
  const committed = async (group: string): Promise<bigint> => {
    const [offsets] = await h.admin.fetchOffsets({ groupId: group, topics: [h.topology.topics.ingest] });
    return BigInt(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
  };
  const end = async (): Promise<bigint> => BigInt((await h.admin.fetchTopicOffsets(h.topology.topics.ingest))[0]?.high ?? '0');
  const caughtUp = (modalities: ReadonlyArray<'text' | 'media'>): Promise<true> =>
    waitFor(
      `the ${modalities.join(' and ')} group(s) to commit the whole topic`,
      async () => {
        const high = await end();
        for (const m of modalities) if ((await committed(groupId(m))) < high) return undefined;
        return true;
      },
      120_000,
      100,
    );
  const markdown = (text: string): { type: string; data: string } => ({
    type: 'text/markdown',
    data: Buffer.from(text).toString('base64'),
  });
  const aliasTarget = async (): Promise<string> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name ?? '';

  /**
   * Publishes filler records until `modality`'s group has ended its rewind of partition 0: a group
   * rewinds in the handler of its next batch (the first is sought back, the next proves the replay
   * was committed), so an idle partition needs records to move it on.
   */
  async function rewindsOver(modality: 'text' | 'media', target: string, tenant: string): Promise<void> {
    const over = (fence: WriteFence | null): boolean =>
      fence?.state === 'open' && (fence.rewind?.['0'] === undefined || (fence.rewound ?? []).includes(`${groupId(modality)}/0`));
    for (let i = 0; !over(await fences.get(target)); i++) {
      if (i > 100) assert.fail(`the ${modality} group never ended its rewind: ${JSON.stringify(await fences.get(target))}`);
      await producer.upsert([
        { id: `${modality}-filler-${i}`, tenant: `${tenant}-filler`, text: `Filler record ${i} to move the groups on.` },
      ]);
      await caughtUp([modality]);
    }
  }

  it('a search with after a media document waits while the media group owes its rewind, and finds it after', async () => {
    const tenant = `rw-${randomUUID().slice(0, 8)}`;
    const textA = 'Harbour log: the ferry left at noon with forty passengers aboard.';
    await producer.upsert([
      { id: 'a-text', tenant, text: textA },
      { id: 'a-doc', tenant, title: 'Orchard notes', media: markdown('# Orchard notes\n\nThe apple trees were pruned in late winter.') },
    ]);
    await caughtUp(['text', 'media']);
    // The query path warm (its model loaded), so that the searches below are judged on coverage alone.
    assert.equal((await query.client.search({ text: textA, tenant, topK: 1 })).hits[0]?.docId, 'a-text');

    // What a rebuild that died right after its swap leaves: a new collection holding every record up
    // to where its group stopped (here a copy of the live one), that group's offsets, and its closed fence.
    const previous = await aliasTarget();
    const target = h.topology.qdrant.collection(h.config.model.id, 2);
    await ensureCollection(h.qdrant, target, h.config.model, { settings: h.config.qdrant, analyzer: h.config.sparseAnalyzer });
    const { points } = await h.qdrant.scroll(previous, { limit: 1000, with_payload: true, with_vector: true });
    await h.qdrant.upsert(target, {
      wait: true,
      points: points.map((p) => ({ id: p.id, vector: p.vector as Record<string, number[]>, payload: p.payload ?? {} })),
    });
    const rebuildGroup = h.topology.groups.reindex(target);
    const stoppedAt = await end();
    await h.admin.setOffsets({
      groupId: rebuildGroup,
      topic: h.topology.topics.ingest,
      partitions: [{ partition: 0, offset: stoppedAt.toString() }],
    });
    await fences.acquire(target, { owner: 'dead-attempt', jobId: 'dead', groupId: rebuildGroup }, 100, true);

    // Published after the rebuild stopped and before the live groups saw the swap: into the previous collection.
    const docText = 'The lighthouse keeper logged a storm surge at dawn and a broken lamp.';
    const position = await producer.upsert([
      { id: 'b-text', tenant, text: 'Harbour log: the pilot boat returned before the fog came in.' },
      { id: 'b-doc', tenant, title: 'Lighthouse', media: markdown(`# Lighthouse\n\n${docText}`) },
    ]);
    await caughtUp(['text', 'media']);
    const bDoc = decodePosition(position);
    assert.ok(
      [...bDoc.offsets.values()].every((o) => o >= stoppedAt),
      'the documents lie past where the rebuild stopped',
    );

    // The media group is down; the alias moves; the text group takes the collection over and rewinds.
    await groups.get('media')?.close();
    groups.delete('media');
    await h.qdrant.updateCollectionAliases({
      actions: [
        { delete_alias: { alias_name: h.topology.qdrant.alias } },
        { create_alias: { alias_name: h.topology.qdrant.alias, collection_name: target } },
      ],
    });
    await rewindsOver('text', target, tenant);
    const inTarget = async (id: string): Promise<boolean> =>
      (
        await h.qdrant.count(target, {
          exact: true,
          filter: {
            must: [
              { key: 'doc_id', match: { value: id } },
              { key: 'tenant', match: { value: tenant } },
            ],
          },
        })
      ).count > 0;
    assert.ok(await inTarget('b-text'), 'the text group wrote its records past the rebuild again');
    assert.equal(await inTarget('b-doc'), false, 'the media document is in the previous collection only, so far');

    // Never a silent miss: found, or not-yet-indexed.
    const answer = await query.client.search({ text: docText, tenant, topK: 3, after: position }, { timeoutMs: 4_000 }).then(
      (result) => result.hits.map((x) => x.docId),
      (error: unknown) => (error as { code?: string }).code ?? String(error),
    );
    // On a loaded machine the not-yet-indexed reply, sent 100 ms before the deadline, can arrive
    // after the client gave up: a timeout is no answer either, and never hits without the document.
    assert.ok(
      answer === 'not-yet-indexed' || answer === 'search-timeout' || (Array.isArray(answer) && answer[0] === 'b-doc'),
      `a search with after must find the document or answer not-yet-indexed; it answered ${JSON.stringify(answer)}`,
    );

    // The media group back: it rewinds too, and the search finds the document.
    await startGroup('media');
    await rewindsOver('media', target, tenant);
    const found = await waitFor(
      'a search with after to find the media document',
      async () => {
        try {
          const result = await query.client.search({ text: docText, tenant, topK: 3, after: position }, { timeoutMs: 4_000 });
          return result.hits[0]?.docId === 'b-doc' ? result : undefined;
        } catch (error) {
          if (['not-yet-indexed', 'search-timeout'].includes((error as { code?: string }).code ?? '')) return undefined;
          throw error;
        }
      },
      120_000,
      200,
    );
    assert.equal(found.hits[0]?.docId, 'b-doc');
    assert.ok(await inTarget('b-doc'));
  });
});
