import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError, QdrantClientUnexpectedResponseError } from '@qdrant/js-client-rest';
import {
  CancelledError,
  CleanupError,
  ConfigError,
  ContractError,
  hasErrorCode,
  isMediaContentError,
  isRetriable,
  MEDIA_ERROR_CODES,
  RejectedError,
  RewindError,
  SearchbusError,
  startAbortedError,
  startTimeoutError,
  TimeoutError,
  UnavailableError,
} from '../../../topology/index.ts';
import { RejoinGroupError } from '../../../consumers/runtime/group-membership.ts';
import {
  endpointRejected,
  endpointUnreachable,
  missingPrerequisite,
  portInUse,
  registryUnreachable,
  serviceStartFailed,
} from '../../../infra/setup-failures.ts';

const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

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
});

describe('the error kinds', () => {
  it('are SearchbusErrors with their own name, the code given and the retriability of their kind', () => {
    const cases: Array<[SearchbusError, new (...args: never[]) => SearchbusError, string, string, boolean]> = [
      [new ConfigError('SEARCHBUS_X', 'must be a number'), ConfigError, 'ConfigError', 'invalid-config', false],
      [new ContractError('missing-id', 'no id'), ContractError, 'ContractError', 'missing-id', false],
      [new UnavailableError('transient-failure', 'Qdrant down'), UnavailableError, 'UnavailableError', 'transient-failure', true],
      [
        new UnavailableError('missing-prerequisite', 'no java', { retriable: false }),
        UnavailableError,
        'UnavailableError',
        'missing-prerequisite',
        false,
      ],
      [new TimeoutError('search-timeout', 'no reply', { timeoutMs: 100 }), TimeoutError, 'TimeoutError', 'search-timeout', true],
      [new RejectedError('rebuild-refused', 'incomplete history'), RejectedError, 'RejectedError', 'rebuild-refused', false],
      [
        new RejectedError('unavailable', 'unavailable: Qdrant down', { retriable: true }),
        RejectedError,
        'RejectedError',
        'unavailable',
        true,
      ],
      [new CancelledError('rebuild-cancelled', 'cancelled'), CancelledError, 'CancelledError', 'rebuild-cancelled', false],
      [new RewindError('42', 'read again'), RewindError, 'RewindError', 'rewind', false],
      [new CleanupError('x', [{ step: 'a', error: new Error('e') }], 1), CleanupError, 'CleanupError', 'cleanup-failed', false],
    ];
    for (const [error, kind, name, code, retriable] of cases) {
      assert.ok(error instanceof SearchbusError, name);
      assert.ok(error instanceof kind, name);
      assert.equal(error.name, name);
      assert.equal(error.code, code, name);
      assert.equal(error.retriable, retriable, name);
      assert.equal(isRetriable(error), retriable, `isRetriable(${name} ${code})`);
      assert.match(error.stack ?? '', new RegExp(`^${name}: `), `${name}'s stack names it`);
    }
  });

  it('are distinct: no kind is an instance of another', () => {
    const kinds = [ConfigError, ContractError, UnavailableError, TimeoutError, RejectedError, CancelledError];
    const samples = [
      new ConfigError('S', 'x'),
      new ContractError('c', 'x'),
      new UnavailableError('c', 'x'),
      new TimeoutError('c', 'x', { timeoutMs: 1 }),
      new RejectedError('c', 'x'),
      new CancelledError('c', 'x'),
    ];
    samples.forEach((sample, i) =>
      kinds.forEach((kind, j) => assert.equal(sample instanceof kind, i === j, `${sample.name} instanceof ${kind.name}`)),
    );
  });

  it('keep the cause given', () => {
    const cause = new Error('ECONNREFUSED');
    for (const error of [
      new ConfigError('S', 'x', { cause }),
      new ContractError('c', 'x', { cause }),
      new UnavailableError('c', 'x', { cause }),
      new TimeoutError('c', 'x', { cause, timeoutMs: 1 }),
      new RejectedError('c', 'x', { cause }),
      new CancelledError('c', 'x', { cause }),
    ]) {
      assert.equal(error.cause, cause, error.name);
    }
  });

  it('ConfigError names its setting in the message and field, with a code for the detail', () => {
    const config = new ConfigError('SEARCHBUS_X', 'must be a number');
    assert.equal(config.setting, 'SEARCHBUS_X');
    assert.equal(config.message, 'SEARCHBUS_X: must be a number');
    const rejected = endpointRejected('REDIS_PASSWORD', 'authentication failed');
    assert.ok(rejected instanceof ConfigError);
    assert.deepEqual(
      [rejected.code, rejected.setting, rejected.message, rejected.retriable],
      ['endpoint-rejected', 'REDIS_PASSWORD', 'REDIS_PASSWORD: authentication failed', false],
    );
    const port = portInUse(9092, 'Kafka', 'SEARCHBUS_KAFKA_PORT');
    assert.ok(port instanceof ConfigError);
    assert.equal(port.code, 'port-in-use');
    assert.equal(port.setting, 'SEARCHBUS_KAFKA_PORT');
    assert.match(port.message, /port 9092 for Kafka is already in use/);
  });

  it('the setup failures say what to do, with their codes and retriability', () => {
    const cases: Array<[SearchbusError, string, boolean, RegExp]> = [
      [
        missingPrerequisite('java', 'apt-get install openjdk-17-jre'),
        'missing-prerequisite',
        false,
        /^java is required .* apt-get install openjdk-17-jre$/,
      ],
      [
        registryUnreachable('Maven Central', 'kafka', 'a\nb'),
        'registry-unreachable',
        true,
        /^Could not download kafka from Maven Central\. Check network access to Maven Central\.\na\nb$/,
      ],
      [
        endpointUnreachable('REDIS_URL', 'redis://x', new Error('refused')),
        'endpoint-unreachable',
        true,
        /^REDIS_URL=redis:\/\/x is configured but does not answer: refused\./,
      ],
      [
        serviceStartFailed('redis', 'exited', '/tmp/redis.log'),
        'service-start-failed',
        false,
        /^redis did not start: exited \(log: \/tmp\/redis\.log\)$/,
      ],
    ];
    for (const [error, code, retriable, message] of cases) {
      assert.ok(error instanceof UnavailableError, code);
      assert.equal(error.code, code);
      assert.equal(error.retriable, retriable, code);
      assert.match(error.message, message);
    }
  });

  it('TimeoutError keeps how long it waited; a start timeout says what for', () => {
    const error = startTimeoutError('the encoder consumer (group g)', 'join consumer group g', 60000, 'a member may be stuck');
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.code, 'start-timeout');
    assert.equal(error.message, 'the encoder consumer (group g) did not join consumer group g within 60000 ms: a member may be stuck');
    assert.equal(error.timeoutMs, 60000);
    assert.equal(error.retriable, true);
    assert.equal(startTimeoutError('c', 'connect', 5).message, 'c did not connect within 5 ms');
    const aborted = startAbortedError('the worker', 'connect to Redis');
    assert.ok(aborted instanceof CancelledError);
    assert.deepEqual(
      [aborted.code, aborted.message, aborted.retriable],
      ['start-aborted', 'the worker was stopped while it was starting (waiting to connect to Redis)', false],
    );
  });

  it('ContractError types its code when asked to', () => {
    const error = new ContractError<'invalid-key' | 'missing-key'>('invalid-key', 'bad key');
    const code: 'invalid-key' | 'missing-key' = error.code;
    assert.equal(code, 'invalid-key');
  });

  it('CleanupError lists every failed step, like AggregateError', () => {
    const a = new Error('producer gone');
    const b = new UnavailableError('transient-failure', 'Redis down');
    const error = new CleanupError(
      'the encoder role',
      [
        { step: 'disconnect the producer', error: a },
        { step: 'quit Redis', error: b },
      ],
      3,
    );
    assert.equal(error.code, 'cleanup-failed');
    assert.deepEqual(error.errors, [a, b]);
    assert.equal(error.cause, a);
    assert.equal(
      error.message,
      '2 of 3 cleanup steps failed while closing the encoder role: disconnect the producer: producer gone; quit Redis: Redis down',
    );
    // Not retriable as a whole, though a member is.
    assert.equal(isRetriable(error), false);
  });

  it('RewindError is a SearchbusError that carries the offset to read again from', () => {
    const error = new RewindError('17', 'taken over');
    assert.ok(error instanceof SearchbusError);
    assert.equal(error.offset, '17');
    assert.equal(error.retriable, false);
  });

  it('hasErrorCode matches a SearchbusError by code, and nothing else', () => {
    assert.ok(hasErrorCode(new UnavailableError('client-closed', 'x'), 'client-closed'));
    assert.ok(hasErrorCode(new ContractError('usage', 'x'), 'media-forbidden', 'usage'));
    assert.ok(!hasErrorCode(new ContractError('usage', 'x'), 'media-forbidden'));
    assert.ok(!hasErrorCode(Object.assign(new Error('x'), { code: 'usage' }), 'usage'));
    assert.ok(!hasErrorCode(undefined, 'usage'));
  });

  it('isMediaContentError: a ContractError with a media code, whatever else', () => {
    for (const code of MEDIA_ERROR_CODES) assert.ok(isMediaContentError(new ContractError(code, 'x')), code);
    assert.ok(!isMediaContentError(new ContractError('invalid-json', 'x')));
    assert.ok(!isMediaContentError(new UnavailableError('media-unreachable', 'x')));
    assert.ok(!isMediaContentError(Object.assign(new Error('x'), { code: 'media-undecodable' })));
  });
});

describe('isRetriable', () => {
  it('reads an explicit retriable flag first: SearchbusError and kafkajs errors', () => {
    assert.equal(isRetriable(new UnavailableError('x', 'down')), true);
    assert.equal(
      isRetriable(new ContractError('x', 'bad', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })),
      false,
      'the flag wins over the cause',
    );
    assert.equal(isRetriable(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')), true);
    assert.equal(isRetriable(new KafkaJSProtocolError('This server does not host this topic-partition')), true);
    const wrapped = new KafkaJSNonRetriableError(new KafkaJSConnectionError('Connection error'));
    assert.equal(isRetriable(wrapped), false, 'a non-retriable kafkajs error stays so whatever its cause');
    assert.equal(isRetriable(new RejoinGroupError('REBALANCE_IN_PROGRESS', 'rejoin')), false);
    assert.equal(isRetriable({ retriable: true }), true);
  });

  it('reads Node and undici error codes, never the message', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'ENOTFOUND',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_SOCKET',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ]) {
      assert.equal(isRetriable(Object.assign(new Error('whatever'), { code })), true, code);
    }
    for (const code of ['ENOENT', 'EACCES', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_INVALID_URL']) {
      assert.equal(isRetriable(Object.assign(new Error('network socket hang up fetch failed'), { code })), false, code);
    }
    // The words the old regular expression looked for no longer decide anything.
    for (const message of ['fetch failed', 'socket hang up', 'network error'])
      assert.equal(isRetriable(new Error(message)), false, message);
  });

  it('reads an HTTP status: 5xx, 429 and 408 are retriable, other statuses not', () => {
    for (const status of [500, 502, 503, 504, 429, 408]) assert.equal(isRetriable({ status }), true, String(status));
    for (const status of [400, 401, 403, 404, 409, 422]) assert.equal(isRetriable({ status }), false, String(status));
  });

  it('reads the name of a timeout or abort, and of the Qdrant client timeout and rate limit', () => {
    assert.equal(isRetriable(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), true);
    assert.equal(isRetriable(new DOMException('This operation was aborted', 'AbortError')), true);
    assert.equal(isRetriable(new QdrantClientTimeoutError('This operation was aborted')), true);
    assert.equal(isRetriable(new QdrantClientResourceExhaustedError('Too many requests', '1')), true);
    // Qdrant's other errors carry nothing to go on (its ApiError carries `status`, above).
    assert.equal(isRetriable(new QdrantClientUnexpectedResponseError('Unexpected Response: 502 (Bad Gateway)')), false);
    assert.equal(isRetriable(new TypeError('x')), false);
  });

  it('follows the cause chain, and the members of an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6333'), { code: 'ECONNREFUSED' });
    assert.equal(isRetriable(new Error('outer', { cause: new Error('middle', { cause: refused }) })), true);
    assert.equal(isRetriable(new Error('outer', { cause: new Error('middle') })), false);
    assert.equal(isRetriable(new AggregateError([new Error('x'), refused], 'all failed')), true);
    assert.equal(isRetriable(new AggregateError([new Error('x'), new Error('y')], 'all failed')), false);
    // A cycle ends.
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(isRetriable(a), false);
    assert.equal(isRetriable(null), false);
    assert.equal(isRetriable('ECONNREFUSED'), false);
  });

  it("classifies undici's fetch failures by their cause: refused, reset, timed out; not a bad URL or port", async () => {
    const port = await freePort();
    const refused = await fetchError(`http://127.0.0.1:${port}/`);
    assert.equal(refused.message, 'fetch failed');
    assert.equal(isRetriable(refused), true, 'connection refused');

    const server = http.createServer((request) => request.socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const reset = await fetchError(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      assert.equal((reset.cause as { code?: string }).code, 'UND_ERR_SOCKET');
      assert.equal(isRetriable(reset), true, 'the other side closed');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    assert.equal(isRetriable(await fetchError('http://127.0.0.1:1/')), false, 'a port fetch refuses to use ("bad port")');
    assert.equal(isRetriable(await fetchError('http://[::1/')), false, 'an invalid URL');
    assert.equal(isRetriable(await fetchError(`http://127.0.0.1:${port}/`, AbortSignal.timeout(0))), true, 'a timeout');
    // A name that does not resolve, as undici reports it.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND qdrant'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
    assert.equal(isRetriable(new TypeError('fetch failed', { cause: dns })), true, 'a name not resolved (yet)');
  });
});

async function fetchError(url: string, signal?: AbortSignal): Promise<Error> {
  try {
    await fetch(url, signal ? { signal } : {});
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${url} answered`);
}

/** A port nothing listens on (bound and released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
