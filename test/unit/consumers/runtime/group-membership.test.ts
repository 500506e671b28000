import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { lostMembership } from '../../../../consumers/runtime/group-membership.ts';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

const protocolError = (type: string): InstanceType<typeof KafkaJSProtocolError> =>
  new KafkaJSProtocolError({ message: `${type} happened`, type, code: 25, retriable: type === 'REBALANCE_IN_PROGRESS' } as unknown as Error);

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
