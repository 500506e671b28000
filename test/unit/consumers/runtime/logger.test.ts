import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { jsonLogger, serialiseError } from '../../../../consumers/runtime/index.ts';
import { CleanupError, startTimeoutError, UnavailableError } from '../../../../topology/index.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  jsonLogger('test', (line) => lines.push(line)).error('failed', fields);
  assert.equal(lines.length, 1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

describe('jsonLogger error serialisation', () => {
  it('keeps the stack, code, retriable and the whole cause chain', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const middle = new UnavailableError('endpoint-unreachable', 'Kafka unreachable', { cause: root });
    const top = startTimeoutError('the encoder consumer', 'connect to Kafka', 100);
    Object.defineProperty(top, 'cause', { value: middle });
    const line = logged({ error: top, attempt: 3 });
    assert.equal(line.attempt, 3);
    const error = line.error as Record<string, unknown>;
    assert.equal(error.name, 'TimeoutError');
    assert.equal(error.code, 'start-timeout');
    assert.equal(error.retriable, true);
    assert.match(String(error.stack), /^TimeoutError: the encoder consumer did not connect to Kafka within 100 ms\n\s+at /);
    const cause = error.cause as Record<string, unknown>;
    assert.equal(cause.name, 'UnavailableError');
    assert.equal(cause.code, 'endpoint-unreachable');
    assert.match(String(cause.stack), /UnavailableError: Kafka unreachable/);
    const rootOut = cause.cause as Record<string, unknown>;
    assert.equal(rootOut.code, 'ECONNREFUSED');
    assert.equal(rootOut.message, 'connect ECONNREFUSED 127.0.0.1:9092');
    assert.equal(rootOut.retriable, undefined);
  });

  it('keeps the members of AggregateError and CleanupError', () => {
    const aggregate = new AggregateError([new Error('a'), 'not an error'], 'two failed');
    const out = serialiseError(aggregate);
    assert.deepEqual(
      (out.errors as Array<Record<string, unknown> | string>).map((e) => (typeof e === 'string' ? e : e.message)),
      ['a', 'not an error'],
    );
    const cleanup = new CleanupError('the role', [{ step: 'quit Redis', error: new Error('Redis gone') }], 2);
    const line = logged({ error: cleanup });
    const error = line.error as { code: string; errors: Array<{ message: string; stack: string }> };
    assert.equal(error.code, 'cleanup-failed');
    assert.equal(error.errors[0]?.message, 'Redis gone');
    assert.match(error.errors[0]?.stack ?? '', /Error: Redis gone/);
  });

  it('serialises kafkajs errors, whose causes are kafkajs errors too', () => {
    const cause = new KafkaJSConnectionError('Connection timeout', { broker: 'b:9092' });
    const error = new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 100 });
    const out = serialiseError(error);
    assert.equal(out.name, 'KafkaJSNumberOfRetriesExceeded');
    assert.equal(out.retriable, false);
    assert.equal((out.cause as { name: string }).name, 'KafkaJSConnectionError');
    assert.equal((out.cause as { retriable: boolean }).retriable, true);
  });

  it('stops at a cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    const out = serialiseError(a);
    assert.equal((out.cause as { cause: unknown }).cause, '[circular]');
  });
});
