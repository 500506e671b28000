import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import {
  COORDINATOR_FAILURES_BEFORE_REJOIN,
  groupCall,
  lostMembership,
  RejoinGroupError,
} from '../../../../consumers/runtime/group-membership.ts';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

const protocolError = (type: string): InstanceType<typeof KafkaJSProtocolError> =>
  new KafkaJSProtocolError({
    message: `${type} happened`,
    type,
    code: 25,
    retriable: type === 'REBALANCE_IN_PROGRESS',
  } as unknown as Error);

describe('lostMembership', () => {
  it('unwraps the protocol error kafkajs hides in a KafkaJSNonRetriableError', () => {
    const inner = protocolError('UNKNOWN_MEMBER_ID');
    const wrapped = Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner });
    assert.equal(lostMembership(wrapped), inner);
  });

  it('unwraps a rebalance that outlasted the commit retries', () => {
    const inner = protocolError('REBALANCE_IN_PROGRESS');
    const exhausted = new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 10, retryTime: 1000 });
    assert.equal(lostMembership(exhausted), inner);
  });

  it('recognises an unwrapped ILLEGAL_GENERATION', () => {
    const error = protocolError('ILLEGAL_GENERATION');
    assert.equal(lostMembership(error), error);
  });

  it('leaves other failures alone', () => {
    const other = protocolError('TOPIC_AUTHORIZATION_FAILED');
    assert.equal(lostMembership(Object.assign(new KafkaJSNonRetriableError(other), { cause: other })), null);
    assert.equal(lostMembership(new Error('socket hang up')), null);
    assert.equal(lostMembership(null), null);
    assert.equal(lostMembership('UNKNOWN_MEMBER_ID'), null);
  });
});

describe('groupCall', () => {
  const { KafkaJSConnectionError } = kafkajs;

  it('turns a lost membership into a rejoin at once, keeping its type', async () => {
    const inner = protocolError('REBALANCE_IN_PROGRESS');
    await assert.rejects(
      groupCall('commit', () => Promise.reject(Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner })), { count: 0 }),
      (error: unknown) => error instanceof RejoinGroupError && error.type === 'REBALANCE_IN_PROGRESS' && error.retriable === false,
    );
  });

  it('rejoins after a few failures in a row to reach the coordinator, not at the first', async () => {
    const failures = { count: 0 };
    const down = (): Promise<never> => Promise.reject(new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9092'));
    for (let i = 1; i < COORDINATOR_FAILURES_BEFORE_REJOIN; i++) {
      await assert.rejects(groupCall('heartbeat', down, failures), (error: unknown) => error instanceof KafkaJSConnectionError);
    }
    await assert.rejects(
      groupCall('heartbeat', down, failures),
      (error: unknown) => error instanceof RejoinGroupError && error.type === 'NOT_COORDINATOR_FOR_GROUP',
    );
    assert.equal(failures.count, 0, 'the count starts again after a rejoin');
  });

  it('forgets earlier coordinator failures after a success', async () => {
    const failures = { count: COORDINATOR_FAILURES_BEFORE_REJOIN - 1 };
    assert.equal(await groupCall('commit', () => Promise.resolve('ok'), failures), 'ok');
    assert.equal(failures.count, 0);
  });

  it('passes other failures through untouched', async () => {
    const other = new Error('disk full');
    await assert.rejects(
      groupCall('commit', () => Promise.reject(other), { count: 0 }),
      (error: unknown) => error === other,
    );
  });
});
