import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetriable, PoisonMessageError, RetriableError } from '../../../consumers/runtime/index.ts';
import { EncoderClosedError, EncoderConfigError, EncoderError, TokenizerConfigError } from '../../../consumers/embedding/index.ts';
import { EndpointUnreachableError, InfraError, MissingPrerequisiteError, PortInUseError, RegistryUnreachableError, ServiceStartError } from '../../../infra/index.ts';
import { ModelFileMissingError, ModelIntegrityError } from '../../../infra/models/index.ts';
import { UsageError } from '../../../infra/cli/usage-error.ts';
import { SearchClientClosedError, SearchError, SearchRequestError, SearchTimeoutError } from '../../../producers/search-client/index.ts';
import {
  CleanupError,
  ConfigError,
  LifecycleStateError,
  SchemaError,
  SearchbusError,
  SearchSchemaError,
  StartAbortedError,
  StartTimeoutError,
  UnknownModelError,
} from '../../../topology/index.ts';

describe('SearchbusError', () => {
  it('carries code, retriable, cause and its own name', () => {
    const cause = new Error('socket hang up');
    const error = new SearchbusError('it broke', { code: 'it-broke', retriable: true, cause });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'SearchbusError');
    assert.equal(error.code, 'it-broke');
    assert.equal(error.retriable, true);
    assert.equal(error.cause, cause);
    assert.match(error.stack ?? '', /^SearchbusError: it broke\n/);
  });

  it('defaults to a generic code, not retriable, and no cause', () => {
    const error = new SearchbusError('plain');
    assert.equal(error.code, 'searchbus-error');
    assert.equal(error.retriable, false);
    assert.equal('cause' in error, false);
  });

  it('is the base of every searchbus error, which keeps its own code, fields and message', () => {
    const cases: Array<[SearchbusError, string, string, boolean]> = [
      [new SchemaError('missing-id', 'no id'), 'SchemaError', 'missing-id', false],
      [new ConfigError('SEARCHBUS_X', 'must be a number'), 'ConfigError', 'invalid-config', false],
      [new PoisonMessageError('invalid-json', 'bad bytes'), 'PoisonMessageError', 'invalid-json', false],
      [new RetriableError('Qdrant down'), 'RetriableError', 'transient-failure', true],
      [new InfraError('no disk'), 'InfraError', 'infra-failure', false],
      [new MissingPrerequisiteError('java', 'apt-get install openjdk-17-jre'), 'MissingPrerequisiteError', 'missing-prerequisite', false],
      [new PortInUseError(9092, 'Kafka', 'SEARCHBUS_KAFKA_PORT'), 'PortInUseError', 'port-in-use', false],
      [new RegistryUnreachableError('Maven Central', 'kafka', 'timeout'), 'RegistryUnreachableError', 'registry-unreachable', true],
      [new EndpointUnreachableError('REDIS_URL', 'redis://x', new Error('refused')), 'EndpointUnreachableError', 'endpoint-unreachable', true],
      [new ServiceStartError('redis', 'exited'), 'ServiceStartError', 'service-start-failed', false],
      [new ModelIntegrityError('m', 'a.jar', 'aa', 'bb'), 'ModelIntegrityError', 'model-integrity', false],
      [new ModelFileMissingError('m', 'a.jar', 'model.onnx', []), 'ModelFileMissingError', 'model-file-missing', false],
      [new EncoderError('broken'), 'EncoderError', 'encoder-failed', false],
      [new TokenizerConfigError('bad tokenizer'), 'TokenizerConfigError', 'tokenizer-config', false],
      [new EncoderConfigError('bad option'), 'EncoderConfigError', 'encoder-config', false],
      [new EncoderClosedError('closed'), 'EncoderClosedError', 'encoder-closed', false],
      [new SearchError('failed'), 'SearchError', 'search-failed', false],
      [new SearchTimeoutError('r1', 100), 'SearchTimeoutError', 'search-timeout', true],
      [new SearchRequestError('unavailable', 'Qdrant down', 'r1'), 'SearchRequestError', 'unavailable', true],
      [new SearchRequestError('invalid-request', 'bad', 'r1'), 'SearchRequestError', 'invalid-request', false],
      [new SearchClientClosedError('closed'), 'SearchClientClosedError', 'client-closed', false],
      [new SearchSchemaError('invalid-json', 'bad'), 'SearchSchemaError', 'invalid-json', false],
      [new UnknownModelError('x', ['y']), 'UnknownModelError', 'unknown-model', false],
      [new UsageError('no command'), 'UsageError', 'usage', false],
      [new LifecycleStateError('started twice'), 'LifecycleStateError', 'invalid-lifecycle-state', false],
      [new StartTimeoutError('the encoder', 'join consumer group g', 5000), 'StartTimeoutError', 'start-timeout', true],
      [new StartAbortedError('the encoder', 'join consumer group g'), 'StartAbortedError', 'start-aborted', false],
    ];
    for (const [error, name, code, retriable] of cases) {
      assert.ok(error instanceof SearchbusError, name);
      assert.equal(error.name, name);
      assert.equal(error.code, code, name);
      assert.equal(error.retriable, retriable, name);
      assert.equal(isRetriable(error), retriable, `isRetriable(${name})`);
      assert.match(error.stack ?? '', new RegExp(`^${name}: `), `${name}'s stack names it`);
    }
    // Existing fields and messages are kept.
    const config = new ConfigError('SEARCHBUS_X', 'must be a number');
    assert.equal(config.setting, 'SEARCHBUS_X');
    assert.equal(config.message, 'SEARCHBUS_X: must be a number');
    assert.equal(new SearchRequestError('unavailable', 'down', 'r1').message, 'unavailable: down');
    assert.equal(new PortInUseError(9092, 'Kafka', 'S').port, 9092);
    assert.ok(new ModelIntegrityError('m', 'a.jar', 'aa', 'bb') instanceof InfraError);
    assert.ok(new TokenizerConfigError('t') instanceof EncoderError);
    assert.ok(new SearchTimeoutError('r', 1) instanceof SearchError);
  });

  it('keeps the cause given to a subclass', () => {
    const cause = new Error('ECONNREFUSED');
    assert.equal(new PoisonMessageError('invalid-json', 'x', { cause }).cause, cause);
    assert.equal(new RetriableError('x', { cause }).cause, cause);
    assert.equal(new InfraError('x', { cause }).cause, cause);
    assert.equal(new EncoderError('x', { cause }).cause, cause);
    assert.equal(new SearchError('x', { cause }).cause, cause);
  });

  it('says what a start timeout waited for', () => {
    const error = new StartTimeoutError('the encoder consumer (group g)', 'join consumer group g', 60000, 'a member may be stuck');
    assert.equal(error.message, 'the encoder consumer (group g) did not join consumer group g within 60000 ms: a member may be stuck');
    assert.equal(error.component, 'the encoder consumer (group g)');
    assert.equal(error.waitingFor, 'join consumer group g');
    assert.equal(error.timeoutMs, 60000);
  });

  it('CleanupError lists every failed step, like AggregateError', () => {
    const a = new Error('producer gone');
    const b = new RetriableError('Redis down');
    const error = new CleanupError('the encoder role', [
      { step: 'disconnect the producer', error: a },
      { step: 'quit Redis', error: b },
    ], 3);
    assert.equal(error.code, 'cleanup-failed');
    assert.deepEqual(error.errors, [a, b]);
    assert.equal(error.cause, a);
    assert.equal(error.message, '2 of 3 cleanup steps failed while closing the encoder role: disconnect the producer: producer gone; quit Redis: Redis down');
  });
});
