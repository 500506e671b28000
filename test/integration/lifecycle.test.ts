import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Partitioners, type Consumer, type KafkaMessage } from 'kafkajs';
import { BatchConsumer, MetricsRegistry, silentLogger } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { createRoleContext, startRole } from '../../infra/cli/roles.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { CancelledError, CleanupError, closeAll, hasErrorCode, loadConfig, TimeoutError } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { brokerPort, connectionsTo, opened } from '../support/tcp-connections.ts';

// Lifecycles on the real broker: a start() that cannot finish fails in time and leaves nothing
// open, close() during start() returns, a role that fails half-way closes what it opened, and
// cleanup runs every step. "Nothing open" is what the kernel says: this process's established
// TCP connections to the broker (/proc), compared with those before the step.
describe('lifecycles on real Kafka and Redis', () => {
  let h: Harness;
  let kafkaPort: number;
  let deadRedisUrl: string;
  const releases: Array<() => Promise<void>> = [];

  before(async () => {
    h = await createHarness();
    kafkaPort = brokerPort(h.services.kafka.brokers);
    // A port nobody listens on: Redis refuses every connection (ioredis keeps retrying).
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    deadRedisUrl = `redis://127.0.0.1:${port}`;
  });

  after(async () => {
    for (const release of releases) await release();
    await h?.close();
  });

  /**
   * A group whose join cannot complete: a member with a 5-minute rebalance timeout sits inside its
   * handler (kafkajs heartbeats only between batches), so the broker holds every new JoinGroup
   * until that member rejoins, which it does only once released.
   */
  async function stuckGroup(name: string): Promise<{ groupId: string; topic: string }> {
    const groupId = `${h.namespace}.${name}`;
    const topic = h.topology.topics.ingest;
    const producer = h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: `${name}-doc`, value: '{}' }] });
    await producer.disconnect();
    const member: Consumer = h.kafka.consumer({ groupId, sessionTimeout: 300_000, rebalanceTimeout: 300_000, heartbeatInterval: 3_000 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    await member.connect();
    await member.subscribe({ topic, fromBeginning: true });
    await member.run({
      eachMessage: async () => {
        entered();
        await released;
      },
    });
    await inHandler;
    releases.push(async () => {
      release();
      await member.disconnect();
    });
    return { groupId, topic };
  }

  function consumerOf(groupId: string, topic: string, startTimeoutMs: number): BatchConsumer<KafkaMessage> {
    return new BatchConsumer<KafkaMessage>({
      kafka: h.kafka,
      groupId,
      topic,
      fromBeginning: true,
      decode: (message) => message,
      handle: () => Promise.resolve(),
      deadLetterTopic: h.topology.topics.deadLetter,
      maxBatchSize: 10,
      maxWaitMs: 100,
      maxRetryDelayMs: 100,
      logger: silentLogger,
      metrics: new MetricsRegistry(),
      role: 'lifecycle-test',
      startTimeoutMs,
    });
  }

  async function noConnectionsLeftSince(before: Set<string>, what: string): Promise<void> {
    await waitFor(
      `${what} to leave no connection to the broker`,
      () => Promise.resolve(opened(before, connectionsTo(kafkaPort)).length === 0 ? true : undefined),
      30_000,
      100,
    );
  }

  it('keeps its group membership through a handler slower than the session timeout, handling the batch once', async () => {
    const groupId = `${h.namespace}.slow-handler`;
    const topic = h.topology.topics.deadLetter;
    const key = `slow-${groupId}`;
    const producer = h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ key, value: '{}' }] });
    await producer.disconnect();
    let calls = 0;
    let handled!: () => void;
    const done = new Promise<void>((resolve) => (handled = resolve));
    // The broker's smallest session timeout; the handler outlasts it by 4 s (a slow embedding batch).
    const sessionTimeoutMs = 6_000;
    const consumer = new BatchConsumer<KafkaMessage>({
      kafka: h.kafka,
      groupId,
      topic,
      fromBeginning: true,
      decode: (message) => message,
      handle: async (batch) => {
        if (!batch.some((m) => m.key?.toString() === key)) return;
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, sessionTimeoutMs + 4_000));
        handled();
      },
      deadLetterTopic: h.topology.topics.deadLetter,
      maxBatchSize: 500,
      maxWaitMs: 100,
      maxRetryDelayMs: 100,
      sessionTimeoutMs,
      logger: silentLogger,
      metrics: new MetricsRegistry(),
      role: 'lifecycle-test',
    });
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      await consumer.start();
      await done;
      // Committed past the slow message by the same member, without a rejoin and a second run.
      const end = await admin.fetchTopicOffsets(topic);
      await waitFor(
        'the slow batch to be committed',
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          return committed?.partitions.every((p) => p.offset === end.find((e) => e.partition === p.partition)?.offset) ? true : undefined;
        },
        60_000,
        200,
      );
      assert.equal(calls, 1, 'the slow batch was handled once');
    } finally {
      await consumer.close();
      await admin.disconnect();
    }
  });

  it('start() against a group join that never completes fails with a TimeoutError `start-timeout` and leaves no connection', async () => {
    const { groupId, topic } = await stuckGroup('stuck-timeout');
    const baseline = connectionsTo(kafkaPort);
    const consumer = consumerOf(groupId, topic, 8_000);
    await assert.rejects(consumer.start(), (error: unknown) => {
      assert.ok(error instanceof TimeoutError && error.code === 'start-timeout', `got ${String(error)}`);
      assert.match(
        error.message,
        new RegExp(
          `^the lifecycle-test consumer \\(group ${groupId.replace(/\./g, '\\.')}\\) did not join consumer group ${groupId.replace(/\./g, '\\.')} within 8000 ms: `,
        ),
      );
      assert.equal(error.retriable, true);
      return true;
    });
    assert.equal(consumer.state, 'closed');
    await noConnectionsLeftSince(baseline, 'the timed-out consumer');
    assert.equal(consumer.openConnections, 0);
    await consumer.close();
  });

  it('close() during start() returns while the broker still holds the join, and start() rejects', async () => {
    const { groupId, topic } = await stuckGroup('stuck-stop');
    const baseline = connectionsTo(kafkaPort);
    // Only close() can end this start().
    const consumer = consumerOf(groupId, topic, 3_600_000);
    const starting = consumer.start().then(
      () => assert.fail('start() should not succeed'),
      (error: unknown) => error,
    );
    await waitFor(
      'the consumer to be waiting in its group join',
      async () => {
        const { groups } = await h.admin.describeGroups([groupId]);
        return groups[0]?.state === 'PreparingRebalance' ? true : undefined;
      },
      120_000,
      100,
    );
    assert.ok(opened(baseline, connectionsTo(kafkaPort)).length > 0, 'the starting consumer has connections of its own');
    assert.equal(consumer.state, 'starting');
    await consumer.close();
    // The stuck member was never released, so the join cannot have completed: close() did not wait for it.
    const { groups } = await h.admin.describeGroups([groupId]);
    assert.notEqual(groups[0]?.state, 'Stable');
    const error = await starting;
    assert.ok(error instanceof CancelledError && error.code === 'start-aborted', `got ${String(error)}`);
    assert.match(error.message, new RegExp(`was stopped while it was starting \\(waiting to join consumer group`));
    assert.equal(consumer.state, 'closed');
    await noConnectionsLeftSince(baseline, 'the closed consumer');
    await consumer.close();
  });

  it('a query role whose second step (Redis) fails closes its Kafka consumer and producer', async () => {
    const config = loadConfig({ ...h.env, SEARCHBUS_START_TIMEOUT_MS: '30000' });
    const context = createRoleContext({ ...h.services, redis: { url: deadRedisUrl } }, config, h.topology, () => undefined);
    const baseline = connectionsTo(kafkaPort);
    try {
      await assert.rejects(startRole('query', context), (error: unknown) => {
        assert.ok(error instanceof TimeoutError && error.code === 'start-timeout', `got ${String(error)}`);
        assert.match(
          error.message,
          /^the query role did not connect to Redis within 30000 ms: check that Redis answers at REDIS_URL \(last error: .*ECONNREFUSED/,
        );
        return true;
      });
      await noConnectionsLeftSince(baseline, 'the failed query role');
      // Its consumer had joined (step one: the group exists, a never-joined one is 'Dead') and left it again.
      const { groups } = await h.admin.describeGroups([h.topology.groups.query]);
      assert.equal(groups[0]?.state, 'Empty');
      assert.equal(groups[0]?.members.length, 0);
    } finally {
      await context.close();
    }
  });

  it('a reindex role that cannot reach Redis fails at its first Redis step (reconciliation) in time and closes its Kafka admin', async () => {
    const config = loadConfig({ ...h.env, SEARCHBUS_START_TIMEOUT_MS: '5000' });
    const context = createRoleContext({ ...h.services, redis: { url: deadRedisUrl } }, config, h.topology, () => undefined);
    const baseline = connectionsTo(kafkaPort);
    try {
      await assert.rejects(startRole('reindex', context), (error: unknown) => {
        assert.ok(error instanceof TimeoutError && error.code === 'start-timeout', `got ${String(error)}`);
        assert.match(
          error.message,
          /^the reindex worker did not reconcile fences, rebuild groups and partial collections within 5000 ms: check that Redis answers at REDIS_URL/,
        );
        return true;
      });
      await noConnectionsLeftSince(baseline, 'the failed reindex role');
    } finally {
      await context.close();
    }
  });

  it('a search client whose Redis accepts but never answers fails in time and closes everything; close() during connect() returns', async () => {
    // A frozen Redis: connections are accepted, nothing is ever answered. It reads (and drops)
    // what it is sent, so that it sees the client's FIN and can tell a closed connection.
    const held = new Set<Socket>();
    const frozen = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => held.delete(socket));
      socket.resume();
    }).listen(0, '127.0.0.1');
    await once(frozen, 'listening');
    const frozenUrl = `redis://127.0.0.1:${(frozen.address() as { port: number }).port}`;
    try {
      const baseline = connectionsTo(kafkaPort);
      const redis = createRedis({ url: frozenUrl }, 'lifecycle-test');
      redis.on('error', () => undefined);
      const client = new SearchClient({ kafka: h.kafka, redis, topology: h.topology, startTimeoutMs: 3_000 });
      await assert.rejects(
        client.connect(),
        (error: unknown) =>
          error instanceof TimeoutError &&
          error.code === 'start-timeout' &&
          /^the search client did not subscribe to its reply channel .* within 3000 ms/.test(error.message),
      );
      assert.equal(client.state, 'closed');
      assert.equal(redis.status, 'end');
      await waitFor('the frozen Redis to see its connection closed', () => Promise.resolve(held.size === 0 ? true : undefined), 30_000, 50);
      await noConnectionsLeftSince(baseline, 'the failed search client');
    } finally {
      for (const socket of held) socket.destroy();
      frozen.close();
    }

    const unreachable = createRedis({ url: deadRedisUrl }, 'lifecycle-test');
    unreachable.on('error', () => undefined);
    const second = new SearchClient({ kafka: h.kafka, redis: unreachable, topology: h.topology, startTimeoutMs: 3_600_000 });
    const connecting = second.connect().then(
      () => assert.fail('connect() should not succeed'),
      (error: unknown) => error,
    );
    await second.close();
    assert.ok(hasErrorCode(await connecting, 'start-aborted'));
    assert.equal(second.state, 'closed');
  });

  it('cleanup with a throwing step still runs the others and reports the failure', async () => {
    const baseline = connectionsTo(kafkaPort);
    const producers = [
      h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }),
      h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }),
    ];
    const disconnected: number[] = [];
    producers.forEach((p, i) => p.on(p.events.DISCONNECT, () => disconnected.push(i)));
    for (const p of producers) await p.connect();
    assert.ok(opened(baseline, connectionsTo(kafkaPort)).length >= 2, 'both producers hold connections');
    const boom = new Error('the first step failed');
    const error = await closeAll('two producers', [
      {
        name: 'a step that throws',
        run: () => {
          throw boom;
        },
      },
      { name: 'disconnect producer 0', run: () => producers[0]?.disconnect() },
      { name: 'disconnect producer 1', run: () => producers[1]?.disconnect() },
    ]).then(
      () => assert.fail('closeAll should throw'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CleanupError);
    assert.deepEqual(error.errors, [boom]);
    assert.deepEqual(disconnected.sort(), [0, 1]);
    await noConnectionsLeftSince(baseline, 'the closed producers');
  });
});
