import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import type { LocalKafkaCluster } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import {
  assertSearchableExactlyOnce,
  assertTypedFailures,
  expectedChunks,
  faultDocs,
  publishWithRetry,
  report,
  SearchLoad,
  since,
  waitIndexed,
} from '../support/faults.ts';
import { startClusterFaultStack, type ClusterFaultStack } from '../support/cluster-stack.ts';
import { waitFor, type Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';

const { ConfigResourceTypes } = kafkajs;
/** Slack on top of the query group's session timeout for the window in which searches may fail after a leader's kill. */
const FAILURE_WINDOW_SLACK_MS = 2_000;
/**
 * Each case's own limit, well above its usual 1-2 minutes: one that hangs fails by name and the
 * others still run, instead of the whole file being cancelled at the runner's limit.
 */
const STEP_TIMEOUT_MS = 300_000;

// A 3-node KRaft cluster (test/support/cluster-stack.ts), every producer on acks=all. The leader of the busiest ingest
// partition is killed with kill -9 mid-ingest, and later the leader of a request partition
// mid-search: nothing acknowledged is lost, and searches keep being answered.
describe('fault: kill -9 of a partition leader in a 3-broker cluster', () => {
  let f: ClusterFaultStack;
  let cluster: LocalKafkaCluster;
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let partitions: ClusterFaultStack['partitions'];

  before(async () => {
    f = await startClusterFaultStack();
    ({ cluster, h, encoder, stack, partitions } = f);
  });

  after(
    async () => {
      await f?.close();
    },
    { timeout: STEP_TIMEOUT_MS },
  );

  /** Waits until the node is back in the in-sync replicas of every partition: full redundancy again. */
  async function restartAndResync(nodeId: number, topics = [h.topology.topics.ingest, h.topology.topics.searchRequests]): Promise<number> {
    const started = performance.now();
    await cluster.node(nodeId).process.restart();
    await f.waitInSync(nodeId, topics);
    return Math.round(performance.now() - started);
  }

  /** Time until the controllers moved leadership of `partition` away from the killed node. */
  async function newLeader(topic: string, partition: number, killed: number): Promise<{ leader: number; ms: number }> {
    const started = performance.now();
    const leader = await waitFor(
      `a new leader for ${topic}[${partition}]`,
      async () => {
        const p = (await partitions(topic)).find((x) => x.partitionId === partition);
        return p && p.leader !== killed && p.leader >= 0 ? p.leader : undefined;
      },
      120_000,
      100,
    );
    return { leader, ms: Math.round(performance.now() - started) };
  }

  it('creates the topics with replication factor 3 and min.insync.replicas 2', async () => {
    const topics = [h.topology.topics.ingest, h.topology.topics.searchRequests, h.topology.topics.deadLetter];
    for (const topic of topics) {
      for (const p of await partitions(topic)) assert.equal(p.replicas.length, 3, `${topic}[${p.partitionId}] replicas`);
    }
    const described = await h.admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas'] })),
    });
    for (const resource of described.resources) {
      assert.equal(resource.configEntries.find((c) => c.configName === 'min.insync.replicas')?.configValue, '2', resource.resourceName);
    }
  });

  it(
    'acknowledges a publish only once every partition has written its messages, across leader kills',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      // A send that spans several leaders, one of which dies: kafkajs 2.2.4 may resolve it without
      // writing the dead leader's messages (see producers/ingest/unacknowledged.ts). Measured with a
      // plain kafkajs producer in this setting: 8 of 600 records missing in one round of two.
      let resent = 0;
      for (let round = 0; round < 3; round++) {
        const topic = `${h.topology.topics.ingest}.acks-${round}`;
        // Creating is idempotent; a retry covers metadata that has not reached every broker yet.
        await waitFor(
          `${topic} created`,
          async () => {
            await h.admin.createTopics({
              waitForLeaders: true,
              topics: [{ topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
            });
            return true;
          },
          60_000,
          250,
        );
        const producer = new IngestProducer({ kafka: h.kafka, topic });
        let killed: number | undefined;
        try {
          for (let batch = 0; batch < 20; batch++) {
            if (batch === 5) {
              // Metadata of a new topic reaches every broker shortly after creation: wait for it.
              killed = await waitFor(
                `the leader of ${topic}[${round % 3}]`,
                async () => {
                  const leader = (await partitions(topic)).find((p) => p.partitionId === round % 3)?.leader;
                  return leader !== undefined && leader > 0 ? leader : undefined;
                },
                60_000,
                100,
              );
              await cluster.node(killed).process.halt('kill');
            }
            await producer.upsert(
              Array.from({ length: 30 }, (_, i) => ({ id: `r${round}-b${batch}-${i}`, text: 'acknowledged means written' })),
            );
          }
          const offsets = await waitFor(`the offsets of ${topic}`, () => h.admin.fetchTopicOffsets(topic), 60_000, 100);
          assert.equal(
            offsets.reduce((sum, p) => sum + Number(p.high), 0) >= 600,
            true,
            `round ${round}: every acknowledged message is in the topic`,
          );
          resent += producer.resentMessages;
        } finally {
          await producer.close();
          if (killed !== undefined) await restartAndResync(killed, [topic]);
          await waitFor(
            `${topic} deleted`,
            async () => {
              await h.admin.deleteTopics({ topics: [topic] });
              return true;
            },
            60_000,
            250,
          );
        }
      }
      report('Kafka cluster, publishes across leader kills', { rounds: 3, messagesPerRound: 600, resentMessages: resent });
    },
  );

  it('loses nothing when the leader of the busiest ingest partition is killed mid-ingest', { timeout: STEP_TIMEOUT_MS }, async () => {
    const docs = faultDocs('kleader', 300);
    const expected = expectedChunks(encoder, docs);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const load = new SearchLoad(stack.client, { concurrency: 2, timeoutMs: 4_000 });
    await load.answeredMore(5, 'searches answered before the fault');

    let kill: Promise<{ node: number; partition: number; atPublished: number; failoverMs: number }> | undefined;
    const { failedSends } = await publishWithRetry(producer, docs, {
      batchSize: 20,
      onBatch: async (published) => {
        if (published < 100 || kill) return;
        const offsets = await waitFor('the ingest offsets', () => h.admin.fetchTopicOffsets(h.topology.topics.ingest), 60_000, 100);
        const busiest = offsets.reduce((a, b) => (Number(b.high) > Number(a.high) ? b : a));
        const leader = (await partitions(h.topology.topics.ingest)).find((p) => p.partitionId === busiest.partition)?.leader;
        assert.ok(leader !== undefined && leader > 0, 'the busiest partition has a leader');
        await cluster.node(leader).process.halt('kill');
        // Publishing goes on at once: the producer retries until the new leader takes over.
        kill = newLeader(h.topology.topics.ingest, busiest.partition, leader).then(({ ms }) => ({
          node: leader,
          partition: busiest.partition,
          atPublished: published,
          failoverMs: ms,
        }));
      },
    });
    assert.ok(kill, 'a leader was killed mid-ingest');
    const fault = await kill;
    const killedAt = performance.now();
    await waitIndexed(h, docs);
    const indexedMs = Math.round(performance.now() - killedAt);
    await producer.close();
    const resyncMs = await restartAndResync(fault.node);
    const outcomes = await load.close();

    report('Kafka cluster, ingest leader killed', {
      ...fault,
      failedSends,
      resentMessages: producer.resentMessages,
      allIndexedMsAfterFailover: indexedMs,
      killedNodeResyncedMs: resyncMs,
      searches: outcomes,
    });
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assertTypedFailures(outcomes);
    await assertSearchableExactlyOnce(h, stack.client, 'kleader', docs, expected);
  });

  it('keeps answering searches when the leader of a request partition is killed mid-search', { timeout: STEP_TIMEOUT_MS }, async () => {
    const load = new SearchLoad(stack.client, { concurrency: 4, timeoutMs: 4_000 });
    await load.answeredMore(20, 'searches answered before the fault');
    const requests = await partitions(h.topology.topics.searchRequests);
    const victim = requests[0]!;
    const before = load.snapshot();
    await cluster.node(victim.leader).process.halt('kill');
    const killedAt = performance.now();
    const firstAnswer = load.answeredMore(1, 'a search answered after the kill').then(() => Math.round(performance.now() - killedAt));
    const failover = await newLeader(h.topology.topics.searchRequests, victim.partitionId, victim.leader);
    const failedOverAt = performance.now();
    const during = load.snapshot();
    // Searches may fail only in a window after the kill no longer than the query group's session
    // timeout plus 2 s, each in a typed error by its deadline: the search client sends a retry to a
    // partition another broker leads (live-leader-partitioner.ts), and the query consumer's metadata
    // is at most 1 s old, so its fetches follow the moved leadership at once instead of retrying the
    // dead node until kafkajs restarts the consumer (about 16 s; before these changes searches sent
    // up to 26 s after the failover timed out). Every search sent after the window is answered.
    const windowMs = h.config.query.sessionTimeoutMs + FAILURE_WINDOW_SLACK_MS;
    await load.answeredSince(killedAt + windowMs, 40, 'a full round of searches sent after the failure window answered');
    const after = load.snapshot();
    const firstAnswerMs = await firstAnswer;
    const resyncMs = await restartAndResync(victim.leader);
    const outcomes = await load.close();

    report('Kafka cluster, request leader killed', {
      node: victim.leader,
      partition: victim.partitionId,
      firstAnswerMsAfterKill: firstAnswerMs,
      failoverMs: failover.ms,
      searchesDuringFailover: since(before, during),
      searchesEndedAfterFailover: since(during, after),
      searchesSentAfterFailover: load.startedSince(failedOverAt),
      failingUntilMsAfterFailover: load.failingUntilMs(failedOverAt),
      failingUntilMsAfterKill: load.failingUntilMs(killedAt),
      failureWindowMs: windowMs,
      killedNodeResyncedMs: resyncMs,
      searchesTotal: outcomes,
    });
    const recovered = load.startedSince(killedAt + windowMs);
    assert.ok(recovered.answered >= 40, 'searches sent after the failure window are answered');
    assert.equal(recovered.failed, 0, `from ${windowMs} ms after the kill on, every search sent is answered`);
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assertTypedFailures(outcomes);
  });
});
