import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { BatchConsumer, MetricsRegistry, silentLogger } from '../../../../consumers/runtime/index.ts';
import { CleanupError, ContractError, type LifecycleState } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// The consumer runtime's lifecycle against a stand-in Kafka client: the states it reports and a
// close() that is idempotent and runs every step. Its behaviour on a real broker is in
// test/integration/lifecycle.test.ts.

const EVENTS = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' } as const;

interface FakeKafka {
  kafka: Kafka;
  /** Calls of each teardown step, by name. */
  calls: Record<'consumerStop' | 'consumerDisconnect' | 'producerDisconnect', number>;
  /** Makes the consumer's disconnect fail with this error. */
  failDisconnect?: Error;
  crash(restart: boolean): void;
}

function fakeKafka(): FakeKafka {
  const emitter = new EventEmitter();
  const on = (event: string, listener: (e: unknown) => void): (() => void) => {
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  };
  const fake: FakeKafka = {
    calls: { consumerStop: 0, consumerDisconnect: 0, producerDisconnect: 0 },
    crash: (restart) => void emitter.emit(EVENTS.CRASH, { payload: { error: new Error('coordinator gone'), restart } }),
    kafka: undefined as unknown as Kafka,
  };
  const consumer = {
    events: EVENTS,
    on,
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: () => {
      setImmediate(() => emitter.emit(EVENTS.GROUP_JOIN, { payload: {} }));
      return Promise.resolve();
    },
    stop: () => {
      fake.calls.consumerStop += 1;
      return Promise.resolve();
    },
    disconnect: () => {
      fake.calls.consumerDisconnect += 1;
      return fake.failDisconnect ? Promise.reject(fake.failDisconnect) : Promise.resolve();
    },
  };
  const producer = {
    connect: () => Promise.resolve(),
    disconnect: () => {
      fake.calls.producerDisconnect += 1;
      return Promise.resolve();
    },
  };
  fake.kafka = { consumer: () => consumer, producer: () => producer } as unknown as Kafka;
  return fake;
}

function consumerOf(fake: FakeKafka): BatchConsumer<null> {
  return new BatchConsumer({
    kafka: fake.kafka,
    groupId: 'g',
    topic: 't',
    fromBeginning: true,
    decode: () => null,
    handle: () => Promise.resolve(),
    deadLetterTopic: 'dlq',
    maxBatchSize: 10,
    maxWaitMs: 100,
    maxRetryDelayMs: 100,
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    role: 'unit',
    startTimeoutMs: 5_000,
  });
}

describe('BatchConsumer lifecycle', () => {
  it('goes idle, starting, running, closing, closed; close() is idempotent and final', async () => {
    const fake = fakeKafka();
    const consumer = consumerOf(fake);
    const seen: LifecycleState[] = [consumer.state];
    const starting = consumer.start();
    seen.push(consumer.state);
    await starting;
    seen.push(consumer.state);
    const first = consumer.close();
    seen.push(consumer.state);
    assert.equal(consumer.close(), first, "a second close() gets the first one's promise");
    await first;
    seen.push(consumer.state);
    assert.deepEqual(seen, ['idle', 'starting', 'running', 'closing', 'closed']);
    await consumer.close();
    assert.deepEqual(fake.calls, { consumerStop: 1, consumerDisconnect: 1, producerDisconnect: 1 });
    await assert.rejects(consumer.start(), errorOf(ContractError, 'invalid-lifecycle-state'));
  });

  it('closes at once from idle, opening nothing', async () => {
    const fake = fakeKafka();
    const consumer = consumerOf(fake);
    await consumer.close();
    assert.equal(consumer.state, 'closed');
    assert.deepEqual(fake.calls, { consumerStop: 0, consumerDisconnect: 0, producerDisconnect: 0 });
  });

  it('is failed after a crash kafkajs will not restart, until close()', async () => {
    const fake = fakeKafka();
    const consumer = consumerOf(fake);
    await consumer.start();
    fake.crash(true);
    assert.equal(consumer.state, 'running', 'kafkajs restarts it');
    fake.crash(false);
    assert.equal(consumer.state, 'failed');
    await consumer.close();
    assert.equal(consumer.state, 'closed');
  });

  it('runs every step when one throws, and every later close() reports the same failure', async () => {
    const fake = fakeKafka();
    fake.failDisconnect = new Error('broker gone');
    const consumer = consumerOf(fake);
    await consumer.start();
    const first = consumer.close();
    await assert.rejects(first, (e: unknown) => e instanceof CleanupError && e.errors[0] === fake.failDisconnect);
    assert.equal(fake.calls.producerDisconnect, 1, 'the step after the failing one ran');
    assert.equal(consumer.state, 'closed');
    assert.equal(consumer.close(), first);
    await assert.rejects(consumer.close(), CleanupError);
    assert.deepEqual(fake.calls, { consumerStop: 1, consumerDisconnect: 1, producerDisconnect: 1 });
  });
});
