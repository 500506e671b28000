import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { documentText } from '../../consumers/encoder/index.ts';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import type { Redis } from 'ioredis';
import type { Consumer } from 'kafkajs';
import { queryEncoder } from '../../consumers/query/index.ts';
import { WatchMatcher, WatchRegistry } from '../../consumers/watch/index.ts';
import { createRedis } from '../../infra/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { decodeIndexedEvent, type IndexedEventV1, type MatchEventV1 } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { startRoleProcess } from '../support/role-process.ts';

// kill -9 an encoder process mid-stream, start another: nothing lost, nothing duplicated; the index
// change feed announces every document at least once, and the watch matcher matches each once.
describe('encoder crash', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let redis: Redis;
  let matcher: WatchMatcher;
  let registry: WatchRegistry;
  const children: ChildProcess[] = [];
  const consumers: Consumer[] = [];

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    redis = createRedis(h.services.redis, `test-${h.namespace}-crash-matcher`);
    const embedQueries = (): Promise<(texts: string[]) => Promise<Float32Array[]>> => {
      const q = queryEncoder(encoder);
      return Promise.resolve((texts) => q.embedQueries(texts));
    };
    registry = new WatchRegistry({ qdrant: h.qdrant, topology: h.topology, config: h.config, embedQueries });
    matcher = new WatchMatcher({ kafka: h.kafka, qdrant: h.qdrant, redis, topology: h.topology, config: h.config, embedQueries });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const consumer of consumers) await consumer.disconnect();
    await matcher?.close();
    await redis?.quit();
    await encoder?.close();
    await h?.close();
  });

  function startEncoderProcess(): ChildProcess {
    const child = startRoleProcess(h, 'encoder', { SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '16' });
    children.push(child);
    return child;
  }

  /** Every record of a topic from its start, decoded, as it arrives. */
  async function follow<T>(topic: string, decode: (value: Buffer | null) => T): Promise<T[]> {
    const seen: T[] = [];
    const consumer = h.kafka.consumer({ groupId: `${h.namespace}.test-follow-${consumers.length}` });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void seen.push(decode(message.value))) });
    return seen;
  }

  /** Moves a group back to the start of a topic once its dead member left (its session timed out). */
  async function rewindGroup(groupId: string, topic: string): Promise<void> {
    await waitFor(
      `group ${groupId} to have no member`,
      async () => ((await h.admin.describeGroups([groupId])).groups[0]?.members.length === 0 ? true : undefined),
      120_000,
      250,
    );
    await h.admin.resetOffsets({ groupId, topic, earliest: true });
  }

  it('loses no document, duplicates no point, misses no feed event and no match after kill -9 and restart', async () => {
    const docs = await readScifact(400);
    const expected = new Map(docs.map((d) => [d.id, encoder.chunk(documentText(d)).length]));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    // Every document matches the first watch (threshold -1, the lowest cosine), none the second.
    const everything = await registry.add({ query: { text: 'a scientific claim' }, threshold: -1 });
    const nothing = await registry.add({ query: { text: 'a scientific claim' }, threshold: 1 });
    const feed = await follow<IndexedEventV1>(h.topology.topics.indexed, decodeIndexedEvent);
    const matches = await follow<MatchEventV1>(h.topology.topics.matches, (v) => JSON.parse(v?.toString() ?? '') as MatchEventV1);
    await matcher.start();
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(docs);
    await producer.close();

    const first = startEncoderProcess();
    const alias = h.topology.qdrant.alias;
    const partial = await waitFor(
      'the first encoder to write some points',
      async () => {
        const { count } = await h.qdrant.count(alias, { exact: true });
        return count >= 50 ? count : undefined;
      },
      180_000,
      100,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const atKill = (await h.qdrant.count(alias, { exact: true })).count;
    process.stderr.write(`killed the encoder with ${atKill}/${total} points written (first seen ${partial})\n`);
    assert.ok(atKill < total, 'the kill must land mid-stream for this test to mean anything');
    // A kill lands between a batch's Qdrant write (and feed events) and its commit only by chance:
    // make that window certain by moving the group back to the start, as if the crash had come
    // before any commit, so the restart indexes and announces again what was already announced.
    const announcedAtKill = feed.length;
    await rewindGroup(h.topology.groups.encoder, h.topology.topics.ingest);

    startEncoderProcess();
    await waitFor(
      'every chunk indexed after the restart',
      async () => {
        const { count } = await h.qdrant.count(alias, { exact: true });
        return count >= total ? true : undefined;
      },
      600_000,
      250,
    );

    const byDoc = new Map<string, number[]>();
    for (const p of await allPoints(h.qdrant, alias)) {
      const id = String(p.payload.doc_id);
      byDoc.set(id, [...(byDoc.get(id) ?? []), Number(p.payload.chunk)]);
    }
    assert.equal(byDoc.size, docs.length, 'no document lost');
    for (const [id, chunks] of expected) {
      assert.deepEqual(
        (byDoc.get(id) ?? []).sort((a, b) => a - b),
        Array.from({ length: chunks }, (_, i) => i),
        `chunks of ${id}`,
      );
    }

    // At least once on the feed: every indexed document announced, a redelivered batch announced again.
    await waitFor(
      'a feed event for every document',
      () => Promise.resolve(new Set(feed.map((e) => e.id)).size >= docs.length ? true : undefined),
      120_000,
      100,
    );
    const announced = new Map<string, number>();
    for (const e of feed) announced.set(e.id, (announced.get(e.id) ?? 0) + 1);
    assert.deepEqual([...announced.keys()].sort(), [...expected.keys()].sort(), 'one feed event or more per document, none for another');
    const repeated = [...announced.values()].filter((n) => n > 1).length;
    // Exactly once on the matches topic, whatever the feed repeated.
    await waitFor(
      'a match for every document',
      () => Promise.resolve(new Set(matches.map((m) => m.id)).size >= docs.length ? true : undefined),
      120_000,
      100,
    );
    await waitFor(
      'the matcher to handle the whole feed',
      async () => {
        const [group] = await h.admin.fetchOffsets({ groupId: h.topology.groups.watchMatcher, topics: [h.topology.topics.indexed] });
        const ends = await h.admin.fetchTopicOffsets(h.topology.topics.indexed);
        const done = new Map((group?.partitions ?? []).map((p) => [p.partition, p.offset]));
        return ends.every((e) => e.high === '0' || done.get(e.partition) === e.high) ? true : undefined;
      },
      120_000,
      100,
    );
    process.stderr.write(
      `feed: ${feed.length} events for ${docs.length} documents (${announcedAtKill} before the kill, ${repeated} announced again); ${matches.length} match events\n`,
    );
    assert.ok(repeated > 0, 'the restart redelivered documents already announced, so the matcher had repeats to drop');
    assert.equal(matches.filter((m) => m.watchId === nothing.id).length, 0, 'no match below the threshold');
    const ofWatch = matches.filter((m) => m.watchId === everything.id).map((m) => m.id);
    assert.equal(ofWatch.length, docs.length, 'one match event per document, no duplicate after the redelivery');
    assert.deepEqual([...new Set(ofWatch)].sort(), [...expected.keys()].sort());
  });

  it('stops gracefully on SIGTERM: finishes its batch, commits, exits 0', async () => {
    for (const running of children.filter((c) => c.exitCode === null && c.signalCode === null)) {
      running.kill('SIGTERM');
      await once(running, 'exit');
    }
    const docs = (await readScifact(460)).slice(400);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const child = startEncoderProcess();
    await producer.upsert(docs.map((d) => ({ ...d, id: `term-${d.id}` })));
    await producer.close();
    const alias = h.topology.qdrant.alias;
    await waitFor(
      'the encoder to write some points',
      async () => {
        const { count } = await h.qdrant.count(alias, {
          exact: true,
          filter: { must: [{ key: 'doc_id', match: { any: docs.map((d) => `term-${d.id}`) } }] },
        });
        return count > 0 ? true : undefined;
      },
      180_000,
      100,
    );
    const started = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, 'exit code after SIGTERM');
    assert.ok(Date.now() - started < 30_000, 'it stops without waiting for a timeout');
    // Everything it committed is written: the documents before the group's committed offsets all have points.
    const [offsets] = await h.admin.fetchOffsets({ groupId: h.topology.groups.encoder, topics: [h.topology.topics.ingest] });
    const committed = (offsets?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    const { count: written } = await h.qdrant.count(alias, { exact: true, filter: { must: [{ key: 'chunk', match: { value: 0 } }] } });
    assert.ok(written >= committed, `committed ${committed} messages, ${written} documents written`);
  });
});
