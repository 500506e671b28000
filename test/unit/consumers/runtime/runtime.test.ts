import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { MetricsRegistry, deadLetterRecord, isRetriable, passesFence, retryWithBackoff } from '../../../../consumers/runtime/index.ts';
import { ContractError, HEADERS, UnavailableError } from '../../../../topology/index.ts';

const { KafkaJSConnectionError, KafkaJSNonRetriableError } = kafkajs;

describe('isRetriable', () => {
  it('classifies dependency failures', () => {
    assert.equal(isRetriable(new UnavailableError('transient-failure', 'x')), true);
    assert.equal(isRetriable(new ContractError('invalid-json', 'x')), false);
    assert.equal(isRetriable(new KafkaJSConnectionError('down')), true);
    assert.equal(isRetriable(new KafkaJSNonRetriableError('no')), false);
    assert.equal(isRetriable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isRetriable(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })), true);
    assert.equal(isRetriable(Object.assign(new Error('bad request'), { status: 400 })), false);
    assert.equal(isRetriable(Object.assign(new Error('unavailable'), { status: 503 })), true);
    assert.equal(isRetriable(new Error('plain')), false);
  });
});

describe('retryWithBackoff', () => {
  it('retries retriable failures, then returns', async () => {
    let calls = 0;
    const retries: number[] = [];
    const value = await retryWithBackoff(
      () => (++calls < 3 ? Promise.reject(new UnavailableError('transient-failure', 'later')) : Promise.resolve('ok')),
      { signal: new AbortController().signal, initialDelayMs: 1, maxDelayMs: 2, onRetry: (_e, attempt) => void retries.push(attempt) },
    );
    assert.equal(value, 'ok');
    assert.deepEqual(retries, [1, 2]);
  });

  it('does not retry a permanent failure', async () => {
    let calls = 0;
    await assert.rejects(
      retryWithBackoff(() => (calls++, Promise.reject(new Error('permanent'))), { signal: new AbortController().signal, maxDelayMs: 1 }),
      /permanent/,
    );
    assert.equal(calls, 1);
  });

  it('gives up when the signal aborts', async () => {
    const abort = new AbortController();
    const attempt = retryWithBackoff(() => Promise.reject(new UnavailableError('transient-failure', 'down')), {
      signal: abort.signal,
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      onRetry: () => abort.abort(new Error('stopping')),
    });
    await assert.rejects(attempt, /stopping/);
  });
});

describe('deadLetterRecord', () => {
  it('keeps the original bytes and names the error and source', () => {
    const record = deadLetterRecord(
      {
        message: {
          key: Buffer.from('k'),
          value: Buffer.from('{bad'),
          offset: '42',
          headers: { trace: 'abc' },
          timestamp: '0',
          attributes: 0,
        },
        topic: 'src',
        partition: 3,
        code: 'invalid-json',
        reason: 'nope',
      },
      'group-1',
    );
    assert.equal(record.value?.toString(), '{bad');
    assert.equal(record.key?.toString(), 'k');
    assert.equal(record.headers.trace, 'abc');
    assert.equal(record.headers[HEADERS.errorCode], 'invalid-json');
    assert.equal(record.headers[HEADERS.sourceTopic], 'src');
    assert.equal(record.headers[HEADERS.sourcePartition], '3');
    assert.equal(record.headers[HEADERS.sourceOffset], '42');
    assert.equal(record.headers[HEADERS.consumerGroup], 'group-1');
  });
});

describe('MetricsRegistry', () => {
  it('renders the Prometheus text format', async () => {
    const m = new MetricsRegistry();
    m.counter('c_total', 'a counter', ['role']).inc({ role: 'x' }, 2);
    m.histogram('h_seconds', 'a histogram', [0.1, 1]).observe(0.5);
    const text = await m.render();
    assert.match(text, /# TYPE c_total counter\nc_total\{role="x"\} 2/);
    assert.match(
      text,
      /h_seconds_bucket\{le="0.1"\} 0\nh_seconds_bucket\{le="1"\} 1\nh_seconds_bucket\{le="\+Inf"\} 1\nh_seconds_sum 0.5\nh_seconds_count 1/,
    );
  });
});

describe('passesFence', () => {
  it('lets every message through an unfenced collection, none through a closed one', () => {
    assert.equal(passesFence(null, 0, '5'), true);
    assert.equal(passesFence({ state: 'closed' }, 0, '5'), false);
  });

  it('hands over at the rebuild group offsets, per partition', () => {
    const fence = { state: 'open', offsets: { '0': '10', '1': '3' } } as const;
    assert.equal(passesFence(fence, 0, '9'), false);
    assert.equal(passesFence(fence, 0, '10'), true);
    assert.equal(passesFence(fence, 1, '2'), false);
    assert.equal(passesFence(fence, 1, '3'), true);
    assert.equal(passesFence(fence, 2, '0'), true, 'a partition the rebuild never saw');
  });
});
