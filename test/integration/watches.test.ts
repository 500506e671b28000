import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Partitioners, type Consumer, type KafkaMessage } from 'kafkajs';
import { queryEncoder } from '../../consumers/query/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { WatchMatcher, WatchRegistry } from '../../consumers/watch/index.ts';
import { startGateway } from '../../infra/gateway/index.ts';
import { createRedis } from '../../infra/index.ts';
import { WatchClient } from '../../producers/watch-client/index.ts';
import { ContractError, decodeIndexedEvent, decodePosition, type IndexedEventV1, type MatchEventV1 } from '../../topology/index.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';

const PHOTOS = new URL('../fixtures/media/photos/', import.meta.url);
const TEXT_THRESHOLD = 0.5;

// Watches on real Kafka, Redis, Qdrant and the real models, as `searchbus up` runs them: the text and
// media encoder groups publish the index change feed, the matcher matches it against the watches,
// and a tail follows the matches topic.
describe('watches (standing queries) and the index change feed', () => {
  let h: Harness;
  let stack: MediaStack;
  let redis: Redis;
  let matcher: WatchMatcher;
  let client: WatchClient;
  const matcherMetrics = new MetricsRegistry();
  const matches: MatchEventV1[] = [];
  const feed: Array<{ event: IndexedEventV1; message: KafkaMessage; partition: number }> = [];
  let feedConsumer: Consumer;
  let tail: { close(): Promise<void> };

  before(async () => {
    h = await createHarness();
    stack = await startMediaStack(h, { ocr: false });
    redis = createRedis(h.services.redis, `test-${h.namespace}-watch`);
    const embedQueries = (): Promise<(texts: string[]) => Promise<Float32Array[]>> => {
      const encoder = queryEncoder(stack.text);
      return Promise.resolve((texts) => encoder.embedQueries(texts));
    };
    matcher = new WatchMatcher({
      kafka: h.kafka,
      qdrant: h.qdrant,
      redis,
      topology: h.topology,
      config: h.config,
      embedQueries,
      media: stack.media,
      fromBeginning: true,
      metrics: matcherMetrics,
    });
    await matcher.start();
    const registry = new WatchRegistry({ qdrant: h.qdrant, topology: h.topology, config: h.config, embedQueries, media: stack.media });
    client = new WatchClient({ kafka: h.kafka, topology: h.topology, registry });
    const following = client.tail({}, (m) => matches.push(m));
    tail = following;
    await following.ready;
    feedConsumer = h.kafka.consumer({ groupId: `${h.namespace}.test-feed` });
    await feedConsumer.connect();
    await feedConsumer.subscribe({ topic: h.topology.topics.indexed, fromBeginning: true });
    await feedConsumer.run({
      eachMessage: ({ message, partition }) => {
        feed.push({ event: decodeIndexedEvent(message.value), message, partition });
        return Promise.resolve();
      },
    });
  });

  after(async () => {
    await tail?.close();
    await feedConsumer?.disconnect();
    await matcher?.close();
    await redis?.quit();
    await stack?.close();
    await h?.close();
  });

  /** Polls until `check` holds (the pipeline is asynchronous end to end), failing after `timeoutMs`. */
  const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await delay(25);
    }
  };
  const processed = (): Promise<number> =>
    matcherMetrics.value('searchbus_messages_processed_total', { role: 'watch-matcher', topic: h.topology.topics.indexed });
  /** Publishes documents and waits until the matcher has handled their feed events: what they match is out by then. */
  const ingest = async (docs: Parameters<MediaStack['producer']['upsert']>[0]): Promise<void> => {
    const before = await processed();
    const position = decodePosition(await stack.producer.upsert(docs));
    await until('the feed events of the documents', () =>
      [...position.offsets].every(([p, o]) => feed.some((f) => f.partition === p && BigInt(f.event.offset) >= o)),
    );
    await until('the matcher to handle them', async () => (await processed()) >= before + docs.length);
  };
  const tenantName = (): string => `w-${randomUUID().slice(0, 8)}`;
  const matchesOf = (watchId: string): MatchEventV1[] => matches.filter((m) => m.watchId === watchId);

  it('a lava document matches "volcanic eruptions" exactly once; a baking document does not', async () => {
    const tenant = tenantName();
    const watch = await client.add({ query: { text: 'volcanic eruptions' }, tenant, threshold: TEXT_THRESHOLD });
    await ingest([
      { id: 'lava', tenant, title: 'Lava flows', text: 'Molten lava poured down the slopes of the volcano after the eruption.' },
    ]);
    await until('the lava match', () => matchesOf(watch.id).length > 0);
    await ingest([{ id: 'bread', tenant, title: 'Baking bread', text: 'Knead the dough, let it rise, and bake the loaf in a hot oven.' }]);
    const got = matchesOf(watch.id);
    assert.deepEqual(
      got.map((m) => [m.tenant, m.id]),
      [[tenant, 'lava']],
    );
    assert.ok(got[0]!.score >= TEXT_THRESHOLD, `score ${got[0]!.score}`);
    assert.equal(decodePosition(got[0]!.position).topic, h.topology.topics.ingest);
  });

  it('publishes one feed event per indexed document and one per delete, with its position', async () => {
    const tenant = tenantName();
    await ingest([{ id: 'feed-1', tenant, text: 'A note about tides and harbours.' }]);
    const indexed = feed.filter((f) => f.event.tenant === tenant);
    assert.equal(indexed.length, 1);
    const event = indexed[0]!.event;
    assert.equal(event.op, 'indexed');
    assert.equal(event.modality, 'text');
    assert.ok(event.chunks >= 1);
    assert.equal(indexed[0]!.message.key?.toString(), `${tenant}/feed-1`);
    assert.deepEqual([...decodePosition(event.position).offsets], [[event.partition, BigInt(event.offset)]]);
    const deleted = decodePosition(await stack.producer.delete([{ id: 'feed-1', tenant }]));
    await until('the delete event', () => feed.some((f) => f.event.tenant === tenant && f.event.op === 'deleted'));
    // Both groups apply the tombstone; only the text group announces it. The media group's commit past it proves it is done.
    await until('both groups past the tombstone', async () => {
      const offsets = await h.admin.fetchOffsets({ groupId: h.topology.groups.mediaEncoder, topics: [h.topology.topics.ingest] });
      return [...deleted.offsets].every(([p, o]) => BigInt(offsets[0]?.partitions.find((x) => x.partition === p)?.offset ?? '-1') > o);
    });
    assert.equal(feed.filter((f) => f.event.tenant === tenant && f.event.op === 'deleted').length, 1);
  });

  it("a tenant's watch never matches another tenant's document", async () => {
    const [mine, theirs] = [tenantName(), tenantName()];
    const watch = await client.add({ query: { text: 'volcanic eruptions' }, tenant: mine, threshold: TEXT_THRESHOLD });
    const control = await client.add({ query: { text: 'volcanic eruptions' }, tenant: theirs, threshold: TEXT_THRESHOLD });
    await ingest([{ id: 'lava', tenant: theirs, text: 'Molten lava poured down the slopes of the volcano after the eruption.' }]);
    await until('the other tenant matched', () => matchesOf(control.id).length === 1);
    assert.equal(matchesOf(watch.id).length, 0);
  });

  it('a redelivered feed event gives no second match event', async () => {
    const tenant = tenantName();
    const watch = await client.add({ query: { text: 'volcanic eruptions' }, tenant, threshold: TEXT_THRESHOLD });
    await ingest([{ id: 'lava', tenant, text: 'Molten lava poured down the slopes of the volcano after the eruption.' }]);
    await until('the match', () => matchesOf(watch.id).length === 1);
    const original = feed.find((f) => f.event.tenant === tenant)!;
    const before = await processed();
    const producer = h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      // The encoder's redelivery after a crash between its event and its commit: the same event again.
      await producer.send({
        topic: h.topology.topics.indexed,
        acks: -1,
        messages: [{ key: original.message.key, value: original.message.value, partition: original.partition }],
      });
    } finally {
      await producer.disconnect();
    }
    await until('the matcher to handle the repeat', async () => (await processed()) >= before + 1);
    // A later document of the same tenant that matches proves matches still flow after the repeat.
    await ingest([{ id: 'lava-2', tenant, text: 'The eruption sent lava and ash over the volcano town.' }]);
    await until('the second document matched', () => matchesOf(watch.id).some((m) => m.id === 'lava-2'));
    assert.deepEqual(
      matchesOf(watch.id)
        .map((m) => m.id)
        .sort(),
      ['lava', 'lava-2'],
    );
  });

  it('a removed watch gives no more events; it is gone from the list', async () => {
    const tenant = tenantName();
    const removed = await client.add({ query: { text: 'volcanic eruptions' }, tenant, threshold: TEXT_THRESHOLD });
    const kept = await client.add({ query: { text: 'volcanic eruptions' }, tenant, threshold: TEXT_THRESHOLD });
    assert.deepEqual((await client.list(tenant)).map((w) => w.id).sort(), [removed.id, kept.id].sort());
    await client.remove(removed.id, tenant);
    assert.deepEqual(
      (await client.list(tenant)).map((w) => w.id),
      [kept.id],
    );
    await ingest([{ id: 'lava', tenant, text: 'Molten lava poured down the slopes of the volcano after the eruption.' }]);
    await until('the kept watch matched', () => matchesOf(kept.id).length === 1);
    assert.equal(matchesOf(removed.id).length, 0);
  });

  it('an image watch matches a document with that photo, not one with another photo', async () => {
    const tenant = tenantName();
    const photo = await readFile(new URL('ladybird.jpg', PHOTOS));
    const other = await readFile(new URL('mountain.jpg', PHOTOS));
    const watch = await client.add({ query: { image: { type: 'image/jpeg', data: photo.toString('base64') } }, tenant, threshold: 0.9 });
    await ingest([
      { id: 'bug', tenant, title: 'In the garden', media: { type: 'image/jpeg', data: photo.toString('base64') } },
      { id: 'peak', tenant, title: 'On the hill', media: { type: 'image/jpeg', data: other.toString('base64') } },
    ]);
    await until('the photo matched', () => matchesOf(watch.id).length > 0);
    assert.deepEqual(
      matchesOf(watch.id).map((m) => m.id),
      ['bug'],
    );
    assert.ok(matchesOf(watch.id)[0]!.score > 0.99, 'the same photo: the same vector');
  });

  it("a watch held only by another model's collection (before a swap) is embedded again with the live model and matches", async () => {
    const tenant = tenantName();
    const old = h.topology.qdrant.watchCollection('old-model');
    await h.qdrant.createCollection(old, { vectors: { text: { size: 3, distance: 'Cosine' } } });
    const id = randomUUID();
    await h.qdrant.upsert(old, {
      wait: true,
      points: [
        {
          id,
          vector: { text: [1, 0, 0] },
          payload: {
            watch_id: id,
            tenant,
            query: { text: 'volcanic eruptions' },
            filter: null,
            threshold: TEXT_THRESHOLD,
            created_at: new Date().toISOString(),
          },
        },
      ],
    });
    assert.deepEqual(
      (await client.list(tenant)).map((w) => w.id),
      [id],
    );
    await ingest([{ id: 'lava', tenant, text: 'Molten lava poured down the slopes of the volcano after the eruption.' }]);
    await until('the re-embedded watch matched', () => matchesOf(id).length === 1);
    await client.remove(id, tenant);
    assert.deepEqual(await client.list(tenant), [], "removed from every model's collection, so not copied back");
  });

  it('the gateway: POST, GET and DELETE /watches, matches over Server-Sent Events, typed 400s', async () => {
    const gateway = await startGateway({
      searcher: { search: () => Promise.reject(new Error('no searches here')), isReady: () => true },
      port: 0,
      watches: client,
    });
    const base = `http://127.0.0.1:${gateway.port}`;
    const abort = new AbortController();
    try {
      const tenant = tenantName();
      const post = async (body: unknown): Promise<{ status: number; json: { id?: string; error?: { code: string } } }> => {
        const response = await fetch(`${base}/watches`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, json: (await response.json()) as never };
      };
      for (const [body, code] of [
        [{ query: { text: ' ' }, tenant }, 'empty-query'],
        [{ query: { text: 'lava' }, tenant, threshold: 'high' }, 'invalid-threshold'],
        [{ query: { text: 'lava' }, tenant, filter: [] }, 'invalid-filter'],
        [{ tenant }, 'invalid-watch'],
      ] as const) {
        const refused = await post(body);
        assert.equal(refused.status, 400, JSON.stringify(refused.json));
        assert.equal(refused.json.error?.code, code);
      }
      const unknown = await fetch(`${base}/watches/${randomUUID()}`, { method: 'DELETE' });
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'watch-not-found');

      const created = await post({ query: { text: 'volcanic eruptions' }, tenant, threshold: TEXT_THRESHOLD });
      assert.equal(created.status, 201);
      const id = created.json.id!;
      const listed = (await (await fetch(`${base}/watches?tenant=${tenant}`)).json()) as { watches: Array<{ id: string }> };
      assert.deepEqual(
        listed.watches.map((w) => w.id),
        [id],
      );

      const events = await fetch(`${base}/watches/${id}/events?tenant=${tenant}`, { signal: abort.signal });
      assert.equal(events.status, 200);
      assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = events.body!.getReader();
      let text = '';
      const readUntil = async (pattern: RegExp): Promise<void> => {
        while (!pattern.test(text)) {
          const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
          if (chunk.done) assert.fail(`the stream ended before ${String(pattern)}: ${text}`);
          text += Buffer.from(chunk.value ?? new Uint8Array()).toString('utf8');
        }
      };
      await readUntil(/: following/);
      await ingest([{ id: 'lava', tenant, text: 'Molten lava poured down the slopes of the volcano after the eruption.' }]);
      await readUntil(/event: match\ndata: .*\n\n|event: match\nid: .*\ndata: .*\n\n/);
      const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as MatchEventV1;
      assert.equal(data.watchId, id);
      assert.equal(data.id, 'lava');
      abort.abort();

      const removed = await fetch(`${base}/watches/${id}?tenant=${tenant}`, { method: 'DELETE' });
      assert.equal(removed.status, 200);
      assert.deepEqual(((await (await fetch(`${base}/watches?tenant=${tenant}`)).json()) as { watches: unknown[] }).watches, []);
    } finally {
      abort.abort();
      await gateway.close();
    }
  });

  it('bad watches are refused with typed errors', async () => {
    const refused = async (input: unknown, code: string): Promise<void> => {
      await assert.rejects(client.add(input), (error: unknown) => error instanceof ContractError && error.code === code);
    };
    await refused({ query: { text: '  ' } }, 'empty-query');
    await refused({ query: { text: 'x' }, threshold: 2 }, 'invalid-threshold');
    await refused({ query: { text: 'x' }, filter: { must: 'nope' } }, 'invalid-filter');
    await refused({ query: { text: 'x' }, tenant: 'a/b' }, 'invalid-tenant');
    await refused({ query: { text: 'x' }, colour: 'red' }, 'invalid-watch');
    await refused({ query: { image: { type: 'image/jpeg', data: Buffer.from('not a jpeg').toString('base64') } } }, 'invalid-media');
    await assert.rejects(
      client.remove(randomUUID()),
      (error: unknown) => error instanceof ContractError && error.code === 'watch-not-found',
    );
  });
});
