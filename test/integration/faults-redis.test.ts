import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { startRedis, type RedisEndpoint, type ServiceProcess, type StartedService } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { UnavailableError } from '../../topology/index.ts';
import {
  assertSearchableExactlyOnce,
  startFaultStack,
  type FaultStack,
  assertTypedFailures,
  expectedChunks,
  faultDocs,
  publishWithRetry,
  report,
  SearchLoad,
  since,
  waitIndexed,
} from '../support/faults.ts';
import { waitFor, type Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';

// Redis, which carries every search reply, is stopped and started again while searches stream.
// While it is down, searches fail at once with a typed `redis-unavailable` (those in flight too: their
// replies cannot arrive), never by waiting out their timeout; the client subscribes again on the new
// connection and the query consumer keeps publishing replies.
describe('fault: Redis restarted during a stream of searches', () => {
  let redis: StartedService<RedisEndpoint>;
  let server: ServiceProcess;
  let faultStack: FaultStack;
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;

  before(async () => {
    redis = await startRedis({ profile: 'test', env: process.env, log: () => undefined });
    assert.ok(redis.process, 'a local redis-server process');
    server = redis.process;
    faultStack = await startFaultStack({ own: { redis: redis.endpoint }, withEncoder: false });
    ({ h, encoder, stack } = faultStack);
  });

  after(async () => {
    await faultStack?.close();
    await redis?.close();
  });

  it('answers or fails every search by its deadline, re-subscribes and keeps publishing', async () => {
    const docs = faultDocs('redis', 150);
    const expected = expectedChunks(encoder, docs);
    const consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
    });
    await consumer.start();
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await publishWithRetry(producer, docs);
    await producer.close();
    await waitIndexed(h, docs);
    await consumer.close();

    const hitsPublished = (): Promise<number> => stack.metrics.value('searchbus_search_replies_total', { outcome: 'hits' });
    const load = new SearchLoad(stack.client, { concurrency: 4, timeoutMs: 3_000 });
    await load.answeredMore(10, 'searches answered before the fault');

    const before = load.snapshot();
    const stopped = performance.now();
    await server.halt('graceful');
    // The outage lasts until searches have felt it: some have ended without an answer.
    await load.erroredMore(4, 'searches to fail while Redis is down');
    assert.equal(stack.client.isReady(), false, 'the client knows its subscription is gone');
    // No reply can arrive while Redis is down: a search fails at once, typed, not at its timeout.
    const asked = performance.now();
    const refused = await stack.client.search({ text: 'harbor signal' }, { timeoutMs: 3_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const failFastMs = Math.round(performance.now() - asked);
    assert.ok(
      refused instanceof UnavailableError && refused.code === 'redis-unavailable',
      `a typed redis-unavailable error, got ${String(refused)}`,
    );
    assert.ok(failFastMs < 1_000, `the search failed within 1 s (${failFastMs} ms)`);
    await server.restart();
    const downMs = Math.round(performance.now() - stopped);
    const during = load.snapshot();
    const publishedAtRestart = await hitsPublished();

    const restarted = performance.now();
    await waitFor('the search client to subscribe again', () => Promise.resolve(stack.client.isReady() ? true : undefined), 60_000, 20);
    const resubscribedMs = Math.round(performance.now() - restarted);
    await load.answeredMore(1, 'a search answered after Redis came back');
    const firstAnswerMs = Math.round(performance.now() - restarted);
    await load.answeredMore(20, 'searches answered after Redis came back');
    const outcomes = await load.close();

    report('Redis restart', {
      redisDownMs: downMs,
      searchFailedMsWhileDown: failFastMs,
      searchesDuringOutage: since(before, during),
      resubscribedMsAfterRestart: resubscribedMs,
      firstAnswerMsAfterRestart: firstAnswerMs,
      searchesAfterRestart: since(during, outcomes),
      searchesTotal: outcomes,
      clientStats: stack.client.stats,
    });
    assert.ok((await hitsPublished()) > publishedAtRestart, 'the query consumer publishes replies after Redis came back');
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assert.equal(since(before, during).timedOut, 0, 'no search waited out its timeout: each failed at once while Redis was down');
    assertTypedFailures(outcomes);
    await assertSearchableExactlyOnce(h, stack.client, 'redis', docs, expected);
  });
});
